//! Who may call what: one table from gRPC method path to the access it requires. A method
//! missing from the table is denied to everyone, so a new RPC is closed until someone
//! decides who may call it.

use super::Role;

/// The access a method requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed: health checks, which orchestrators probe without credentials.
    Public,
    /// Any valid token, whatever its role.
    AnyToken,
    /// A token whose role includes this one (see [`Role::includes`]).
    Role(Role),
}

/// Every method the control plane serves and the access it requires.
pub const POLICY: &[(&str, Access)] = &[
    // Probes.
    ("/grpc.health.v1.Health/Check", Access::Public),
    ("/grpc.health.v1.Health/Watch", Access::Public),
    // Schema discovery for tools like grpcurl and buf curl.
    ("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", Access::AnyToken),
    ("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", Access::AnyToken),
    // Reading experiments.
    ("/vary.v1.ExperimentService/GetExperiment", Access::Role(Role::Viewer)),
    ("/vary.v1.ExperimentService/ListExperiments", Access::Role(Role::Viewer)),
    ("/vary.v1.ExperimentService/ListExperimentVersions", Access::Role(Role::Viewer)),
    ("/vary.v1.ExperimentService/GetExperimentVersion", Access::Role(Role::Viewer)),
    ("/vary.v1.ExperimentService/DiffExperimentVersions", Access::Role(Role::Viewer)),
    ("/vary.v1.AnalysisService/GetResults", Access::Role(Role::Viewer)),
    ("/vary.v1.FleetService/ListAgents", Access::Role(Role::Viewer)),
    // Changing experiments.
    ("/vary.v1.ExperimentService/CreateExperiment", Access::Role(Role::Experimenter)),
    ("/vary.v1.ExperimentService/UpdateExperiment", Access::Role(Role::Experimenter)),
    ("/vary.v1.ExperimentService/RollbackExperiment", Access::Role(Role::Experimenter)),
    ("/vary.v1.ExperimentService/StartExperiment", Access::Role(Role::Experimenter)),
    ("/vary.v1.ExperimentService/PauseExperiment", Access::Role(Role::Experimenter)),
    ("/vary.v1.ExperimentService/ResumeExperiment", Access::Role(Role::Experimenter)),
    ("/vary.v1.ExperimentService/StopExperiment", Access::Role(Role::Experimenter)),
    ("/vary.v1.ExperimentService/SetExperimentAllocation", Access::Role(Role::Experimenter)),
    // Administration.
    ("/vary.v1.ExperimentService/ArchiveExperiment", Access::Role(Role::Admin)),
    ("/vary.v1.AuthService/CreateToken", Access::Role(Role::Admin)),
    ("/vary.v1.AuthService/ListTokens", Access::Role(Role::Admin)),
    ("/vary.v1.AuthService/RevokeToken", Access::Role(Role::Admin)),
    ("/vary.v1.AuthService/WhoAmI", Access::AnyToken),
    ("/vary.v1.AuditService/ListAuditEvents", Access::Role(Role::Admin)),
    // Edge agents.
    ("/vary.v1.ConfigDistributionService/Watch", Access::Role(Role::Agent)),
    ("/vary.v1.EventIngestService/IngestEvents", Access::Role(Role::Agent)),
];

/// The access `path` requires; `None` (deny) for a method not in [`POLICY`].
pub fn required_access(path: &str) -> Option<Access> {
    POLICY.iter().find(|(method, _)| *method == path).map(|&(_, access)| access)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn each_method_appears_once() {
        let mut seen = HashSet::new();
        for (method, _) in POLICY {
            assert!(seen.insert(method), "{method} is in the policy twice");
        }
    }

    #[test]
    fn unknown_methods_are_denied() {
        assert_eq!(required_access("/vary.v1.AssignmentService/Assign"), None);
        assert_eq!(required_access("/vary.v1.ExperimentService/DropAllTables"), None);
        assert_eq!(required_access(""), None);
    }
}
