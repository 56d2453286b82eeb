//! `vary.v1.AnalysisService`.

use tonic::{Request, Response, Status};
use vary_proto::{
    model::check_slug,
    pb::{self, analysis_service_server::AnalysisService},
};

use crate::analysis::results::compute_results;
use crate::error::Error;
use crate::store::Store;

/// Computes experiment results from the stored events.
#[derive(Debug, Clone)]
pub struct AnalysisApi {
    store: Store,
    pool: deadpool_postgres::Pool,
}

impl AnalysisApi {
    /// A service reading versions through `store` and events through `pool`.
    pub fn new(store: Store, pool: deadpool_postgres::Pool) -> Self {
        Self { store, pool }
    }
}

#[tonic::async_trait]
impl AnalysisService for AnalysisApi {
    #[tracing::instrument(skip_all, fields(key = %request.get_ref().experiment_key))]
    async fn get_results(
        &self,
        request: Request<pb::GetResultsRequest>,
    ) -> Result<Response<pb::GetResultsResponse>, Status> {
        let message = request.into_inner();
        check_slug("experiment_key", &message.experiment_key).map_err(Error::from)?;
        let results =
            compute_results(&self.store, &self.pool, &message.experiment_key, message.phase)
                .await?;
        Ok(Response::new(results))
    }
}
