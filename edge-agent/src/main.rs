//! `vary-edge-agent`: parse the configuration, start tracing, bind, run.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use tokio::net::TcpListener;
use vary_edge_agent::{Config, Error, run, shutdown::shutdown_signal, telemetry};

/// Exit status for an invalid configuration (sysexits EX_USAGE), as clap uses for bad flags.
const EX_CONFIG: u8 = 64;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::try_parse() {
        Ok(config) => config,
        Err(error) => {
            // Help and version go to stdout and succeed; bad flags are a usage error.
            let _ = error.print();
            return if error.use_stderr() { ExitCode::from(EX_CONFIG) } else { ExitCode::SUCCESS };
        }
    };
    telemetry::init(config.log_format);
    if let Err(error) = config.validate() {
        tracing::error!(error = %error, "invalid configuration");
        return ExitCode::from(EX_CONFIG);
    }
    match serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = ?error, "edge agent failed");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("bind {}", config.listen_addr))?;
    let grace = config.shutdown_grace;
    let (drained_tx, drained_rx) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(run(listener, config, async move {
        shutdown_signal().await;
        let _ = drained_tx.send(());
    }));
    tokio::select! {
        result = agent => result.context("agent task panicked")?.map_err(|error: Error| error.into()),
        () = async {
            let _ = drained_rx.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(?grace, "grace period over, exiting with requests in flight");
            Ok(())
        }
    }
}
