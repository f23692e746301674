//! Where the server's key-encryption key (KEK) comes from, and `palisade kek …`.
//!
//! The signing keys in `palisade.db` are sealed under the KEK
//! ([`palisade_authority::kek`]); the KEK itself is kept apart from the database:
//! - `PALISADE_KEK=palisade-kek-v1:…` in the environment, if set; else
//! - the file `--kek-file` / `PALISADE_KEK_FILE` (default `<data-dir>/kek`, mode 0600),
//!   created on first start when the database holds no sealed key yet.
//!
//! For real separation keep the file outside the data directory (e.g. on another volume or
//! in a secret store mounted at start), so a copy or backup of the data directory reveals no
//! signing key.
//!
//! Rotation (`palisade kek rotate`, with the servers stopped): the new KEK is written to
//! `<kek-file>.new` and synced, every signing key is re-sealed in one transaction, then the
//! new file replaces the old one (the old one is kept as `<kek-file>.old` until the operator
//! deletes it). A crash between the commit and the rename is finished at the next start: a
//! `<kek-file>.new` whose id is the one the keys are sealed with is moved into place.
//! With `PALISADE_KEK`, the new KEK is written to `--new-kek-file` instead, and the
//! operator puts it into the environment.

use crate::tls::write_private;
use anyhow::{bail, Context, Result};
use palisade_authority::kek::{sealed_with, Kek};
use palisade_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The environment variable holding the KEK's text form.
pub const KEK_ENV: &str = "PALISADE_KEK";
/// The default KEK file name in the data directory.
pub const DEFAULT_KEK_FILE: &str = "kek";

/// Where the KEK is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KekSource {
    /// `<data-dir>/kek` (created on first start if missing).
    #[default]
    Default,
    /// This file (created on first start if missing).
    File(PathBuf),
    /// The KEK's text form itself (tests; the CLI passes `PALISADE_KEK` this way).
    Text(String),
}

impl KekSource {
    /// The CLI's source: `PALISADE_KEK` if set, else `--kek-file` / `PALISADE_KEK_FILE`,
    /// else `<data-dir>/kek`.
    pub fn from_args(kek_file: Option<PathBuf>) -> Self {
        match std::env::var(KEK_ENV) {
            Ok(text) if !text.trim().is_empty() => KekSource::Text(text),
            _ => kek_file.map(KekSource::File).unwrap_or_default(),
        }
    }

    fn file(&self, data_dir: &Path) -> Option<PathBuf> {
        match self {
            KekSource::Default => Some(data_dir.join(DEFAULT_KEK_FILE)),
            KekSource::File(p) => Some(p.clone()),
            KekSource::Text(_) => None,
        }
    }
}

fn read_kek_file(path: &Path) -> Result<Kek> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the key-encryption key {}", path.display()))?;
    Kek::parse(&text).with_context(|| format!("in {}", path.display()))
}

fn new_path(file: &Path) -> PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(".new");
    PathBuf::from(p)
}

fn old_path(file: &Path) -> PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(".old");
    PathBuf::from(p)
}

/// The KEK ids the stored signing keys are sealed with (clear rows are left out).
async fn stored_kek_ids(store: &Store) -> Result<Vec<String>> {
    let mut ids: Vec<String> = store
        .list_signing_keys()
        .await?
        .iter()
        .filter_map(|r| sealed_with(&r.private_key_der))
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The KEK for `store`, from `source`; creates the KEK file on first start. Refuses to
/// create a new KEK when the database already holds keys sealed under another one.
pub async fn resolve(source: &KekSource, data_dir: &Path, store: &Store) -> Result<Arc<Kek>> {
    let file = match source {
        KekSource::Text(text) => {
            return Ok(Arc::new(
                Kek::parse(text).context("in the PALISADE_KEK environment variable")?,
            ))
        }
        KekSource::File(file) => file.clone(),
        KekSource::Default => data_dir.join(DEFAULT_KEK_FILE),
    };
    let stored = stored_kek_ids(store).await?;
    // Finish a rotation interrupted between the database commit and the file rename.
    let pending = new_path(&file);
    if pending.exists() {
        let next = read_kek_file(&pending)?;
        if !stored.is_empty() && stored.iter().all(|id| *id == next.id()) {
            if file.exists() {
                std::fs::rename(&file, old_path(&file))?;
            }
            std::fs::rename(&pending, &file)?;
            tracing::warn!(kek = %next.id(), "finished an interrupted key-encryption key rotation");
            return Ok(Arc::new(next));
        }
    }
    if file.exists() {
        return Ok(Arc::new(read_kek_file(&file)?));
    }
    if let Some(id) = stored.first() {
        bail!(
            "no key-encryption key at {} (and {KEK_ENV} is not set), but the database's signing keys are sealed with key-encryption key {id}: start with that KEK (--kek-file or {KEK_ENV})",
            file.display()
        );
    }
    let kek = Kek::generate()?;
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)?;
    }
    write_private(&file, format!("{}\n", kek.to_text()).as_bytes())?;
    Ok(Arc::new(kek))
}

/// `palisade kek status`: the KEK in use and what each signing key is sealed with.
pub async fn status(data_dir: &Path, source: &KekSource) -> Result<()> {
    let store = crate::data_dir::open_store(data_dir).await?;
    let kek = match source.file(data_dir) {
        Some(f) if !f.exists() => None,
        Some(f) => Some(read_kek_file(&f)?),
        None => match source {
            KekSource::Text(t) => Some(Kek::parse(t)?),
            _ => None,
        },
    };
    match &kek {
        Some(k) => println!("key-encryption key: {}", k.id()),
        None => println!("key-encryption key: none configured"),
    }
    for row in store.list_signing_keys().await? {
        let state = match sealed_with(&row.private_key_der) {
            Some(id) if kek.as_ref().is_some_and(|k| k.id() == id) => format!("sealed with {id}"),
            Some(id) => format!("sealed with {id} (NOT the configured KEK)"),
            None => "stored in clear (sealed at the next start)".to_string(),
        };
        println!("signing key {}: {state}", row.kid);
    }
    Ok(())
}

/// `palisade kek rotate`: re-seals every signing key under a new KEK. Run it with the
/// servers on this database stopped.
pub async fn rotate(
    data_dir: &Path,
    source: &KekSource,
    new_kek_file: Option<&Path>,
) -> Result<()> {
    let store = crate::data_dir::open_store(data_dir).await?;
    let current = resolve_existing(source, data_dir)?;
    let next = match new_kek_file {
        Some(p) if p.exists() => read_kek_file(p)?,
        _ => Kek::generate()?,
    };
    if next.id() == current.id() {
        bail!("the new key-encryption key is the current one");
    }
    let clock: palisade_clock::SharedClock = Arc::new(palisade_clock::SystemClock);
    // Opening checks that every key unseals under the current KEK before anything changes.
    let keys = palisade_authority::KeyManager::open(store, clock, Arc::new(current))
        .await
        .context("unsealing the signing keys with the current key-encryption key")?;
    let old_id = keys.kek_id();
    let write_new = |path: &Path| -> Result<()> {
        write_private(path, format!("{}\n", next.to_text()).as_bytes())?;
        std::fs::File::open(path)?.sync_all()?;
        Ok(())
    };
    match (source.file(data_dir), new_kek_file) {
        // File-based: stage `<file>.new`, commit, then move it into place.
        (Some(file), None) => {
            let pending = new_path(&file);
            write_new(&pending)?;
            let n = keys.reseal_all(&next).await?;
            std::fs::rename(&file, old_path(&file))?;
            std::fs::rename(&pending, &file)?;
            if let Some(dir) = file.parent() {
                let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
            }
            println!(
                "re-sealed {n} signing keys: key-encryption key {old_id} -> {}",
                next.id()
            );
            println!(
                "{} now holds the new KEK; the old one is kept in {} (delete it once backups sealed with it are gone)",
                file.display(),
                old_path(&file).display()
            );
        }
        (_, Some(out)) => {
            if !out.exists() {
                write_new(out)?;
            }
            let n = keys.reseal_all(&next).await?;
            println!(
                "re-sealed {n} signing keys: key-encryption key {old_id} -> {}",
                next.id()
            );
            println!(
                "the new KEK is in {}; start the servers with it (--kek-file or {KEK_ENV})",
                out.display()
            );
        }
        (None, None) => bail!(
            "{KEK_ENV} is set: give --new-kek-file PATH for the new key-encryption key, then start the servers with it"
        ),
    }
    Ok(())
}

fn resolve_existing(source: &KekSource, data_dir: &Path) -> Result<Kek> {
    match (source, source.file(data_dir)) {
        (KekSource::Text(t), _) => Ok(Kek::parse(t).context("in PALISADE_KEK")?),
        (_, Some(f)) => read_kek_file(&f),
        _ => bail!("no key-encryption key configured"),
    }
}
