//! Certificate credentials (`keyCredentials`) of applications, and the replay guard of
//! client assertions.

use crate::{map_unique, Result, Store};
use sqlx::Row;

/// A certificate registered on an application. Only the public certificate is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCredentialRow {
    /// Key id (GUID).
    pub key_id: String,
    /// Object id of the application.
    pub application_id: String,
    /// Description.
    pub display_name: Option<String>,
    /// `AsymmetricX509Cert`.
    pub key_type: String,
    /// `Verify`.
    pub key_usage: String,
    /// The X.509 certificate, DER.
    pub certificate_der: Vec<u8>,
    /// SHA-1 of the DER (`customKeyIdentifier`, the `x5t` header).
    pub thumbprint_sha1: Vec<u8>,
    /// SHA-256 of the DER (the `x5t#S256` header).
    pub thumbprint_sha256: Vec<u8>,
    /// Unix seconds.
    pub start_at: i64,
    /// Unix seconds.
    pub end_at: i64,
    /// Unix seconds.
    pub created_at: i64,
}

/// Which thumbprint an assertion names its key by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thumbprint<'a> {
    /// `x5t`: SHA-1.
    Sha1(&'a [u8]),
    /// `x5t#S256`: SHA-256.
    Sha256(&'a [u8]),
}

const KEY_COLUMNS: &str =
    "key_id, application_id, display_name, key_type, key_usage, certificate_der, \
     thumbprint_sha1, thumbprint_sha256, start_at, end_at, created_at";

fn key_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<KeyCredentialRow> {
    Ok(KeyCredentialRow {
        key_id: r.try_get("key_id")?,
        application_id: r.try_get("application_id")?,
        display_name: r.try_get("display_name")?,
        key_type: r.try_get("key_type")?,
        key_usage: r.try_get("key_usage")?,
        certificate_der: r.try_get("certificate_der")?,
        thumbprint_sha1: r.try_get("thumbprint_sha1")?,
        thumbprint_sha256: r.try_get("thumbprint_sha256")?,
        start_at: r.try_get("start_at")?,
        end_at: r.try_get("end_at")?,
        created_at: r.try_get("created_at")?,
    })
}

async fn insert_key<'e, E: sqlx::SqliteExecutor<'e>>(
    executor: E,
    key: &KeyCredentialRow,
) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO key_credentials ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(&key.key_id)
    .bind(&key.application_id)
    .bind(&key.display_name)
    .bind(&key.key_type)
    .bind(&key.key_usage)
    .bind(&key.certificate_der)
    .bind(&key.thumbprint_sha1)
    .bind(&key.thumbprint_sha256)
    .bind(key.start_at)
    .bind(key.end_at)
    .bind(key.created_at)
    .execute(executor)
    .await
    .map_err(|e| map_unique(e, "key credential with this certificate"))?;
    Ok(())
}

impl Store {
    /// Stores a certificate credential. The same certificate twice on one application is a
    /// [`crate::StoreError::Conflict`].
    pub async fn insert_key_credential(&self, key: &KeyCredentialRow) -> Result<()> {
        insert_key(self.pool(), key).await
    }

    /// Replaces an application's whole set of certificates in one transaction (Graph's
    /// PATCH of `keyCredentials`).
    pub async fn replace_key_credentials(
        &self,
        application_id: &str,
        keys: &[KeyCredentialRow],
    ) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM key_credentials WHERE application_id = $1")
            .bind(application_id)
            .execute(&mut *tx)
            .await?;
        for key in keys {
            insert_key(&mut *tx, key).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The certificates of an application (by object id), oldest first.
    pub async fn list_key_credentials(
        &self,
        application_id: &str,
    ) -> Result<Vec<KeyCredentialRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM key_credentials WHERE application_id = $1 ORDER BY created_at, key_id"
        ))
        .bind(application_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// The certificate of an application with this thumbprint, if registered.
    pub async fn find_key_credential(
        &self,
        application_id: &str,
        thumbprint: Thumbprint<'_>,
    ) -> Result<Option<KeyCredentialRow>> {
        let (column, value) = match thumbprint {
            Thumbprint::Sha1(v) => ("thumbprint_sha1", v),
            Thumbprint::Sha256(v) => ("thumbprint_sha256", v),
        };
        let row = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM key_credentials WHERE application_id = $1 AND {column} = $2"
        ))
        .bind(application_id)
        .bind(value)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    /// Removes one certificate. Returns false if the application has no such key.
    pub async fn delete_key_credential(&self, application_id: &str, key_id: &str) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM key_credentials WHERE application_id = $1 AND key_id = $2")
                .bind(application_id)
                .bind(key_id.to_ascii_lowercase())
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a client assertion's `jti` (by hash) until `expires_at`. Returns false when
    /// the application already presented it and it has not expired: a replay. Entries past
    /// their expiry are purged first, so an expired jti may be used again only once an
    /// assertion carrying it could no longer be valid anyway.
    pub async fn record_assertion_jti(
        &self,
        app_id: &str,
        jti_hash: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM client_assertion_jtis WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query(
            "INSERT INTO client_assertion_jtis (app_id, jti_hash, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (app_id, jti_hash) DO NOTHING",
        )
        .bind(app_id)
        .bind(jti_hash)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}
