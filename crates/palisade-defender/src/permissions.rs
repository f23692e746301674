//! Which permission each operation needs (spec §3): `roles` for app-only tokens, `scp`
//! for delegated ones (the user's own right is checked in [`crate::access`]).

use crate::auth::{Caller, CallerKind};

/// An API operation, for permission checks and quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `GET /api/incidents`.
    ListIncidents,
    /// `GET /api/incidents/{id}`.
    GetIncident,
    /// `PATCH /api/incidents/{id}`.
    UpdateIncident,
    /// `POST /api/advancedhunting/run`.
    RunHuntingQuery,
}

impl Operation {
    /// Application permissions (`roles`) of which any one suffices.
    pub fn application_roles(self) -> &'static [&'static str] {
        match self {
            Operation::ListIncidents | Operation::GetIncident => {
                &["Incident.Read.All", "Incident.ReadWrite.All"]
            }
            Operation::UpdateIncident => &["Incident.ReadWrite.All"],
            Operation::RunHuntingQuery => &["AdvancedHunting.Read.All"],
        }
    }

    /// Delegated permissions (`scp`) of which any one suffices.
    pub fn delegated_scopes(self) -> &'static [&'static str] {
        match self {
            Operation::ListIncidents | Operation::GetIncident => {
                &["Incident.Read", "Incident.ReadWrite"]
            }
            Operation::UpdateIncident => &["Incident.ReadWrite"],
            Operation::RunHuntingQuery => &["AdvancedHunting.Read"],
        }
    }
}

/// Checks the token's permissions for `op`; on refusal returns the 403 message naming what
/// is missing.
pub fn check_token_permission(caller: &Caller, op: Operation) -> Result<(), String> {
    match caller.kind {
        CallerKind::Application => {
            let needed = op.application_roles();
            if caller.roles.iter().any(|r| needed.contains(&r.as_str())) {
                Ok(())
            } else {
                Err(format!(
                    "The application does not have the required permission. One of these application permissions (roles) is required: {}.",
                    needed.join(", ")
                ))
            }
        }
        CallerKind::Delegated => {
            let needed = op.delegated_scopes();
            if caller.scopes.iter().any(|s| needed.contains(&s.as_str())) {
                Ok(())
            } else {
                Err(format!(
                    "The token does not have the required permission. One of these delegated permissions (scp) is required: {}.",
                    needed.join(", ")
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
    fn app_roles() {
        let read = caller(CallerKind::Application, &["Incident.Read.All"], &[]);
        assert!(check_token_permission(&read, Operation::ListIncidents).is_ok());
        assert!(check_token_permission(&read, Operation::GetIncident).is_ok());
        let err = check_token_permission(&read, Operation::UpdateIncident).unwrap_err();
        assert!(err.contains("Incident.ReadWrite.All"));
        let rw = caller(CallerKind::Application, &["Incident.ReadWrite.All"], &[]);
        assert!(check_token_permission(&rw, Operation::UpdateIncident).is_ok());
        // A delegated scope name in roles does not count.
        let wrong = caller(
            CallerKind::Application,
            &["Incident.Read", "AdvancedHunting.Read.All"],
            &[],
        );
        assert!(check_token_permission(&wrong, Operation::ListIncidents).is_err());
    }

    #[test]
    fn delegated_scopes() {
        let read = caller(
            CallerKind::Delegated,
            &["Incident.ReadWrite.All"],
            &["Incident.Read"],
        );
        assert!(check_token_permission(&read, Operation::GetIncident).is_ok());
        assert!(check_token_permission(&read, Operation::UpdateIncident).is_err());
        let rw = caller(
            CallerKind::Delegated,
            &[],
            &["User.Read", "Incident.ReadWrite"],
        );
        assert!(check_token_permission(&rw, Operation::UpdateIncident).is_ok());
    }
}
