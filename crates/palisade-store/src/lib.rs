//! All of Palisade's SQL.
//!
//! One schema, applied by migrations at start, behind typed repository methods on
//! [`Store`]. Nothing else in Palisade writes SQL. The embedded backend is SQLite (WAL,
//! foreign keys on); the SQL is kept portable (TEXT ids, INTEGER unix seconds, BLOB bytes,
//! `$n` placeholders) so a PostgreSQL backend can be added behind the same methods.
//!
//! Every row that belongs to a tenant carries its tenant id, and every tenant-scoped method
//! takes the tenant id and names it in its `WHERE` clause.

mod alerts;
mod certificates;
mod directory;
mod directory_rows;
mod grants;
mod incident_query;
mod incident_time;
mod incidents;
mod keys;
mod owners;
mod signin;
mod users;

pub use alerts::{AlertOrder, AlertRow};
pub use certificates::*;
pub use directory::*;
pub use directory_rows::{DirectoryChanges, TenantDirectoryRows, BUILTIN_SLICE};
pub use grants::*;
pub use incident_time::{format_incident_time, parse_incident_time};
pub use incidents::*;
pub use keys::*;
pub use owners::{OwnedObject, OwnerKind, OwnerRow};
pub use signin::*;
pub use users::*;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint refused the write (duplicate name, id or URI).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A row the write refers to does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored JSON document could not be read back.
    #[error("corrupt stored document: {0}")]
    Corrupt(String),
}

/// Result alias for store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Seconds a pooled connection beyond the first stays open unused.
const IDLE_CONNECTION_SECONDS: u64 = 30;

/// The database handle. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path`, switches it to WAL with
    /// foreign keys on, and runs the migrations.
    ///
    /// The database file and its `-wal`/`-shm` companions are made readable by the owner
    /// only (0600) before SQLite opens them; SQLite creates the companions with the
    /// database file's mode.
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        restrict_to_owner(path).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // An idle server keeps one connection: each open one holds a worker thread and
            // up to 2 MB of SQLite page cache (BENCHMARKS.md, "Memory").
            .min_connections(1)
            .idle_timeout(Duration::from_secs(IDLE_CONNECTION_SECONDS))
            .connect_with(options)
            .await?;
        Self::migrate(pool).await
    }

    /// A private in-memory database (tests).
    pub async fn open_in_memory() -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        Self::migrate(pool).await
    }

    async fn migrate(pool: SqlitePool) -> Result<Self> {
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Checkpoints the WAL into the database file, then closes every connection.
    ///
    /// The explicit `wal_checkpoint(TRUNCATE)` matters: SQLite checkpoints by itself only
    /// when the last connection closes, and a connection the pool's `min_connections`
    /// upkeep opens while the pool closes is dropped (and closed on its worker thread)
    /// after `close` returns, so the file would be completed later, by another process's
    /// start, instead of when the server stopped.
    pub async fn close(&self) {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %e, "WAL checkpoint before closing the database failed");
        }
        self.pool.close().await;
    }

    /// The connection pool, for sibling modules of this crate.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Creates `path` empty with mode 0600 if missing, and sets 0600 on it and on its
/// `-wal`/`-shm` files if they exist with wider modes.
fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if !path.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)?;
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let p = std::path::PathBuf::from(p);
            if let Ok(meta) = std::fs::metadata(&p) {
                if meta.permissions().mode() & 0o077 != 0 {
                    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`].
pub(crate) fn map_unique(err: sqlx::Error, what: &str) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        if db.is_unique_violation() {
            return StoreError::Conflict(what.to_string());
        }
        if db.is_foreign_key_violation() {
            return StoreError::NotFound(what.to_string());
        }
    }
    StoreError::Database(err)
}
