//! `agents list`: the fleet from the control plane's FleetService.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::{
    client::Connection,
    error::CliError,
    fleet_view::{FleetView, print_agents},
    output::Term,
};

/// `agents list`: every page, then a table (or JSON/YAML) with the head revision.
pub(super) async fn list(connection: &mut Connection, term: &mut Term<'_>) -> Result<(), CliError> {
    let listing = connection.list_agents_all().await?;
    if term.is_table() {
        print_agents(term, &listing, unix_now());
    } else {
        term.structured(&FleetView::from(&listing));
    }
    Ok(())
}

/// Seconds since the Unix epoch; a clock before 1970 shows every age from 0.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
}
