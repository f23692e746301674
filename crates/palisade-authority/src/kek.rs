//! The key-encryption key (KEK): signing private keys are stored sealed, never in clear.
//!
//! Each private key is sealed with AES-256-GCM under the KEK, with a fresh random 96-bit
//! nonce and the key's `kid` as associated data (a sealed key copied onto another row does
//! not open). The KEK lives apart from the database — a file (`--kek-file`, default
//! `<data-dir>/kek`, mode 0600) or the `PALISADE_KEK` environment variable — so a copy of
//! `palisade.db` alone reveals no signing key.
//!
//! Sealed format: `PKEK1` ‖ KEK id (8 bytes) ‖ nonce (12) ‖ ciphertext ‖ tag (16). The KEK id
//! (the first 8 bytes of SHA-256 over a label and the key) names which KEK sealed a row, so a
//! wrong KEK is reported as such, not as corruption.
//!
//! The KEK's text form is `palisade-kek-v1:` followed by 32 bytes in base64url.

use aws_lc_rs::aead::{Aad, Nonce, RandomizedNonceKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

const MAGIC: &[u8; 5] = b"PKEK1";
const ID_LEN: usize = 8;
const PREFIX: &str = "palisade-kek-v1:";
const AAD_LABEL: &[u8] = b"palisade signing key\0";

/// KEK errors. Messages name KEK ids, never key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KekError {
    /// The KEK text is not `palisade-kek-v1:<base64url of 32 bytes>`.
    #[error("the key-encryption key is not in the form palisade-kek-v1:<43 base64url characters>")]
    Format,
    /// The row was sealed by another KEK.
    #[error("signing key {kid} is sealed with key-encryption key {sealed_with}, but the configured key-encryption key is {configured}: start with the KEK this database was sealed with (--kek-file / PALISADE_KEK)")]
    WrongKek {
        /// The row's key id.
        kid: String,
        /// The id of the KEK that sealed it.
        sealed_with: String,
        /// The id of the KEK in use.
        configured: String,
    },
    /// The KEK id matches but the ciphertext does not authenticate.
    #[error("signing key {0} failed authentication under the configured key-encryption key: the stored key was altered")]
    Tampered(String),
    /// Not a sealed key at all.
    #[error("signing key {0} is not sealed")]
    NotSealed(String),
    /// The system RNG or cipher failed.
    #[error("key-encryption failed")]
    Crypto,
}

/// A key-encryption key (AES-256).
pub struct Kek {
    key: RandomizedNonceKey,
    id: [u8; ID_LEN],
    bytes: [u8; 32],
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kek").field("id", &self.id()).finish()
    }
}

impl Drop for Kek {
    fn drop(&mut self) {
        // Best effort: the cipher keeps its own copy inside AWS-LC.
        self.bytes.iter_mut().for_each(|b| *b = 0);
    }
}

impl Kek {
    /// A new random KEK from the system RNG.
    pub fn generate() -> Result<Self, KekError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| KekError::Crypto)?;
        Self::from_bytes(bytes)
    }

    /// A KEK from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, KekError> {
        let key = RandomizedNonceKey::new(&AES_256_GCM, &bytes).map_err(|_| KekError::Crypto)?;
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        ctx.update(b"palisade-kek-id\0");
        ctx.update(&bytes);
        let digest = ctx.finish();
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&digest.as_ref()[..ID_LEN]);
        Ok(Self { key, id, bytes })
    }

    /// Parses the text form (surrounding whitespace is ignored).
    pub fn parse(text: &str) -> Result<Self, KekError> {
        let b64 = text.trim().strip_prefix(PREFIX).ok_or(KekError::Format)?;
        let raw = URL_SAFE_NO_PAD.decode(b64).map_err(|_| KekError::Format)?;
        let bytes: [u8; 32] = raw.try_into().map_err(|_| KekError::Format)?;
        Self::from_bytes(bytes)
    }

    /// The text form, as written to a KEK file or `PALISADE_KEK`.
    pub fn to_text(&self) -> String {
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(self.bytes))
    }

    /// The KEK's public id (16 hex digits), as shown in errors and `palisade kek status`.
    pub fn id(&self) -> String {
        hex(&self.id)
    }

    /// Seals a private key for the row `kid`.
    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> Result<Vec<u8>, KekError> {
        let mut in_out = plaintext.to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(aad(kid), &mut in_out)
            .map_err(|_| KekError::Crypto)?;
        let mut out = Vec::with_capacity(MAGIC.len() + ID_LEN + NONCE_LEN + in_out.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.id);
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&in_out);
        in_out.iter_mut().for_each(|b| *b = 0);
        Ok(out)
    }

    /// Opens a private key sealed for the row `kid`.
    pub fn open(&self, kid: &str, sealed: &[u8]) -> Result<Vec<u8>, KekError> {
        let header = MAGIC.len() + ID_LEN + NONCE_LEN;
        if !is_sealed(sealed) || sealed.len() < header + AES_256_GCM.tag_len() {
            return Err(KekError::NotSealed(kid.to_string()));
        }
        let sealed_with = &sealed[MAGIC.len()..MAGIC.len() + ID_LEN];
        if sealed_with != self.id {
            return Err(KekError::WrongKek {
                kid: kid.to_string(),
                sealed_with: hex(sealed_with),
                configured: self.id(),
            });
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[MAGIC.len() + ID_LEN..header])
            .map_err(|_| KekError::Tampered(kid.to_string()))?;
        let mut in_out = sealed[header..].to_vec();
        let plain_len = self
            .key
            .open_in_place(nonce, aad(kid), &mut in_out)
            .map_err(|_| KekError::Tampered(kid.to_string()))?
            .len();
        in_out.truncate(plain_len);
        Ok(in_out)
    }
}

fn aad(kid: &str) -> Aad<Vec<u8>> {
    let mut a = AAD_LABEL.to_vec();
    a.extend_from_slice(kid.as_bytes());
    Aad::from(a)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a stored private key is sealed (as opposed to a clear PKCS#8 DER from a
/// database written before keys were sealed).
pub fn is_sealed(stored: &[u8]) -> bool {
    stored.starts_with(MAGIC)
}

/// The id of the KEK that sealed a stored key, if it is sealed.
pub fn sealed_with(stored: &[u8]) -> Option<String> {
    is_sealed(stored)
        .then(|| stored.get(MAGIC.len()..MAGIC.len() + ID_LEN).map(hex))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let kek = Kek::generate().expect("kek");
        let sealed = kek.seal("kid-1", b"private key bytes").expect("seal");
        assert!(is_sealed(&sealed));
        assert_eq!(sealed_with(&sealed), Some(kek.id()));
        assert!(
            !sealed.windows(5).any(|w| w == b"priva"),
            "no clear text in the sealed form"
        );
        assert_eq!(
            kek.open("kid-1", &sealed).expect("open"),
            b"private key bytes"
        );
        // Bound to its row.
        assert_eq!(
            kek.open("kid-2", &sealed),
            Err(KekError::Tampered("kid-2".into()))
        );
        // A flipped ciphertext bit is caught.
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(
            kek.open("kid-1", &bad),
            Err(KekError::Tampered("kid-1".into()))
        );
        // Two seals of the same key differ (random nonces).
        assert_ne!(
            sealed,
            kek.seal("kid-1", b"private key bytes").expect("seal")
        );
    }

    #[test]
    fn wrong_kek_is_named() {
        let a = Kek::generate().expect("kek");
        let b = Kek::generate().expect("kek");
        let sealed = a.seal("k", b"x").expect("seal");
        match b.open("k", &sealed) {
            Err(KekError::WrongKek {
                sealed_with,
                configured,
                ..
            }) => {
                assert_eq!(sealed_with, a.id());
                assert_eq!(configured, b.id());
            }
            other => panic!("expected WrongKek, got {other:?}"),
        }
        assert_eq!(
            b.open("k", b"\x30\x82"),
            Err(KekError::NotSealed("k".into()))
        );
    }

    #[test]
    fn text_form() {
        let a = Kek::generate().expect("kek");
        let text = a.to_text();
        assert!(text.starts_with("palisade-kek-v1:"));
        let b = Kek::parse(&format!("  {text}\n")).expect("parse");
        assert_eq!(a.id(), b.id());
        for bad in [
            "",
            "palisade-kek-v1:",
            "palisade-kek-v1:AAAA",
            "kek:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "palisade-kek-v1:!!!!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(Kek::parse(bad).unwrap_err(), KekError::Format, "{bad:?}");
        }
    }
}
