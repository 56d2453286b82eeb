//! `assign` and `explain`: QA lookups against an edge agent's AssignmentService, with the
//! unit and context given as flags.

use vary_proto::pb;

use crate::{
    assignment_view::{AssignView, ExplainView, print_assign, print_explain},
    cli::{AssignArgs, ExplainArgs, UnitArgs},
    client::AgentConnection,
    error::CliError,
    output::Term,
};

/// `assign`. Exposure logging is off unless `--log-exposure`: an operator checking what a
/// user would see is not that user seeing it, and the exposure would be counted in the
/// experiment's analysis.
pub(super) async fn assign(
    args: AssignArgs,
    agent: &mut AgentConnection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let log_exposure = args.log_exposure;
    let request = assign_request(args);
    let response = agent.assignments.assign(request).await;
    let response = response.map_err(|status| agent.refused(status))?.into_inner();
    if term.is_table() {
        print_assign(term, &response, log_exposure);
    } else {
        term.structured(&AssignView::new(&response, log_exposure));
    }
    Ok(())
}

/// `explain`.
pub(super) async fn explain(
    args: ExplainArgs,
    agent: &mut AgentConnection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let lookup = Lookup::from(args.unit);
    let request = pb::ExplainRequest {
        user_id: lookup.user_id,
        session_id: lookup.session_id,
        context: Some(lookup.context),
        experiment_keys: lookup.experiment_keys,
    };
    let response = agent.assignments.explain(request).await;
    let response = response.map_err(|status| agent.refused(status))?.into_inner();
    if term.is_table() {
        print_explain(term, &response);
    } else {
        term.structured(&ExplainView::from(&response));
    }
    Ok(())
}

/// The Assign request for `args`: `log_exposure` is always set explicitly, because the
/// agent's default (unset) is to log.
fn assign_request(args: AssignArgs) -> pb::AssignRequest {
    let lookup = Lookup::from(args.unit);
    pb::AssignRequest {
        user_id: lookup.user_id,
        session_id: lookup.session_id,
        context: Some(lookup.context),
        experiment_keys: lookup.experiment_keys,
        log_exposure: Some(args.log_exposure),
    }
}

/// The fields Assign and Explain share, from the flags.
struct Lookup {
    user_id: String,
    session_id: String,
    context: pb::AssignmentContext,
    experiment_keys: Vec<String>,
}

impl From<UnitArgs> for Lookup {
    fn from(unit: UnitArgs) -> Self {
        let context = pb::AssignmentContext {
            placement: unit.placement.unwrap_or_default(),
            page_type: unit.page_type.unwrap_or_default(),
            country: unit.country.unwrap_or_default(),
            device: unit.device.unwrap_or_default(),
            logged_in: unit.logged_in,
            attributes: unit.attributes.into_iter().collect(),
        };
        Lookup {
            user_id: unit.user.unwrap_or_default(),
            session_id: unit.session.unwrap_or_default(),
            context,
            experiment_keys: unit.experiments,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parsed(args: &[&str]) -> AssignArgs {
        let cli = Cli::try_parse_from(["varyctl", "assign"].iter().chain(args))
            .expect("valid command line");
        let Command::Assign(args) = cli.command else { panic!("assign expected") };
        args
    }

    #[test]
    fn qa_lookups_log_no_exposure_unless_asked() {
        let request = assign_request(parsed(&["--user", "u1"]));
        assert_eq!(request.log_exposure, Some(false), "unset would mean the agent logs");
        let request = assign_request(parsed(&["--user", "u1", "--log-exposure"]));
        assert_eq!(request.log_exposure, Some(true));
    }

    #[test]
    fn flags_fill_the_context() {
        let request = assign_request(parsed(&[
            "--user",
            "u1",
            "--session",
            "s1",
            "--placement",
            "pdp",
            "--page-type",
            "product",
            "--country",
            "DE",
            "--device",
            "ios",
            "--logged-in",
            "true",
            "--attr",
            "tier=gold",
            "--experiment",
            "reco_ymal_model_v3",
        ]));
        assert_eq!((request.user_id.as_str(), request.session_id.as_str()), ("u1", "s1"));
        let context = request.context.expect("context");
        assert_eq!(
            (context.placement.as_str(), context.page_type.as_str(), context.country.as_str()),
            ("pdp", "product", "DE")
        );
        assert_eq!((context.device.as_str(), context.logged_in), ("ios", Some(true)));
        assert_eq!(context.attributes.get("tier").map(String::as_str), Some("gold"));
        assert_eq!(request.experiment_keys, ["reco_ymal_model_v3"]);

        let unknown = assign_request(parsed(&["--user", "u1"])).context.expect("context");
        assert_eq!(unknown.logged_in, None, "no flag: unknown, not false");
    }
}
