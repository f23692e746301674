//! What each Graph security method needs (graph.md §2–§5, §9): the same permission names
//! serve as application roles (`roles`) and delegated scopes (`scp`); delegated calls also
//! need the user's Defender right, exactly as on the Defender API.

use crate::auth::{Caller, CallerKind};
use crate::permissions::Operation;

/// A class of Graph security method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphOperation {
    /// List or get incidents.
    ReadIncidents,
    /// PATCH an incident or add a comment.
    WriteIncidents,
    /// List or get alerts_v2 (incident permissions also read alerts, graph.md §3.3).
    ReadAlerts,
    /// PATCH an alert or add a comment.
    WriteAlerts,
    /// runHuntingQuery / getRunHuntingQuery.
    RunHuntingQuery,
}

impl GraphOperation {
    /// The permissions of which any one suffices (least privileged first).
    pub fn permissions(self) -> &'static [&'static str] {
        match self {
            GraphOperation::ReadIncidents => &[
                "SecurityIncident.Read.All",
                "SecurityIncident.ReadWrite.All",
            ],
            GraphOperation::WriteIncidents => &["SecurityIncident.ReadWrite.All"],
            GraphOperation::ReadAlerts => &[
                "SecurityAlert.Read.All",
                "SecurityAlert.ReadWrite.All",
                "SecurityIncident.Read.All",
                "SecurityIncident.ReadWrite.All",
            ],
            GraphOperation::WriteAlerts => &["SecurityAlert.ReadWrite.All"],
            GraphOperation::RunHuntingQuery => &["ThreatHunting.Read.All"],
        }
    }

    /// The Defender API operation with the same user right and quota bucket.
    pub fn defender(self) -> Operation {
        match self {
            GraphOperation::ReadIncidents | GraphOperation::ReadAlerts => Operation::ListIncidents,
            GraphOperation::WriteIncidents | GraphOperation::WriteAlerts => {
                Operation::UpdateIncident
            }
            GraphOperation::RunHuntingQuery => Operation::RunHuntingQuery,
        }
    }
}

/// Checks the token's permissions; on refusal, Graph's 403 message.
pub fn check(caller: &Caller, op: GraphOperation) -> Result<(), String> {
    let needed = op.permissions();
    match caller.kind {
        CallerKind::Application => {
            if caller.roles.iter().any(|r| needed.contains(&r.as_str())) {
                Ok(())
            } else {
                Err(format!(
                    "Missing application roles. API required roles: {}, application roles: {}.",
                    needed.join(","),
                    caller.roles.join(",")
                ))
            }
        }
        CallerKind::Delegated => {
            if caller.scopes.iter().any(|s| needed.contains(&s.as_str())) {
                Ok(())
            } else {
                Err(format!(
                    "Missing scope permissions on the request. API requires one of '{}'. Scopes on the request '{}'.",
                    needed.join(", "),
                    caller.scopes.join(" ")
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(kind: CallerKind, roles: &[&str], scopes: &[&str]) -> Caller {
        Caller {
            tenant_id: "t".into(),
            app_id: "a".into(),
            kind,
            roles: roles.iter().map(|s| s.to_string()).collect(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            object_id: None,
            user_principal_name: None,
        }
    }

    #[test]
    fn roles_and_scopes() {
        let read = caller(CallerKind::Application, &["SecurityIncident.Read.All"], &[]);
        assert!(check(&read, GraphOperation::ReadIncidents).is_ok());
        assert!(check(&read, GraphOperation::ReadAlerts).is_ok());
        let e = check(&read, GraphOperation::WriteIncidents).unwrap_err();
        assert!(e.starts_with("Missing application roles. API required roles: SecurityIncident.ReadWrite.All, application roles: SecurityIncident.Read.All."), "{e}");
        // A Defender API role is no Graph permission.
        let defender = caller(CallerKind::Application, &["Incident.ReadWrite.All"], &[]);
        assert!(check(&defender, GraphOperation::ReadIncidents).is_err());
        let alerts = caller(CallerKind::Application, &["SecurityAlert.Read.All"], &[]);
        assert!(check(&alerts, GraphOperation::ReadIncidents).is_err());
        let user = caller(
            CallerKind::Delegated,
            &["SecurityAlert.ReadWrite.All"],
            &["SecurityAlert.Read.All"],
        );
        assert!(check(&user, GraphOperation::ReadAlerts).is_ok());
        assert!(check(&user, GraphOperation::WriteAlerts).is_err());
    }
}
