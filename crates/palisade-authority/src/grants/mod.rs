//! The grants of the token endpoint, one module each, and what they share.

pub mod client_credentials;
pub mod code;
pub mod device;
pub mod password;
pub mod refresh;

use crate::error::{AadError, ErrorCode};
use crate::request::{EndpointVersion, TokenRequest};
use crate::resource::ScopeRequest;

/// The scopes of a user-flow token request: v1's `resource=`, v2's `scope=` (where
/// `resource` is AADSTS901002).
pub fn scopes_of_request(request: &TokenRequest<'_>) -> Result<ScopeRequest, AadError> {
    let form = &request.form;
    match request.version {
        EndpointVersion::V1 => Ok(ScopeRequest::v1(form.require("resource")?)),
        EndpointVersion::V2 => {
            if form.get("resource").is_some() {
                return Err(AadError::new(
                    ErrorCode::ResourceNotSupported,
                    "The 'resource' request parameter is not supported.",
                ));
            }
            ScopeRequest::parse_v2(form.require("scope")?)
        }
    }
}

/// The optional scopes of a redemption or refresh (the stored request's when absent).
pub fn optional_scopes(request: &TokenRequest<'_>) -> Result<Option<ScopeRequest>, AadError> {
    let form = &request.form;
    match request.version {
        EndpointVersion::V1 => Ok(form.get("resource").map(ScopeRequest::v1)),
        EndpointVersion::V2 => {
            if form.get("resource").is_some() {
                return Err(AadError::new(
                    ErrorCode::ResourceNotSupported,
                    "The 'resource' request parameter is not supported.",
                ));
            }
            match form.get("scope") {
                None => Ok(None),
                Some(s) => {
                    let parsed = ScopeRequest::parse_v2(s)?;
                    Ok((!parsed.resources.is_empty()).then_some(parsed))
                }
            }
        }
    }
}
