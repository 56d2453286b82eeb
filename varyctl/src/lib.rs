//! `varyctl`, the operators' CLI for Vary, as a library so tests can drive it in-process
//! as well as through the built binary.
//!
//! Exit codes (see `error`): 0 ok, 1 the server refused (or an apply partly failed),
//! 2 usage error or invalid file, 3 cannot reach the control plane (or, for `assign` and
//! `explain`, the edge agent), 4 `diff --exit-code` found differences.

pub mod assignment_view;
pub mod cli;
pub mod client;
mod commands;
pub mod diff;
pub mod error;
pub mod fleet_view;
pub mod manifest;
pub mod output;
pub mod plan;
pub mod results_table;
pub mod results_view;
pub mod settings;
pub mod view;
pub mod yaml;

use std::path::PathBuf;

pub use cli::Cli;
pub use error::CliError;

use crate::{output::Term, settings::Settings};

/// Runs a parsed command line, writing results to `term.out` and diagnostics to
/// `term.err`; returns the process exit code.
pub async fn run(cli: Cli, term: &mut Term<'_>) -> u8 {
    let xdg_config_home = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from);
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let result = match Settings::resolve(&cli.global, xdg_config_home, home) {
        Ok(settings) => commands::dispatch(cli.command, &settings, term).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => 0,
        Err(CliError::Differences) => CliError::Differences.exit_code(),
        Err(error) => {
            term.note(format!("error: {error}"));
            error.exit_code()
        }
    }
}
