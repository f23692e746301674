//! Client secrets: generation, hashing and constant-time verification.
//!
//! Secrets are 43 random characters (258 bits) from the OS CSPRNG behind a 3-character
//! prefix and Entra's `8Q~` marker, so they look like Entra secrets. Because they are
//! uniformly random and long, a single SHA-256 is a sound hash for them (no dictionary to
//! attack; a slow password hash would only slow the token endpoint down). User passwords,
//! which are not random, use Argon2id elsewhere.

use rand::rngs::OsRng;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The result of checking a presented client secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretCheck {
    /// It matches a current secret (key id given).
    Valid(String),
    /// It matches a secret that is expired (or not yet valid).
    Expired(String),
    /// It matches nothing.
    Invalid,
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~";
// 64 symbols would give exactly 6 bits each; we use the 66-symbol Entra alphabet and count
// only 6 bits per character, so 43 characters carry at least 258 bits.
const RANDOM_CHARS: usize = 43;

/// A newly generated secret: the text (shown once) and what is stored.
#[derive(Clone)]
pub struct GeneratedSecret {
    /// The secret text. Returned to the caller once, never stored.
    pub text: String,
    /// First three characters, as Entra shows them.
    pub hint: String,
    /// SHA-256 of the text.
    pub hash: Vec<u8>,
}

impl std::fmt::Debug for GeneratedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedSecret")
            .field("hint", &self.hint)
            .finish_non_exhaustive()
    }
}

/// Generates a secret with ≥ 256 bits from the OS CSPRNG.
pub fn generate_secret() -> GeneratedSecret {
    let mut rng = OsRng;
    let mut pick = || ALPHABET[rng.gen_range(0..ALPHABET.len())] as char;
    let prefix: String = (0..3).map(|_| pick()).collect();
    let body: String = (0..RANDOM_CHARS).map(|_| pick()).collect();
    let text = format!("{prefix}8Q~{body}");
    GeneratedSecret {
        hint: prefix,
        hash: hash_secret(&text),
        text,
    }
}

/// The stored hash of a secret.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Compares a presented secret with a stored hash in constant time.
pub fn verify_secret_hash(presented: &str, stored_hash: &[u8]) -> bool {
    let presented = hash_secret(presented);
    presented.ct_eq(stored_hash).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_unique_and_verify_only_themselves() {
        let a = generate_secret();
        let b = generate_secret();
        assert_ne!(a.text, b.text);
        assert_eq!(a.text.len(), 3 + 3 + RANDOM_CHARS);
        assert_eq!(&a.text[..3], a.hint);
        assert!(verify_secret_hash(&a.text, &a.hash));
        assert!(!verify_secret_hash(&b.text, &a.hash));
        assert!(!verify_secret_hash("", &a.hash));
        assert!(!format!("{a:?}").contains(&a.text));
    }
}
