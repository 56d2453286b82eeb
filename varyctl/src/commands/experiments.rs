//! Read commands: list, get, history, and diff (of files against the server, or of two
//! versions).

use vary_proto::pb;

use crate::{
    cli::{DiffArgs, GetArgs, KeyArg, ListArgs},
    client::{Connection, missing},
    diff::{FieldChange, describe},
    error::CliError,
    output::Term,
    view::{self, ExperimentView, VersionView},
};

/// `experiments list`.
pub(super) async fn list(
    args: ListArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let status = args.status.map_or(pb::ExperimentStatus::Unspecified, pb::ExperimentStatus::from);
    let filter = pb::ListExperimentsRequest {
        status: status as i32,
        layer: args.layer.unwrap_or_default(),
        owner: args.owner.unwrap_or_default(),
        include_archived: args.all,
        ..Default::default()
    };
    let experiments = connection.list_all(filter).await?;
    if term.is_table() {
        view::print_list(term, &experiments);
    } else {
        let views: Vec<ExperimentView> = experiments.iter().map(ExperimentView::from).collect();
        term.structured(&views);
    }
    Ok(())
}

/// `experiments get`.
pub(super) async fn get(
    args: GetArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    if let Some(number) = args.version {
        let request = pb::GetExperimentVersionRequest { key: args.key.clone(), version: number };
        let response = connection.experiments.get_experiment_version(request).await;
        let version = response
            .map_err(|status| connection.refused(status))?
            .into_inner()
            .version
            .ok_or_else(|| missing("GetExperimentVersion", "version"))?;
        if term.is_table() {
            view::print_version(term, &version);
        } else {
            term.structured(&VersionView::from(&version));
        }
        return Ok(());
    }
    let experiment = connection.get(&args.key).await?;
    if term.is_table() {
        view::print_experiment(term, &experiment);
    } else {
        term.structured(&ExperimentView::from(&experiment));
    }
    Ok(())
}

/// `experiments history`.
pub(super) async fn history(
    args: KeyArg,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let versions = connection.versions(&args.key).await?;
    if term.is_table() {
        view::print_versions(term, &versions);
    } else {
        let views: Vec<VersionView> = versions.iter().map(VersionView::from).collect();
        term.structured(&views);
    }
    Ok(())
}

/// `diff`: files against the server (`-f`), or two versions of one experiment.
pub(super) async fn diff(
    args: DiffArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let differs = match (&args.key, args.from) {
        (Some(key), Some(from)) => diff_versions(key, from, args.to, connection, term).await?,
        _ if !args.files.is_empty() => {
            super::apply::diff_files(&args.files, connection, term).await?
        }
        _ => {
            return Err(CliError::Usage(
                "diff needs -f FILE… (files against the server) or KEY FROM [TO] (two versions)"
                    .into(),
            ));
        }
    };
    if differs && args.exit_code { Err(CliError::Differences) } else { Ok(()) }
}

async fn diff_versions(
    key: &str,
    from: i64,
    to: Option<i64>,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<bool, CliError> {
    let to = match to {
        Some(to) => to,
        None => connection.get(key).await?.version,
    };
    let request = pb::DiffExperimentVersionsRequest {
        key: key.to_owned(),
        from_version: from,
        to_version: to,
    };
    let response = connection.experiments.diff_experiment_versions(request).await;
    let changes: Vec<FieldChange> = response
        .map_err(|status| connection.refused(status))?
        .into_inner()
        .changes
        .into_iter()
        .map(|change| FieldChange {
            path: change.path,
            before: change.before.map(value_to_json),
            after: change.after.map(value_to_json),
        })
        .collect();
    if term.is_table() {
        term.line(format!("{key}: version {from} -> {to}, {} change(s)", changes.len()));
        for change in &changes {
            term.line(format!("    {}", describe(change)));
        }
    } else {
        term.structured(&serde_json::json!({
            "key": key, "from_version": from, "to_version": to, "changes": changes,
        }));
    }
    Ok(!changes.is_empty())
}

/// A `google.protobuf.Value` as JSON (non-finite numbers become null).
fn value_to_json(value: prost_types::Value) -> serde_json::Value {
    use prost_types::value::Kind;
    match value.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        Some(Kind::BoolValue(flag)) => flag.into(),
        Some(Kind::NumberValue(number)) => {
            serde_json::Number::from_f64(number).map_or(serde_json::Value::Null, Into::into)
        }
        Some(Kind::StringValue(text)) => text.into(),
        Some(Kind::ListValue(list)) => list.values.into_iter().map(value_to_json).collect(),
        Some(Kind::StructValue(object)) => serde_json::Value::Object(
            object.fields.into_iter().map(|(name, value)| (name, value_to_json(value))).collect(),
        ),
    }
}
