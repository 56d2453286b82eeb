//! `vary-bench`: parse the command line, build a runtime sized to the CPUs this process may
//! use, run the subcommand.

use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser as _;
use vary_bench::{
    baseline,
    cli::{Cli, Command, LoadArgs},
    compare,
    load::{self, Target},
    mix, report, scenarios, traffic,
};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // available_parallelism honours the CPU affinity `taskset` set.
    let threads = cli
        .threads
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .context("build the runtime")?;
    runtime.block_on(run(cli.command))
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Assign(args) => {
            let report = compare::run(&args).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", compare::render(&report));
            }
        }
        Command::Load(args) => {
            let report = load_one(&args).await?;
            if args.json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", report::summary(&report));
            }
        }
        Command::BaselineServer(args) => {
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("bind {}", args.listen))?;
            // The first line of stdout says where: parents wait for it.
            println!("listening on {}", listener.local_addr()?);
            baseline::serve(listener, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        }
        Command::Scenarios(args) => scenarios::run(&args).await?,
        Command::Traffic(args) => {
            let summary = traffic::run(&args).await?;
            println!(
                "{} shoppers: {} Assign calls, {} assignments, {} outcome events",
                summary.shoppers, summary.assigns, summary.assignments, summary.outcomes
            );
        }
    }
    Ok(())
}

async fn load_one(args: &LoadArgs) -> anyhow::Result<report::LoadReport> {
    let requests = match args.target {
        Target::Assign => args.mix.settings().encoded().requests,
        Target::Echo => vec![mix::echo_request(args.request_bytes, args.response_bytes)],
    };
    let settings = args.shape.settings(args.target, &args.addr, args.server_pid);
    load::run(&settings, Arc::new(requests)).await
}
