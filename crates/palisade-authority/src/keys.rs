//! Signing keys: RSA-2048 keys with self-signed certificates, kept in the store.
//!
//! `kid` = `x5t` = base64url SHA-1 thumbprint of the certificate, as Entra publishes them.
//! Rotation adds a new key and makes it the signing key at once; the previous key stays
//! published for [`RETIRE_AFTER`] (the longest token lifetime plus clock skew) so every
//! token it signed can still be validated, then drops out of the JWKS.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::EncodingKey;
use palisade_clock::SharedClock;
use palisade_store::{SigningKeyRow, Store, StoreError};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use sha1::{Digest, Sha1};
use std::sync::{Arc, RwLock};
use time::Duration;

/// How long a rotated-out key stays published: the 90-minute maximum token lifetime plus
/// five minutes of clock skew.
pub const RETIRE_AFTER: Duration = Duration::minutes(95);

/// Key errors.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// RSA key generation or encoding failed.
    #[error("key generation failed: {0}")]
    Generate(String),
    /// Certificate generation failed.
    #[error("certificate generation failed: {0}")]
    Certificate(#[from] rcgen::Error),
    /// A stored key could not be read.
    #[error("stored key {0} is unreadable")]
    Corrupt(String),
    /// No key is active.
    #[error("no active signing key")]
    NoActiveKey,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A key as published in the JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedKey {
    /// Key id (= x5t).
    pub kid: String,
    /// base64url modulus.
    pub n: String,
    /// base64url exponent.
    pub e: String,
    /// base64 DER certificate.
    pub x5c: String,
    /// When it became the signing key.
    pub activated_at: Option<i64>,
    /// When it leaves the JWKS.
    pub retire_at: Option<i64>,
}

struct ActiveKey {
    kid: String,
    encoding: EncodingKey,
}

struct KeyRing {
    active: Option<Arc<ActiveKey>>,
    keys: Vec<PublishedKey>,
}

/// Loads, rotates and serves the signing keys.
pub struct KeyManager {
    store: Store,
    clock: SharedClock,
    ring: RwLock<KeyRing>,
    generation: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for KeyManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyManager").finish_non_exhaustive()
    }
}

fn thumbprint(cert_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha1::digest(cert_der))
}

/// Generates an RSA-2048 key and a self-signed certificate for it.
pub fn generate_key(now: time::OffsetDateTime) -> Result<SigningKeyRow, KeyError> {
    let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let pkcs8 = key
        .to_pkcs8_der()
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let pem = key
        .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let key_pair = rcgen::KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256)?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "accounts.palisade.local");
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(5 * 365);
    let cert = params.self_signed(&key_pair)?;
    let cert_der = cert.der().to_vec();
    Ok(SigningKeyRow {
        kid: thumbprint(&cert_der),
        private_key_der: pkcs8.as_bytes().to_vec(),
        certificate_der: cert_der,
        created_at: now.unix_timestamp(),
        activated_at: None,
        retire_at: None,
    })
}

fn published(row: &SigningKeyRow) -> Result<PublishedKey, KeyError> {
    let key = RsaPrivateKey::from_pkcs8_der(&row.private_key_der)
        .map_err(|_| KeyError::Corrupt(row.kid.clone()))?;
    Ok(PublishedKey {
        kid: row.kid.clone(),
        n: URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        e: URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        x5c: STANDARD.encode(&row.certificate_der),
        activated_at: row.activated_at,
        retire_at: row.retire_at,
    })
}

fn active(row: &SigningKeyRow) -> Result<ActiveKey, KeyError> {
    let key = RsaPrivateKey::from_pkcs8_der(&row.private_key_der)
        .map_err(|_| KeyError::Corrupt(row.kid.clone()))?;
    let pkcs1 = key
        .to_pkcs1_der()
        .map_err(|_| KeyError::Corrupt(row.kid.clone()))?;
    Ok(ActiveKey {
        kid: row.kid.clone(),
        encoding: EncodingKey::from_rsa_der(pkcs1.as_bytes()),
    })
}

impl KeyManager {
    /// Loads the keys from the store, creating and activating the first one if there is
    /// none.
    pub async fn load_or_create(store: Store, clock: SharedClock) -> Result<Self, KeyError> {
        let manager = Self {
            store,
            clock,
            ring: RwLock::new(KeyRing {
                active: None,
                keys: Vec::new(),
            }),
            generation: std::sync::atomic::AtomicU64::new(0),
        };
        manager.reload().await?;
        if manager.read_ring().active.is_none() {
            manager.rotate().await?;
        }
        Ok(manager)
    }

    /// The clock the keys' publication times are judged by.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    fn read_ring(&self) -> std::sync::RwLockReadGuard<'_, KeyRing> {
        self.ring.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Re-reads every key from the store (after another process rotated them).
    pub async fn reload(&self) -> Result<(), KeyError> {
        let rows = self.store.list_signing_keys().await?;
        let signing = rows
            .iter()
            .filter(|r| r.activated_at.is_some() && r.retire_at.is_none())
            .max_by_key(|r| (r.activated_at, r.created_at));
        let active_key = signing.map(active).transpose()?.map(Arc::new);
        let keys = rows.iter().map(published).collect::<Result<Vec<_>, _>>()?;
        *self.ring.write().unwrap_or_else(|e| e.into_inner()) = KeyRing {
            active: active_key,
            keys,
        };
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Adds a new key and makes it the signing key; the old ones stay published for
    /// [`RETIRE_AFTER`]. Returns the new key id.
    pub async fn rotate(&self) -> Result<String, KeyError> {
        let now = self.clock.now();
        let row = tokio::task::spawn_blocking(move || generate_key(now))
            .await
            .map_err(|e| KeyError::Generate(e.to_string()))??;
        self.store.insert_signing_key(&row).await?;
        self.store
            .activate_signing_key(
                &row.kid,
                now.unix_timestamp(),
                (now + RETIRE_AFTER).unix_timestamp(),
            )
            .await?;
        self.reload().await?;
        Ok(row.kid)
    }

    /// Signs with the active key: returns its `kid` and the JWT.
    pub fn sign(
        &self,
        header_x5t: bool,
        claims: &impl serde::Serialize,
    ) -> Result<String, KeyError> {
        let active = self
            .read_ring()
            .active
            .clone()
            .ok_or(KeyError::NoActiveKey)?;
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(active.kid.clone());
        if header_x5t {
            header.x5t = Some(active.kid.clone());
        }
        jsonwebtoken::encode(&header, claims, &active.encoding)
            .map_err(|e| KeyError::Generate(e.to_string()))
    }

    /// The id of the signing key.
    pub fn active_kid(&self) -> Option<String> {
        self.read_ring().active.as_ref().map(|a| a.kid.clone())
    }

    /// Every key published now: the signing key and rotated-out keys not yet retired.
    pub fn published_keys(&self) -> Vec<PublishedKey> {
        let now = self.clock.now().unix_timestamp();
        self.read_ring()
            .keys
            .iter()
            .filter(|k| k.activated_at.is_some() && k.retire_at.is_none_or(|r| r > now))
            .cloned()
            .collect()
    }

    /// Changes whenever the stored keys are reloaded (rotation, reload). Together with
    /// [`KeyManager::next_retirement`] it tells a cache of [`KeyManager::published_keys`]
    /// when to refresh.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The next time (unix seconds) a published key stops being published, if any.
    pub fn next_retirement(&self) -> Option<i64> {
        let now = self.clock.now().unix_timestamp();
        self.read_ring()
            .keys
            .iter()
            .filter_map(|k| k.retire_at)
            .filter(|r| *r > now)
            .min()
    }

    /// Every stored key with its state (admin view).
    pub fn all_keys(&self) -> Vec<PublishedKey> {
        self.read_ring().keys.clone()
    }
}
