//! `varyctl`: parse the command line, run it on a single-threaded runtime (a CLI makes one
//! call at a time), exit with the documented code.

use std::process::ExitCode;

use clap::Parser as _;
use varyctl::{Cli, error::EXIT_USAGE, output::Term};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let format = cli.global.output;
    let mut term = Term { format, out: &mut stdout, err: &mut stderr };
    ExitCode::from(runtime.block_on(varyctl::run(cli, &mut term)))
}
