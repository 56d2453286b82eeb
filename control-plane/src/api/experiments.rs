//! `vary.v1.ExperimentService`.

use tonic::{Request, Response, Status};
use vary_proto::{
    model::{self, Action, ExperimentSpec, ValidationError, check_slug, json_to_value},
    pb::{self, experiment_service_server::ExperimentService},
};

use super::actor::Actor;
use super::convert::{diffable, experiment_to_pb, version_to_pb};
use crate::error::Error;
use crate::lifecycle;
use crate::store::{Change, ExperimentFilter, PageQuery, PageToken, Store};
use vary_proto::diff::diff;

/// Serves experiment CRUD, history and lifecycle from the store.
#[derive(Debug, Clone)]
pub struct ExperimentApi {
    store: Store,
}

impl ExperimentApi {
    /// A service over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Commits one change and answers with the experiment at its new version.
    async fn commit<F>(
        &self,
        actor: &Actor,
        key: &str,
        action: Action,
        change_note: &str,
        apply: F,
    ) -> Result<pb::Experiment, Error>
    where
        F: FnOnce(Option<&model::Experiment>) -> Result<model::Experiment, Error>,
    {
        check_slug("key", key)?;
        let change = Change { actor: &actor.0, key, action, change_note, apply };
        let record = self.store.commit(change).await?;
        Ok(experiment_to_pb(&record))
    }

    async fn status_change(
        &self,
        actor: &Actor,
        key: &str,
        action: Action,
        change_note: &str,
    ) -> Result<pb::Experiment, Error> {
        self.commit(actor, key, action, change_note, |current| {
            lifecycle::transition(current, key, action)
        })
        .await
    }
}

/// The spec of a request, validated, with paths under `spec`.
fn parse_spec(spec: Option<pb::ExperimentSpec>) -> Result<ExperimentSpec, Error> {
    let spec = spec.ok_or_else(|| ValidationError::new("spec", "is required"))?;
    Ok(ExperimentSpec::try_from(spec).map_err(|error| error.under("spec"))?)
}

fn parse_version(field: &str, version: i64) -> Result<i64, Error> {
    if version < 1 {
        return Err(ValidationError::new(field, format!("must be >= 1, got {version}")).into());
    }
    Ok(version)
}

#[tonic::async_trait]
impl ExperimentService for ExperimentApi {
    #[tracing::instrument(skip_all, fields(key = %request.get_ref().key))]
    async fn create_experiment(
        &self,
        request: Request<pb::CreateExperimentRequest>,
    ) -> Result<Response<pb::CreateExperimentResponse>, Status> {
        let actor = Actor::of(&request);
        let message = request.into_inner();
        check_slug("key", &message.key).map_err(Error::from)?;
        let spec = parse_spec(message.spec)?;
        let key = message.key.as_str();
        let experiment = self
            .commit(&actor, key, Action::Create, &message.change_note, |current| {
                lifecycle::create(current, key, spec)
            })
            .await?;
        Ok(Response::new(pb::CreateExperimentResponse { experiment: Some(experiment) }))
    }

    async fn get_experiment(
        &self,
        request: Request<pb::GetExperimentRequest>,
    ) -> Result<Response<pb::GetExperimentResponse>, Status> {
        let key = request.into_inner().key;
        check_slug("key", &key).map_err(Error::from)?;
        let record = self.store.get_experiment(&key).await?;
        Ok(Response::new(pb::GetExperimentResponse { experiment: Some(experiment_to_pb(&record)) }))
    }

    async fn list_experiments(
        &self,
        request: Request<pb::ListExperimentsRequest>,
    ) -> Result<Response<pb::ListExperimentsResponse>, Status> {
        let message = request.into_inner();
        let page_size = crate::store::page_size(message.page_size).map_err(Error::from)?;
        let status = match pb::ExperimentStatus::try_from(message.status) {
            Ok(pb::ExperimentStatus::Unspecified) => None,
            Ok(status) => Some(model::Status::try_from(status).map_err(Error::from)?),
            Err(_) => {
                let error = ValidationError::new(
                    "status",
                    format!("is not an ExperimentStatus value: {}", message.status),
                );
                return Err(Error::from(error).into());
            }
        };
        let query = PageQuery::of("experiments", &message, |request| {
            request.page_size = 0;
            request.page_token.clear();
        });
        let filter = ExperimentFilter {
            status,
            layer: (!message.layer.is_empty()).then_some(message.layer),
            owner: (!message.owner.is_empty()).then_some(message.owner),
            include_archived: message.include_archived,
        };
        let after = PageToken::decode_as(&message.page_token, &query, PageToken::into_after_key)
            .map_err(Error::from)?;
        let (records, next) =
            self.store.list_experiments(&filter, after.as_deref(), page_size).await?;
        Ok(Response::new(pb::ListExperimentsResponse {
            experiments: records.iter().map(experiment_to_pb).collect(),
            next_page_token: next.map(|token| token.encode(&query)).unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all, fields(key = %request.get_ref().key))]
    async fn update_experiment(
        &self,
        request: Request<pb::UpdateExperimentRequest>,
    ) -> Result<Response<pb::UpdateExperimentResponse>, Status> {
        let actor = Actor::of(&request);
        let message = request.into_inner();
        let base_version = parse_version("base_version", message.base_version)?;
        let spec = parse_spec(message.spec)?;
        let key = message.key.as_str();
        let experiment = self
            .commit(&actor, key, Action::Update, &message.change_note, |current| {
                lifecycle::update(current, key, base_version, spec)
            })
            .await?;
        Ok(Response::new(pb::UpdateExperimentResponse { experiment: Some(experiment) }))
    }

    async fn list_experiment_versions(
        &self,
        request: Request<pb::ListExperimentVersionsRequest>,
    ) -> Result<Response<pb::ListExperimentVersionsResponse>, Status> {
        let message = request.into_inner();
        check_slug("key", &message.key).map_err(Error::from)?;
        let page_size = crate::store::page_size(message.page_size).map_err(Error::from)?;
        let query = PageQuery::of("experiment_versions", &message, |request| {
            request.page_size = 0;
            request.page_token.clear();
        });
        let after =
            PageToken::decode_as(&message.page_token, &query, PageToken::into_after_version)
                .map_err(Error::from)?
                .unwrap_or(0);
        let (records, next) = self.store.list_versions(&message.key, after, page_size).await?;
        Ok(Response::new(pb::ListExperimentVersionsResponse {
            versions: records.iter().map(version_to_pb).collect(),
            next_page_token: next.map(|token| token.encode(&query)).unwrap_or_default(),
        }))
    }

    async fn get_experiment_version(
        &self,
        request: Request<pb::GetExperimentVersionRequest>,
    ) -> Result<Response<pb::GetExperimentVersionResponse>, Status> {
        let message = request.into_inner();
        check_slug("key", &message.key).map_err(Error::from)?;
        let version = parse_version("version", message.version)?;
        let record = self.store.get_version(&message.key, version).await?;
        Ok(Response::new(pb::GetExperimentVersionResponse {
            version: Some(version_to_pb(&record)),
        }))
    }

    async fn diff_experiment_versions(
        &self,
        request: Request<pb::DiffExperimentVersionsRequest>,
    ) -> Result<Response<pb::DiffExperimentVersionsResponse>, Status> {
        let message = request.into_inner();
        check_slug("key", &message.key).map_err(Error::from)?;
        let from = parse_version("from_version", message.from_version)?;
        let to = parse_version("to_version", message.to_version)?;
        let older = self.store.get_version(&message.key, from).await?;
        let newer = self.store.get_version(&message.key, to).await?;
        let changes = diff("", &diffable(&older.experiment), &diffable(&newer.experiment))
            .into_iter()
            .map(|change| pb::FieldChange {
                path: change.path,
                before: change.before.as_ref().map(json_to_value),
                after: change.after.as_ref().map(json_to_value),
            })
            .collect();
        Ok(Response::new(pb::DiffExperimentVersionsResponse { changes }))
    }

    #[tracing::instrument(skip_all, fields(key = %request.get_ref().key))]
    async fn rollback_experiment(
        &self,
        request: Request<pb::RollbackExperimentRequest>,
    ) -> Result<Response<pb::RollbackExperimentResponse>, Status> {
        let actor = Actor::of(&request);
        let message = request.into_inner();
        check_slug("key", &message.key).map_err(Error::from)?;
        let to_version = parse_version("to_version", message.to_version)?;
        // Versions are immutable, so reading the target outside the write transaction
        // cannot race with anything.
        let target = self.store.get_version(&message.key, to_version).await?;
        let key = message.key.as_str();
        let note = if message.change_note.is_empty() {
            format!("rollback to version {to_version}")
        } else {
            message.change_note
        };
        let experiment = self
            .commit(&actor, key, Action::Rollback, &note, |current| {
                lifecycle::rollback(current, key, target.experiment.spec)
            })
            .await?;
        Ok(Response::new(pb::RollbackExperimentResponse { experiment: Some(experiment) }))
    }

    #[tracing::instrument(skip_all, fields(key = %request.get_ref().key))]
    async fn start_experiment(
        &self,
        request: Request<pb::StartExperimentRequest>,
    ) -> Result<Response<pb::StartExperimentResponse>, Status> {
        let actor = Actor::of(&request);
        let message = request.into_inner();
        let experiment =
            self.status_change(&actor, &message.key, Action::Start, &message.change_note).await?;
        Ok(Response::new(pb::StartExperimentResponse { experiment: Some(experiment) }))
    }

    #[tracing::instrument(skip_all, fields(key = %request.get_ref().key))]
    async fn pause_experiment(
        &self,
        request: Request<pb::PauseExperimentRequest>,
    ) -> Result<Response<pb::PauseExperimentResponse>, Status> {
        let actor = Actor::of(&request);
        let message = request.into_inner();
        let experiment =
            self.status_change(&actor, &message.key, Action::Pause, &message.change_note).await?;
        Ok(Response::new(pb::PauseExperimentResponse { experiment: Some(experiment) }))
    }

    #[tracing::instrument(skip_all, fields(key = %request.get_ref().key))]
    async fn resume_experiment(
        &self,
        request: Request<pb::ResumeExperimentRequest>,
    ) -> Result<Response<pb::ResumeExperimentResponse>, Status> {
        let actor = Actor::of(&request);
        let message = request.into_inner();
        let experiment =
            self.status_change(&actor, &message.key, Action::Resume, &message.change_note).await?;
        Ok(Response::new(pb::ResumeExperimentResponse { experiment: Some(experiment) }))
    }

    #[tracing::instrument(skip_all, fields(key = %request.get_ref().key))]
    async fn stop_experiment(
        &self,
        request: Request<pb::StopExperimentRequest>,
    ) -> Result<Response<pb::StopExperimentResponse>, Status> {
        let actor = Actor::of(&request);
        let message = request.into_inner();
        let key = message.key.as_str();
        let rollout = (!message.rollout_variant_key.is_empty())
            .then_some(message.rollout_variant_key.clone());
        let experiment = self
            .commit(&actor, key, Action::Stop, &message.change_note, |current| {
                lifecycle::stop(current, key, rollout)
            })
            .await?;
        Ok(Response::new(pb::StopExperimentResponse { experiment: Some(experiment) }))
    }

    #[tracing::instrument(skip_all, fields(key = %request.get_ref().key))]
    async fn archive_experiment(
        &self,
        request: Request<pb::ArchiveExperimentRequest>,
    ) -> Result<Response<pb::ArchiveExperimentResponse>, Status> {
        let actor = Actor::of(&request);
        let message = request.into_inner();
        let experiment =
            self.status_change(&actor, &message.key, Action::Archive, &message.change_note).await?;
        Ok(Response::new(pb::ArchiveExperimentResponse { experiment: Some(experiment) }))
    }

    #[tracing::instrument(skip_all, fields(key = %request.get_ref().key))]
    async fn set_experiment_allocation(
        &self,
        request: Request<pb::SetExperimentAllocationRequest>,
    ) -> Result<Response<pb::SetExperimentAllocationResponse>, Status> {
        let actor = Actor::of(&request);
        let message = request.into_inner();
        let key = message.key.as_str();
        let allocation = message.allocation_bps;
        let experiment = self
            .commit(&actor, key, Action::SetAllocation, &message.change_note, |current| {
                lifecycle::set_allocation(current, key, allocation)
            })
            .await?;
        Ok(Response::new(pb::SetExperimentAllocationResponse { experiment: Some(experiment) }))
    }
}
