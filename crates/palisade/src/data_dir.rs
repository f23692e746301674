//! The data directory's layout: the private directory itself, its database and the
//! bootstrap admin key. Both the server and `palisade kek` open the store through here.

use anyhow::{Context, Result};
use palisade_store::Store;
use std::path::Path;

/// File in the data directory holding the bootstrap admin key (mode 0600).
pub const ADMIN_KEY_FILE: &str = "admin-key";
/// The database file in the data directory.
pub const DATABASE_FILE: &str = "palisade.db";

/// Creates the data directory (mode 0700) if needed.
pub fn create_data_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating data directory {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Opens the data directory's database (creating the private directory if needed).
pub async fn open_store(data_dir: &Path) -> Result<Store> {
    create_data_dir(data_dir)?;
    Store::open_sqlite(&data_dir.join(DATABASE_FILE))
        .await
        .context("opening the database")
}

/// The data directory when neither `--data-dir`, `PALISADE_DATA_DIR` nor a context names one.
pub const DEFAULT_DATA_DIR: &str = "./palisade-data";
