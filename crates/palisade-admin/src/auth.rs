//! Admin API keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use palisade_directory::{hash_secret, verify_secret_hash};
use palisade_store::{Store, StoreError};
use rand::RngCore;

/// Admin key errors.
#[derive(Debug, thiserror::Error)]
pub enum AdminKeyError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
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
        .insert_admin_credential(&uuid::Uuid::new_v4().to_string(), &hash_secret(&key), now)
        .await?;
    Ok(Some(key))
}

/// Whether `presented` is a stored admin key; every stored hash is compared (each in
/// constant time), whichever matches.
pub(crate) async fn is_admin_key(store: &Store, presented: &str) -> Result<bool, StoreError> {
    let mut ok = false;
    for stored in store.list_admin_credential_hashes().await? {
        ok |= verify_secret_hash(presented, &stored);
    }
    Ok(ok)
}
