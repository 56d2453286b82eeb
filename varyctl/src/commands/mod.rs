//! One module per group of commands; `dispatch` routes the parsed command line.

mod admin;
mod agents;
mod apply;
mod assign;
mod edit;
mod experiments;
mod lifecycle;
mod results;

use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::{
    cli::{AgentsCommand, Command, ExperimentsCommand, VersionArgs},
    client::{AgentConnection, Connection},
    error::CliError,
    output::Term,
    settings::Settings,
};

/// Runs one command to completion.
pub(crate) async fn dispatch(
    command: Command,
    settings: &Settings,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    match command {
        Command::Version(args) => version(args, settings, term).await,
        Command::Audit(args) => admin::audit(args, &mut connect(settings).await?, term).await,
        Command::Tokens(command) => {
            admin::tokens(command, &mut connect(settings).await?, term).await
        }
        Command::Whoami => admin::whoami(&mut connect(settings).await?, term).await,
        Command::Apply(args) => apply::apply(args, &mut connect(settings).await?, term).await,
        Command::Diff(args) => experiments::diff(args, &mut connect(settings).await?, term).await,
        Command::Results(args) => results::results(args, &mut connect(settings).await?, term).await,
        Command::Agents(AgentsCommand::List) => {
            agents::list(&mut connect(settings).await?, term).await
        }
        Command::Assign(args) => {
            assign::assign(args, &mut AgentConnection::open(settings).await?, term).await
        }
        Command::Explain(args) => {
            assign::explain(args, &mut AgentConnection::open(settings).await?, term).await
        }
        Command::Experiments(command) => {
            let mut connection = connect(settings).await?;
            let connection = &mut connection;
            match command {
                ExperimentsCommand::List(args) => experiments::list(args, connection, term).await,
                ExperimentsCommand::Get(args) => experiments::get(args, connection, term).await,
                ExperimentsCommand::History(args) => {
                    experiments::history(args, connection, term).await
                }
                ExperimentsCommand::Diff(args) => experiments::diff(args, connection, term).await,
                ExperimentsCommand::Create(args) => apply::create(args, connection, term).await,
                ExperimentsCommand::Apply(args) => apply::apply(args, connection, term).await,
                ExperimentsCommand::Edit(args) => edit::edit(args, connection, term).await,
                ExperimentsCommand::Rollback(args) => {
                    lifecycle::rollback(args, connection, term).await
                }
                ExperimentsCommand::Start(args) => lifecycle::start(args, connection, term).await,
                ExperimentsCommand::Pause(args) => lifecycle::pause(args, connection, term).await,
                ExperimentsCommand::Resume(args) => lifecycle::resume(args, connection, term).await,
                ExperimentsCommand::Stop(args) => lifecycle::stop(args, connection, term).await,
                ExperimentsCommand::Archive(args) => {
                    lifecycle::archive(args, connection, term).await
                }
                ExperimentsCommand::Ramp(args) => lifecycle::ramp(args, connection, term).await,
            }
        }
    }
}

async fn connect(settings: &Settings) -> Result<Connection, CliError> {
    Connection::open(settings).await
}

/// `varyctl version`: the client's version, then (unless `--client`) the control
/// plane's address and health, so one command answers "am I talking to anything?".
async fn version(
    args: VersionArgs,
    settings: &Settings,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let client = env!("CARGO_PKG_VERSION");
    if args.client {
        if term.is_table() {
            term.line(format!("varyctl {client}"));
        } else {
            term.structured(&serde_json::json!({ "client": client }));
        }
        return Ok(());
    }
    let connection = connect(settings).await?;
    let mut health = HealthClient::new(connection.channel.clone());
    let response = health.check(HealthCheckRequest { service: String::new() }).await;
    let status = response.map_err(|status| connection.refused(status))?.into_inner().status();
    if term.is_table() {
        term.line(format!("varyctl {client}"));
        term.line(format!("control plane {}: {}", settings.addr, status.as_str_name()));
    } else {
        term.structured(&serde_json::json!({
            "client": client,
            "server": { "addr": settings.addr, "health": status.as_str_name() },
        }));
    }
    Ok(())
}
