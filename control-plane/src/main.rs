//! `vary-control-plane`: parse the configuration, start tracing, bind, run.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use tokio::net::TcpListener;
use vary_control_plane::{
    config::{Cli, Command},
    db, run,
    shutdown::shutdown_signal,
    telemetry,
};

/// Exit status for a configuration clap accepted but serving refused (sysexits EX_USAGE);
/// a flag or variable clap itself refuses exits with clap's usage status, 2.
const EX_CONFIG: u8 = 64;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.config.log_format);
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Migrate => db::run_migrations(&cli.config.database_url).await,
        Command::BootstrapToken { principal } => bootstrap_token(&cli.config, &principal).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = ?error, "control plane failed");
            ExitCode::from(if error.is::<std::net::AddrParseError>() { EX_CONFIG } else { 1 })
        }
    }
}

/// Prints the first admin token on stdout (and nothing else there, so scripts can capture
/// it); refuses when one exists, so the command cannot mint admins behind anyone's back.
async fn bootstrap_token(
    config: &vary_control_plane::Config,
    principal: &str,
) -> anyhow::Result<()> {
    db::run_migrations(&config.database_url).await?;
    let pool = db::connect_pool(&config.database_url, 1)?;
    let tokens = vary_control_plane::auth::TokenStore::new(pool);
    match tokens.bootstrap_admin(principal).await? {
        Some(secret) => {
            println!("{secret}");
            Ok(())
        }
        None => anyhow::bail!(
            "a live admin token exists already: ask its holder for one \
             (varyctl tokens create), or revoke it first"
        ),
    }
}

async fn serve(config: vary_control_plane::Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("bind {}", config.listen_addr))?;
    let grace = config.shutdown_grace();
    let (drained_tx, drained_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(run(listener, config, async move {
        shutdown_signal().await;
        let _ = drained_tx.send(());
    }));
    tokio::select! {
        result = server => result.context("server task panicked")?,
        () = async {
            let _ = drained_rx.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(?grace, "grace period over, exiting with requests in flight");
            Ok(())
        }
    }
}
