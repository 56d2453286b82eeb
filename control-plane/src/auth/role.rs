//! The roles a token can have, and what each includes.

use std::fmt;

use vary_proto::pb;

/// What a token may do. Viewer ⊂ experimenter ⊂ admin; agent stands apart (it may only
/// fetch config and send events), and admin may call everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Reads experiments, versions, results and the fleet.
    Viewer,
    /// Viewer, plus every experiment change but archive.
    Experimenter,
    /// Everything, including tokens, archive and the audit log.
    Admin,
    /// `Watch` and `IngestEvents`, besides what any token may call (`WhoAmI`, reflection).
    Agent,
}

impl Role {
    /// Every role, for tables and tests.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Experimenter, Role::Admin, Role::Agent];

    /// The name stored in PostgreSQL and shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Experimenter => "experimenter",
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    /// The role named `name` (as stored), if any.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }

    /// Whether a token with this role has everything `required` grants.
    pub fn includes(self, required: Role) -> bool {
        match (self, required) {
            (Role::Admin, _) => true,
            (Role::Agent, required) => required == Role::Agent,
            (_, Role::Agent) => false,
            (held, required) => held >= required,
        }
    }

    /// The wire enum.
    pub fn to_pb(self) -> pb::Role {
        match self {
            Role::Viewer => pb::Role::Viewer,
            Role::Experimenter => pb::Role::Experimenter,
            Role::Admin => pb::Role::Admin,
            Role::Agent => pb::Role::Agent,
        }
    }

    /// The role a wire value names; `None` for unspecified or unknown values.
    pub fn from_pb(value: i32) -> Option<Role> {
        match pb::Role::try_from(value).ok()? {
            pb::Role::Unspecified => None,
            pb::Role::Viewer => Some(Role::Viewer),
            pb::Role::Experimenter => Some(Role::Experimenter),
            pb::Role::Admin => Some(Role::Admin),
            pb::Role::Agent => Some(Role::Agent),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_nest_except_agent() {
        assert!(Role::Experimenter.includes(Role::Viewer));
        assert!(!Role::Viewer.includes(Role::Experimenter));
        assert!(!Role::Experimenter.includes(Role::Admin));
        assert!(Role::Admin.includes(Role::Agent));
        assert!(!Role::Agent.includes(Role::Viewer));
        assert!(!Role::Experimenter.includes(Role::Agent));
        assert!(Role::Agent.includes(Role::Agent));
    }

    #[test]
    fn names_and_wire_values_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(Role::from_pb(role.to_pb() as i32), Some(role));
        }
        assert_eq!(Role::from_pb(0), None);
        assert_eq!(Role::from_pb(99), None);
    }
}
