//! Admin API keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use palisade_store::{Store, StoreError};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Admin key errors.
#[derive(Debug, thiserror::Error)]
pub enum AdminKeyError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn hash(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// Creates an admin key if the store has none and returns it (`None` if one exists: the
/// text of existing keys is never recoverable from the store). 256 random bits.
pub async fn bootstrap_admin_key(store: &Store, now: i64) -> Result<Option<String>, AdminKeyError> {
    if !store.list_admin_credential_hashes().await?.is_empty() {
        return Ok(None);
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let key = format!("pal_admin_{}", URL_SAFE_NO_PAD.encode(bytes));
    store
        .insert_admin_credential(&uuid::Uuid::new_v4().to_string(), &hash(&key), now)
        .await?;
    Ok(Some(key))
}

/// Whether `presented` is a stored admin key; every stored hash is compared in constant
/// time.
pub(crate) async fn is_admin_key(store: &Store, presented: &str) -> Result<bool, StoreError> {
    let presented = hash(presented);
    let mut ok = subtle::Choice::from(0u8);
    for stored in store.list_admin_credential_hashes().await? {
        ok |= presented.ct_eq(&stored);
    }
    Ok(ok.into())
}
