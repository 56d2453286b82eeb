//! `results`: an experiment's analysis from the control plane's AnalysisService.

use crate::{
    cli::ResultsArgs, client::Connection, error::CliError, output::Term,
    results_table::print_results, results_view::ResultsView,
};

/// `results KEY [--phase N]`: the tables a PM reads, or the full response as JSON/YAML.
/// A never-started experiment is refused by the server (FAILED_PRECONDITION, exit 1).
pub(super) async fn results(
    args: ResultsArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let response = connection.results(&args.key, args.phase.unwrap_or(0)).await?;
    if term.is_table() {
        print_results(term, &response);
    } else {
        term.structured(&ResultsView::from(&response));
    }
    Ok(())
}
