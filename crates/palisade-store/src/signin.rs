//! The authority's sign-in state: browser sessions, interactive flows in progress,
//! authorization codes, device codes and refresh tokens. Secrets (cookies, codes, tokens)
//! are never stored, only their hashes; the JSON documents are owned by
//! `palisade-authority`.

use crate::{map_unique, Result, Store};
use sqlx::Row;

/// A browser sign-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// Session id (also the `sid` claim).
    pub id: String,
    /// SHA-256 of the cookie secret.
    pub secret_hash: Vec<u8>,
    /// The user's tenant.
    pub tenant_id: String,
    /// The user.
    pub user_id: String,
    /// When the user entered credentials (unix seconds).
    pub auth_time: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub last_seen_at: i64,
    /// Unix seconds (sliding).
    pub expires_at: i64,
    /// Client ids of the apps signed in through this session.
    pub client_ids: Vec<String>,
}

/// An interactive flow in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRow {
    /// Flow id (random, in the page's forms).
    pub id: String,
    /// SHA-256 of the browser cookie that started it.
    pub browser_hash: Vec<u8>,
    /// The request, as JSON.
    pub request_json: String,
    /// The user once signed in.
    pub user_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// An authorization code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCodeRow {
    /// SHA-256 of the code.
    pub code_hash: Vec<u8>,
    /// Tenant.
    pub tenant_id: String,
    /// User.
    pub user_id: String,
    /// What the code grants, as JSON (client, redirect URI, scopes, PKCE, nonce, …).
    pub grant_json: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Set at the first redemption attempt.
    pub redeemed_at: Option<i64>,
}

/// The result of presenting an authorization code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRedemption {
    /// First presentation: the code, now spent.
    First(AuthorizationCodeRow),
    /// The code was presented before.
    Replayed(AuthorizationCodeRow),
    /// No such code.
    Unknown,
}

/// A device code (device authorization grant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCodeRow {
    /// Id.
    pub id: String,
    /// SHA-256 of the device code.
    pub device_code_hash: Vec<u8>,
    /// The code the user types.
    pub user_code: String,
    /// Client app id.
    pub client_id: String,
    /// The request, as JSON.
    pub request_json: String,
    /// Current polling interval, seconds.
    pub interval_secs: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Last poll (unix milliseconds).
    pub last_poll_ms: Option<i64>,
    /// `pending`, `approved`, `declined` or `redeemed`.
    pub status: String,
    /// Tenant of the approving user.
    pub tenant_id: Option<String>,
    /// The approving user.
    pub user_id: Option<String>,
    /// When that user authenticated.
    pub auth_time: Option<i64>,
}

/// A refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRow {
    /// Id.
    pub id: String,
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// The user's tenant.
    pub tenant_id: String,
    /// User.
    pub user_id: String,
    /// Client app id.
    pub client_id: String,
    /// When the user authenticated (unix seconds).
    pub auth_time: i64,
    /// Authentication methods, JSON array.
    pub amr_json: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// A hard end that exchanges never pass (single-page apps: 24 hours).
    pub max_expires_at: Option<i64>,
    /// Set when revoked.
    pub revoked_at: Option<i64>,
}

const SESSION_COLUMNS: &str =
    "id, secret_hash, tenant_id, user_id, auth_time, created_at, last_seen_at, expires_at, client_ids";
const CODE_COLUMNS: &str =
    "code_hash, tenant_id, user_id, grant_json, created_at, expires_at, redeemed_at";
const DEVICE_COLUMNS: &str =
    "id, device_code_hash, user_code, client_id, request, interval_secs, created_at, expires_at, \
     last_poll_ms, status, tenant_id, user_id, auth_time";
const REFRESH_COLUMNS: &str =
    "id, token_hash, tenant_id, user_id, client_id, auth_time, amr, issued_at, expires_at, max_expires_at, revoked_at";

fn session_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<SessionRow> {
    let ids: String = r.try_get("client_ids")?;
    Ok(SessionRow {
        id: r.try_get("id")?,
        secret_hash: r.try_get("secret_hash")?,
        tenant_id: r.try_get("tenant_id")?,
        user_id: r.try_get("user_id")?,
        auth_time: r.try_get("auth_time")?,
        created_at: r.try_get("created_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
        expires_at: r.try_get("expires_at")?,
        client_ids: serde_json::from_str(&ids).unwrap_or_default(),
    })
}

fn code_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<AuthorizationCodeRow> {
    Ok(AuthorizationCodeRow {
        code_hash: r.try_get("code_hash")?,
        tenant_id: r.try_get("tenant_id")?,
        user_id: r.try_get("user_id")?,
        grant_json: r.try_get("grant_json")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        redeemed_at: r.try_get("redeemed_at")?,
    })
}

fn device_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<DeviceCodeRow> {
    Ok(DeviceCodeRow {
        id: r.try_get("id")?,
        device_code_hash: r.try_get("device_code_hash")?,
        user_code: r.try_get("user_code")?,
        client_id: r.try_get("client_id")?,
        request_json: r.try_get("request")?,
        interval_secs: r.try_get("interval_secs")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        last_poll_ms: r.try_get("last_poll_ms")?,
        status: r.try_get("status")?,
        tenant_id: r.try_get("tenant_id")?,
        user_id: r.try_get("user_id")?,
        auth_time: r.try_get("auth_time")?,
    })
}

fn refresh_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<RefreshTokenRow> {
    Ok(RefreshTokenRow {
        id: r.try_get("id")?,
        token_hash: r.try_get("token_hash")?,
        tenant_id: r.try_get("tenant_id")?,
        user_id: r.try_get("user_id")?,
        client_id: r.try_get("client_id")?,
        auth_time: r.try_get("auth_time")?,
        amr_json: r.try_get("amr")?,
        issued_at: r.try_get("issued_at")?,
        expires_at: r.try_get("expires_at")?,
        max_expires_at: r.try_get("max_expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

impl Store {
    // ----- sessions --------------------------------------------------------------------

    /// Stores a new session.
    pub async fn insert_session(&self, s: &SessionRow) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO sign_in_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&s.id)
        .bind(&s.secret_hash)
        .bind(&s.tenant_id)
        .bind(&s.user_id)
        .bind(s.auth_time)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.expires_at)
        .bind(serde_json::to_string(&s.client_ids).unwrap_or_else(|_| "[]".into()))
        .execute(self.pool())
        .await
        .map_err(|e| map_unique(e, "session"))?;
        Ok(())
    }

    /// The live session whose cookie secret hashes to `secret_hash`.
    pub async fn find_session(&self, secret_hash: &[u8], now: i64) -> Result<Option<SessionRow>> {
        let row = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sign_in_sessions WHERE secret_hash = $1 AND expires_at > $2"
        ))
        .bind(secret_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// Slides a session's expiry and records an app signed in through it.
    pub async fn touch_session(
        &self,
        id: &str,
        now: i64,
        expires_at: i64,
        client_id: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sign_in_sessions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(()) };
        let mut s = session_from_row(&row)?;
        if let Some(c) = client_id {
            if !s.client_ids.iter().any(|x| x.eq_ignore_ascii_case(c)) {
                s.client_ids.push(c.to_ascii_lowercase());
            }
        }
        sqlx::query(
            "UPDATE sign_in_sessions SET last_seen_at = $2, expires_at = $3, client_ids = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .bind(expires_at)
        .bind(serde_json::to_string(&s.client_ids).unwrap_or_else(|_| "[]".into()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a session.
    pub async fn delete_session(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM sign_in_sessions WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    // ----- flows -----------------------------------------------------------------------

    /// Stores a flow (and drops expired ones).
    pub async fn insert_flow(&self, f: &FlowRow) -> Result<()> {
        sqlx::query("DELETE FROM authorize_flows WHERE expires_at <= $1")
            .bind(f.created_at)
            .execute(self.pool())
            .await?;
        sqlx::query(
            "INSERT INTO authorize_flows (id, browser_hash, request, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&f.id)
        .bind(&f.browser_hash)
        .bind(&f.request_json)
        .bind(&f.user_id)
        .bind(f.created_at)
        .bind(f.expires_at)
        .execute(self.pool())
        .await
        .map_err(|e| map_unique(e, "flow"))?;
        Ok(())
    }

    /// A live flow.
    pub async fn get_flow(&self, id: &str, now: i64) -> Result<Option<FlowRow>> {
        let row = sqlx::query(
            "SELECT id, browser_hash, request, user_id, created_at, expires_at FROM authorize_flows WHERE id = $1 AND expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(FlowRow {
                id: r.try_get("id")?,
                browser_hash: r.try_get("browser_hash")?,
                request_json: r.try_get("request")?,
                user_id: r.try_get("user_id")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// Records the signed-in user of a flow and its updated request.
    pub async fn update_flow(
        &self,
        id: &str,
        user_id: Option<&str>,
        request_json: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE authorize_flows SET user_id = $2, request = $3 WHERE id = $1")
            .bind(id)
            .bind(user_id)
            .bind(request_json)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends a flow.
    pub async fn delete_flow(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM authorize_flows WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    // ----- authorization codes -----------------------------------------------------------

    /// Stores a code (and drops codes expired more than a day ago).
    pub async fn insert_authorization_code(&self, c: &AuthorizationCodeRow) -> Result<()> {
        sqlx::query("DELETE FROM authorization_codes WHERE expires_at <= $1")
            .bind(c.created_at - 86_400)
            .execute(self.pool())
            .await?;
        sqlx::query(&format!(
            "INSERT INTO authorization_codes ({CODE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(&c.code_hash)
        .bind(&c.tenant_id)
        .bind(&c.user_id)
        .bind(&c.grant_json)
        .bind(c.created_at)
        .bind(c.expires_at)
        .bind(c.redeemed_at)
        .execute(self.pool())
        .await
        .map_err(|e| map_unique(e, "authorization code"))?;
        Ok(())
    }

    /// Presents a code: the first presentation spends it, atomically, whatever happens
    /// next; later ones are replays.
    pub async fn redeem_authorization_code(
        &self,
        code_hash: &[u8],
        now: i64,
    ) -> Result<CodeRedemption> {
        let spent = sqlx::query(&format!(
            "UPDATE authorization_codes SET redeemed_at = $2 WHERE code_hash = $1 AND redeemed_at IS NULL RETURNING {CODE_COLUMNS}"
        ))
        .bind(code_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        if let Some(row) = spent {
            return Ok(CodeRedemption::First(code_from_row(&row)?));
        }
        let again = sqlx::query(&format!(
            "SELECT {CODE_COLUMNS} FROM authorization_codes WHERE code_hash = $1"
        ))
        .bind(code_hash)
        .fetch_optional(self.pool())
        .await?;
        Ok(match again {
            Some(row) => CodeRedemption::Replayed(code_from_row(&row)?),
            None => CodeRedemption::Unknown,
        })
    }

    // ----- device codes ----------------------------------------------------------------

    /// Stores a device code (and drops codes expired more than a day ago).
    pub async fn insert_device_code(&self, d: &DeviceCodeRow) -> Result<()> {
        sqlx::query("DELETE FROM device_codes WHERE expires_at <= $1")
            .bind(d.created_at - 86_400)
            .execute(self.pool())
            .await?;
        sqlx::query(&format!(
            "INSERT INTO device_codes ({DEVICE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(&d.id)
        .bind(&d.device_code_hash)
        .bind(&d.user_code)
        .bind(&d.client_id)
        .bind(&d.request_json)
        .bind(d.interval_secs)
        .bind(d.created_at)
        .bind(d.expires_at)
        .bind(d.last_poll_ms)
        .bind(&d.status)
        .bind(&d.tenant_id)
        .bind(&d.user_id)
        .bind(d.auth_time)
        .execute(self.pool())
        .await
        .map_err(|e| map_unique(e, "device code"))?;
        Ok(())
    }

    /// A device code by the code the user typed (exact, upper case).
    pub async fn find_device_code_by_user_code(
        &self,
        user_code: &str,
    ) -> Result<Option<DeviceCodeRow>> {
        let row = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM device_codes WHERE user_code = $1"
        ))
        .bind(user_code)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    /// A device code by the hash of the device code the client polls with.
    pub async fn find_device_code(&self, device_code_hash: &[u8]) -> Result<Option<DeviceCodeRow>> {
        let row = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM device_codes WHERE device_code_hash = $1"
        ))
        .bind(device_code_hash)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    /// Approves or declines a pending device code. Returns false if it was not pending.
    pub async fn decide_device_code(
        &self,
        id: &str,
        status: &str,
        tenant_id: Option<&str>,
        user_id: Option<&str>,
        auth_time: Option<i64>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE device_codes SET status = $2, tenant_id = $3, user_id = $4, auth_time = $5 WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(status)
        .bind(tenant_id)
        .bind(user_id)
        .bind(auth_time)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a poll at `now_ms` with the (possibly raised) interval; returns false if
    /// another poll was recorded in between (`last_poll_ms` changed).
    pub async fn record_device_poll(
        &self,
        id: &str,
        previous_poll_ms: Option<i64>,
        now_ms: i64,
        interval_secs: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE device_codes SET last_poll_ms = $3, interval_secs = $4 WHERE id = $1 AND COALESCE(last_poll_ms, -1) = COALESCE($2, -1)",
        )
        .bind(id)
        .bind(previous_poll_ms)
        .bind(now_ms)
        .bind(interval_secs)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Spends an approved device code. Returns false if it was not approved (already
    /// spent by a concurrent poll, or never approved).
    pub async fn redeem_device_code(&self, id: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE device_codes SET status = 'redeemed' WHERE id = $1 AND status = 'approved'",
        )
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    // ----- refresh tokens --------------------------------------------------------------

    /// Stores a refresh token (and drops tokens expired more than a day ago).
    pub async fn insert_refresh_token(&self, t: &RefreshTokenRow) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM refresh_tokens WHERE expires_at <= $1")
            .bind(t.issued_at - 86_400)
            .execute(&mut *tx)
            .await?;
        insert_refresh(&mut tx, t).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A refresh token by hash.
    pub async fn find_refresh_token(&self, token_hash: &[u8]) -> Result<Option<RefreshTokenRow>> {
        let row = sqlx::query(&format!(
            "SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(refresh_from_row).transpose()
    }

    /// Issues `next` in exchange for the refresh token `used_id`, in one transaction that
    /// first checks `used_id` is still unrevoked (so a revocation racing with a refresh
    /// either stops it or revokes its result too). Returns false if it was revoked.
    pub async fn exchange_refresh_token(
        &self,
        used_id: &str,
        next: &RefreshTokenRow,
    ) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let live = sqlx::query(
            "UPDATE refresh_tokens SET expires_at = expires_at WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(used_id)
        .execute(&mut *tx)
        .await?;
        if live.rows_affected() != 1 {
            return Ok(false);
        }
        insert_refresh(&mut tx, next).await?;
        tx.commit().await?;
        Ok(true)
    }
}

async fn insert_refresh(conn: &mut sqlx::SqliteConnection, t: &RefreshTokenRow) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(&t.id)
    .bind(&t.token_hash)
    .bind(&t.tenant_id)
    .bind(&t.user_id)
    .bind(&t.client_id)
    .bind(t.auth_time)
    .bind(&t.amr_json)
    .bind(t.issued_at)
    .bind(t.expires_at)
    .bind(t.max_expires_at)
    .bind(t.revoked_at)
    .execute(&mut *conn)
    .await
    .map_err(|e| map_unique(e, "refresh token"))?;
    Ok(())
}
