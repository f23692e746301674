//! Password sign-in outcomes as AADSTS errors (ROPC) and as the words the sign-in page
//! shows, so both surfaces say the same thing.

use crate::error::{AadError, ErrorCode};
use palisade_directory::SignInFailure;

/// The AADSTS error for a failed password sign-in (identity.md §7.5).
pub fn sign_in_error(failure: &SignInFailure, upn: &str, tenant_name: &str) -> AadError {
    match failure {
        SignInFailure::UnknownUser => AadError::new(
            ErrorCode::UserNotFound,
            format!(
                "User account '{upn}' does not exist in tenant '{tenant_name}' and cannot access the application. The account needs \
                 to be added as a user in the tenant first."
            ),
        ),
        SignInFailure::InvalidCredentials => AadError::new(
            ErrorCode::InvalidCredentials,
            "Error validating credentials due to invalid username or password.",
        ),
        SignInFailure::LockedOut(_) => AadError::new(
            ErrorCode::AccountLocked,
            "Your account is locked because you've tried to sign in too many times with an incorrect user ID or password.",
        ),
        SignInFailure::Disabled => AadError::new(
            ErrorCode::UserDisabled,
            "The user account is disabled.",
        ),
        SignInFailure::PasswordExpired => AadError::new(
            ErrorCode::PasswordExpired,
            "The password is expired.",
        ),
    }
}

/// What the sign-in page says about a failure (Entra's wording).
pub fn sign_in_message(failure: &SignInFailure) -> &'static str {
    match failure {
        SignInFailure::UnknownUser => {
            "This username may be incorrect. Make sure you typed it correctly. Otherwise, contact your admin."
        }
        SignInFailure::InvalidCredentials => {
            "Your account or password is incorrect. If you don't remember your password, contact your admin to reset it."
        }
        SignInFailure::LockedOut(_) => {
            "Your account is temporarily locked to prevent unauthorized use. Try again later, and if you still have trouble, \
             contact your admin."
        }
        SignInFailure::Disabled => {
            "Your account has been locked. Contact your support person to unlock it, then try again."
        }
        SignInFailure::PasswordExpired => {
            "Your password has expired. Contact your admin to set a new one, then try again."
        }
    }
}

/// The AADSTS number of a failure (shown under the page's message).
pub fn sign_in_code(failure: &SignInFailure) -> u32 {
    sign_in_error(failure, "", "").code.number()
}
