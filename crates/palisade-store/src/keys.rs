//! Signing keys of the token service, and the admin API's credentials.

use crate::{map_unique, Result, Store};
use sqlx::Row;

/// An RSA signing key with its self-signed certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRow {
    /// Key id: base64url SHA-1 thumbprint of the certificate (`kid` = `x5t`).
    pub kid: String,
    /// The private key: PKCS#8 DER sealed under the key-encryption key (see
    /// `palisade_authority::kek`); clear DER only in databases written before sealing.
    pub private_key_der: Vec<u8>,
    /// DER certificate.
    pub certificate_der: Vec<u8>,
    /// Unix seconds.
    pub created_at: i64,
    /// When it became the signing key; `None` if never activated.
    pub activated_at: Option<i64>,
    /// When it stops being published; `None` while current.
    pub retire_at: Option<i64>,
}

impl Store {
    /// Stores a key.
    pub async fn insert_signing_key(&self, key: &SigningKeyRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, private_key_der, certificate_der, created_at, activated_at, retire_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.kid)
        .bind(&key.private_key_der)
        .bind(&key.certificate_der)
        .bind(key.created_at)
        .bind(key.activated_at)
        .bind(key.retire_at)
        .execute(self.pool())
        .await
        .map_err(|e| map_unique(e, "signing key"))?;
        Ok(())
    }

    /// Every stored key, oldest first.
    pub async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRow>> {
        let rows = sqlx::query(
            "SELECT kid, private_key_der, certificate_der, created_at, activated_at, retire_at FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SigningKeyRow {
                    kid: r.try_get("kid")?,
                    private_key_der: r.try_get("private_key_der")?,
                    certificate_der: r.try_get("certificate_der")?,
                    created_at: r.try_get("created_at")?,
                    activated_at: r.try_get("activated_at")?,
                    retire_at: r.try_get("retire_at")?,
                })
            })
            .collect()
    }

    /// Makes `new_kid` the signing key at `now` and schedules every other published key to
    /// stop being published at `retire_at`, in one transaction.
    pub async fn activate_signing_key(
        &self,
        new_kid: &str,
        now: i64,
        retire_at: i64,
    ) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE signing_keys SET retire_at = $1 WHERE kid <> $2 AND activated_at IS NOT NULL AND retire_at IS NULL")
            .bind(retire_at)
            .bind(new_kid)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE signing_keys SET activated_at = $1, retire_at = NULL WHERE kid = $2")
            .bind(now)
            .bind(new_kid)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the stored (sealed) private keys of the given key ids, all in one
    /// transaction: re-sealing under a new key-encryption key never leaves a mix.
    pub async fn replace_signing_key_secrets(&self, keys: &[(String, Vec<u8>)]) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for (kid, private_key) in keys {
            let done = sqlx::query("UPDATE signing_keys SET private_key_der = $1 WHERE kid = $2")
                .bind(private_key)
                .bind(kid)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() != 1 {
                return Err(crate::StoreError::NotFound(format!("signing key {kid}")));
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores the hash of an admin API key.
    pub async fn insert_admin_credential(
        &self,
        id: &str,
        key_hash: &[u8],
        created_at: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO admin_credentials (id, key_hash, created_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(key_hash)
            .bind(created_at)
            .execute(self.pool())
            .await
            .map_err(|e| map_unique(e, "admin credential"))?;
        Ok(())
    }

    /// Hashes of every admin API key.
    pub async fn list_admin_credential_hashes(&self) -> Result<Vec<Vec<u8>>> {
        let rows = sqlx::query("SELECT key_hash FROM admin_credentials ORDER BY created_at")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok(r.try_get("key_hash")?)).collect()
    }
}
