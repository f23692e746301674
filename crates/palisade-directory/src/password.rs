//! User passwords: Argon2id hashes (PHC strings), the complexity rule, and a bounded pool
//! for the hashing work so it never runs on (or stalls) the async executor.
//!
//! Parameters: Argon2id, m = 19 MiB, t = 2, p = 1 — OWASP's Password Storage Cheat Sheet
//! recommendation for Argon2id. Hashes carry their parameters, so raising them later only
//! affects new passwords. At most [`MAX_CONCURRENT_HASHES`] hashes run at once (each holds
//! 19 MiB); further sign-ins wait their turn instead of exhausting memory.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;
use tokio::sync::Semaphore;

/// Argon2id memory cost in KiB (19 MiB).
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
/// Argon2id iterations.
pub const ARGON2_ITERATIONS: u32 = 2;
/// Argon2id lanes.
pub const ARGON2_PARALLELISM: u32 = 1;
/// Hashes computed at once, process-wide.
pub const MAX_CONCURRENT_HASHES: usize = 4;

/// Password errors.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The password breaks the complexity rule.
    #[error("{0}")]
    Weak(String),
    /// Hashing failed (never expected).
    #[error("password hashing failed: {0}")]
    Hash(String),
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(
        ARGON2_MEMORY_KIB,
        ARGON2_ITERATIONS,
        ARGON2_PARALLELISM,
        None,
    )
    .unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| Semaphore::new(MAX_CONCURRENT_HASHES))
}

/// Entra's password rule: 8 to 256 characters, at least three of lower case, upper case,
/// digits and symbols, no leading or trailing whitespace.
pub fn check_complexity(password: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    let weak = || {
        PasswordError::Weak(
            "The specified password does not comply with password complexity requirements: 8 to 256 characters, \
             with at least three of lower-case letters, upper-case letters, digits and symbols."
                .into(),
        )
    };
    if !(8..=256).contains(&n) || password.trim() != password {
        return Err(weak());
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|c| **c).count() < 3 {
        return Err(weak());
    }
    Ok(())
}

/// Hashes a password with Argon2id (on the blocking pool, bounded).
pub async fn hash_password(password: &str) -> Result<String, PasswordError> {
    let password = password.to_owned();
    let _permit = permits()
        .acquire()
        .await
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    tokio::task::spawn_blocking(move || hash_password_blocking(&password))
        .await
        .map_err(|e| PasswordError::Hash(e.to_string()))?
}

/// Hashes a password on the calling thread (benchmarks, tools).
pub fn hash_password_blocking(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Checks a password against a stored PHC hash (on the blocking pool, bounded). A
/// malformed stored hash verifies nothing.
pub async fn verify_password(password: &str, stored: &str) -> bool {
    let (password, stored) = (password.to_owned(), stored.to_owned());
    let Ok(_permit) = permits().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || verify_password_blocking(&password, &stored))
        .await
        .unwrap_or(false)
}

/// Checks a password on the calling thread.
pub fn verify_password_blocking(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A random password that meets the complexity rule (demo users): 20 characters from
/// the OS CSPRNG.
pub fn generate_password() -> String {
    use rand::Rng;
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    const SYMBOLS: &[u8] = b"!#%+-.:=?@_~";
    let mut rng = rand::rngs::OsRng;
    let mut pick = |set: &[u8]| set[rng.gen_range(0..set.len())] as char;
    let mut out: String = (0..16)
        .map(|i| match i % 4 {
            0 => pick(LOWER),
            1 => pick(UPPER),
            2 => pick(DIGITS),
            _ => pick(LOWER),
        })
        .collect();
    out.insert(5, pick(SYMBOLS));
    out.insert(11, pick(SYMBOLS));
    out.push(pick(UPPER));
    out.push(pick(DIGITS));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complexity() {
        assert!(check_complexity("Passw0rd!").is_ok());
        assert!(check_complexity("password1!").is_ok()); // lower, digit, symbol
        assert!(check_complexity("password").is_err());
        assert!(check_complexity("Sh0rt!").is_err());
        assert!(check_complexity(" Passw0rd!").is_err());
        assert!(check_complexity(&"Aa1!".repeat(65)).is_err());
        for _ in 0..20 {
            assert!(check_complexity(&generate_password()).is_ok());
        }
    }

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let h = hash_password("Corr3ct horse").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("Corr3ct horse", &h).await);
        assert!(!verify_password("corr3ct horse", &h).await);
        assert!(!verify_password("Corr3ct horse", "not a hash").await);
        assert_ne!(h, hash_password("Corr3ct horse").await.unwrap(), "salted");
    }
}
