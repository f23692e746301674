//! Signing keys: RSA-2048 keys with self-signed certificates, kept in the store sealed
//! under the key-encryption key ([`crate::kek`]).
//!
//! `kid` = `x5t` = base64url SHA-1 thumbprint of the certificate, as Entra publishes them.
//! Rotation adds a new key and makes it the signing key at once; the previous key stays
//! published for [`RETIRE_AFTER`] (the longest token lifetime plus clock skew) so every
//! token it signed can still be validated, then drops out of the JWKS.
//!
//! Keys are generated and tokens signed with AWS-LC (`aws-lc-rs`): the active key is parsed
//! once and its two JWS headers (v1 with `x5t`, v2 without) are encoded once, so minting a
//! token is one JSON serialisation, two base64 encodings and one RSA signature.

use crate::kek::{is_sealed, Kek, KekError};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use palisade_clock::SharedClock;
use palisade_store::{SigningKeyRow, Store, StoreError};
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
    /// A stored key could not be unsealed (wrong or missing key-encryption key).
    #[error(transparent)]
    Kek(#[from] KekError),
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
    /// base64url of `{"typ":"JWT","alg":"RS256","x5t":kid,"kid":kid}` (v1 tokens).
    header_v1: String,
    /// base64url of `{"typ":"JWT","alg":"RS256","kid":kid}` (v2 tokens).
    header_v2: String,
    kid: String,
    key: RsaKeyPair,
}

struct KeyRing {
    active: Option<Arc<ActiveKey>>,
    keys: Vec<PublishedKey>,
}

/// Loads, rotates and serves the signing keys.
pub struct KeyManager {
    store: Store,
    clock: SharedClock,
    kek: Arc<Kek>,
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

/// Generates an RSA-2048 key and a self-signed certificate for it. The row's private key
/// is clear PKCS#8 DER: seal it ([`Kek::seal`]) before storing it.
pub fn generate_key(now: time::OffsetDateTime) -> Result<SigningKeyRow, KeyError> {
    let key =
        RsaKeyPair::generate(KeySize::Rsa2048).map_err(|e| KeyError::Generate(e.to_string()))?;
    let pkcs8 = key
        .as_der()
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let pkcs8 = pkcs8.as_ref().to_vec();
    let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &pkcs8.as_slice().into(),
        &rcgen::PKCS_RSA_SHA256,
    )?;
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
        private_key_der: pkcs8,
        certificate_der: cert_der,
        created_at: now.unix_timestamp(),
        activated_at: None,
        retire_at: None,
    })
}

/// A stored key, unsealed and parsed.
fn parse_row(kek: &Kek, row: &SigningKeyRow) -> Result<RsaKeyPair, KeyError> {
    let der = kek.open(&row.kid, &row.private_key_der)?;
    RsaKeyPair::from_pkcs8(&der).map_err(|_| KeyError::Corrupt(row.kid.clone()))
}

fn published(row: &SigningKeyRow, key: &RsaKeyPair) -> PublishedKey {
    let public = key.public_key();
    PublishedKey {
        kid: row.kid.clone(),
        n: URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
        e: URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        x5c: STANDARD.encode(&row.certificate_der),
        activated_at: row.activated_at,
        retire_at: row.retire_at,
    }
}

fn active(kid: &str, key: RsaKeyPair) -> ActiveKey {
    // serde_json escapes the kid; kids are base64url anyway.
    let kid_json = serde_json::Value::from(kid).to_string();
    let v1 = format!(r#"{{"typ":"JWT","alg":"RS256","x5t":{kid_json},"kid":{kid_json}}}"#);
    let v2 = format!(r#"{{"typ":"JWT","alg":"RS256","kid":{kid_json}}}"#);
    ActiveKey {
        header_v1: URL_SAFE_NO_PAD.encode(v1),
        header_v2: URL_SAFE_NO_PAD.encode(v2),
        kid: kid.to_string(),
        key,
    }
}

impl KeyManager {
    /// Loads the keys from the store with a fresh key-encryption key held only in memory,
    /// creating and activating the first key if there is none. For tests and in-memory
    /// stores: keys it creates cannot be unsealed after the process ends. A server uses
    /// [`KeyManager::open`] with its configured KEK.
    pub async fn load_or_create(store: Store, clock: SharedClock) -> Result<Self, KeyError> {
        Self::open(store, clock, Arc::new(Kek::generate()?)).await
    }

    /// Loads the keys from the store, unsealing them with `kek`, creating and activating the
    /// first key if there is none. Keys stored in clear by an older version are sealed
    /// under `kek` first (one transaction).
    pub async fn open(store: Store, clock: SharedClock, kek: Arc<Kek>) -> Result<Self, KeyError> {
        let clear: Vec<(String, Vec<u8>)> = store
            .list_signing_keys()
            .await?
            .into_iter()
            .filter(|r| !is_sealed(&r.private_key_der))
            .map(|r| Ok((r.kid.clone(), kek.seal(&r.kid, &r.private_key_der)?)))
            .collect::<Result<_, KekError>>()?;
        if !clear.is_empty() {
            store.replace_signing_key_secrets(&clear).await?;
            tracing::info!(keys = clear.len(), kek = %kek.id(), "sealed signing keys stored in clear");
        }
        let manager = Self {
            store,
            clock,
            kek,
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
        let mut active_key = None;
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            let key = parse_row(&self.kek, row)?;
            keys.push(published(row, &key));
            if signing.is_some_and(|s| s.kid == row.kid) {
                active_key = Some(Arc::new(active(&row.kid, key)));
            }
        }
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
        let mut row = tokio::task::spawn_blocking(move || generate_key(now))
            .await
            .map_err(|e| KeyError::Generate(e.to_string()))??;
        row.private_key_der = self.kek.seal(&row.kid, &row.private_key_der)?;
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

    /// Signs `claims` with the active key as an RS256 JWT; `header_x5t` adds `x5t` to the
    /// header (v1 tokens carry it, v2 tokens do not).
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
        let payload = serde_json::to_vec(claims).map_err(|e| KeyError::Generate(e.to_string()))?;
        let header = if header_x5t {
            &active.header_v1
        } else {
            &active.header_v2
        };
        let mut jwt = String::with_capacity(header.len() + payload.len() * 4 / 3 + 350);
        jwt.push_str(header);
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut jwt);
        let mut signature = vec![0u8; active.key.public_modulus_len()];
        active
            .key
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                jwt.as_bytes(),
                &mut signature,
            )
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut jwt);
        Ok(jwt)
    }

    /// Re-seals every stored private key under `new_kek`, in one transaction, after
    /// checking that each one opens under the current KEK. Returns how many keys were
    /// re-sealed. The manager keeps using its current KEK for keys it creates afterwards;
    /// restart with the new one (see `palisade kek rotate`).
    pub async fn reseal_all(&self, new_kek: &Kek) -> Result<usize, KeyError> {
        let rows = self.store.list_signing_keys().await?;
        let mut resealed = Vec::with_capacity(rows.len());
        for row in &rows {
            let der = self.kek.open(&row.kid, &row.private_key_der)?;
            RsaKeyPair::from_pkcs8(&der).map_err(|_| KeyError::Corrupt(row.kid.clone()))?;
            resealed.push((row.kid.clone(), new_kek.seal(&row.kid, &der)?));
        }
        self.store.replace_signing_key_secrets(&resealed).await?;
        Ok(resealed.len())
    }

    /// The id of the key-encryption key in use.
    pub fn kek_id(&self) -> String {
        self.kek.id()
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
