//! The sign-in cache: refresh tokens and access tokens per account, like MSAL's token
//! cache, optionally persisted to a JSON file readable only by its owner (mode 0600,
//! replaced atomically on every change).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::credential::AccessToken;
use crate::error::CredentialError;

/// A signed-in account, as the cache knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The authority host (`https://login.microsoftonline.com`, or Palisade's URL).
    pub authority: String,
    /// The public client the account signed in to.
    pub client_id: String,
    /// The user's tenant (`tid`).
    pub tenant_id: String,
    /// The user principal name.
    pub username: String,
    /// The user's object id (`oid`).
    pub object_id: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct CachedToken {
    token: String,
    /// Unix seconds.
    expires_on: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    account: Account,
    refresh_token: String,
    /// Access tokens by resource.
    #[serde(default)]
    access_tokens: BTreeMap<String, CachedToken>,
    /// Unix seconds of the last sign-in or refresh (the newest account is the default).
    last_used: i64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    #[serde(default)]
    entries: Vec<Entry>,
}

/// Refresh and access tokens of signed-in accounts.
#[derive(Debug)]
pub struct SignInCache {
    path: Option<PathBuf>,
    state: Mutex<CacheFile>,
}

fn key(authority: &str, client_id: &str) -> (String, String) {
    (
        authority.trim_end_matches('/').to_ascii_lowercase(),
        client_id.to_ascii_lowercase(),
    )
}

impl SignInCache {
    /// A cache that lives only as long as the process.
    pub fn in_memory() -> Self {
        SignInCache {
            path: None,
            state: Mutex::new(CacheFile {
                version: 1,
                entries: Vec::new(),
            }),
        }
    }

    /// A cache persisted at `path` (read now if it exists).
    pub fn persistent(path: impl Into<PathBuf>) -> Result<Self, CredentialError> {
        let path = path.into();
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                CredentialError::Cache(format!("{} is not a token cache: {e}", path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => CacheFile {
                version: 1,
                entries: Vec::new(),
            },
            Err(e) => {
                return Err(CredentialError::Cache(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
        Ok(SignInCache {
            path: Some(path),
            state: Mutex::new(state),
        })
    }

    /// `$PALISADE_TOKEN_CACHE`, else `~/.config/palisade/token-cache.json`.
    pub fn default_path() -> Option<PathBuf> {
        std::env::var_os("PALISADE_TOKEN_CACHE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(|h| PathBuf::from(h).join(".config/palisade/token-cache.json"))
            })
    }

    /// Where the cache is persisted, if it is.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheFile> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every account, most recently used first.
    pub fn accounts(&self) -> Vec<Account> {
        let mut entries = self.lock().entries.clone();
        entries.sort_by_key(|e| std::cmp::Reverse(e.last_used));
        entries.into_iter().map(|e| e.account).collect()
    }

    /// The most recently used account of a public client at an authority.
    pub fn account(&self, authority: &str, client_id: &str) -> Option<Account> {
        let k = key(authority, client_id);
        self.accounts()
            .into_iter()
            .find(|a| key(&a.authority, &a.client_id) == k)
    }

    /// The refresh token of an account.
    pub(crate) fn refresh_token(&self, account: &Account) -> Option<String> {
        self.lock()
            .entries
            .iter()
            .find(|e| e.account == *account)
            .map(|e| e.refresh_token.clone())
    }

    /// A cached access token still valid `margin` from now.
    pub(crate) fn access_token(
        &self,
        account: &Account,
        resource: &str,
        margin: std::time::Duration,
    ) -> Option<AccessToken> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        self.lock()
            .entries
            .iter()
            .find(|e| e.account == *account)
            .and_then(|e| e.access_tokens.get(resource))
            .filter(|t| t.expires_on - margin.as_secs() as i64 > now)
            .and_then(|t| {
                Some(AccessToken::new(
                    t.token.clone(),
                    OffsetDateTime::from_unix_timestamp(t.expires_on).ok()?,
                ))
            })
    }

    /// Records a sign-in or refresh: the (new) refresh token and the access token.
    pub(crate) fn store(
        &self,
        account: &Account,
        refresh_token: Option<&str>,
        resource: &str,
        token: &AccessToken,
    ) -> Result<(), CredentialError> {
        let mut state = self.lock();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let cached = CachedToken {
            token: token.token.clone(),
            expires_on: token.expires_on.unix_timestamp(),
        };
        match state.entries.iter_mut().find(|e| e.account == *account) {
            Some(e) => {
                if let Some(rt) = refresh_token {
                    e.refresh_token = rt.to_string();
                }
                e.access_tokens.insert(resource.to_string(), cached);
                e.last_used = now;
            }
            None => {
                let Some(rt) = refresh_token else {
                    return Err(CredentialError::InvalidResponse(
                        "the sign-in returned no refresh token (ask for offline_access)".into(),
                    ));
                };
                // One account per (authority, client): a new sign-in replaces the old one.
                let k = key(&account.authority, &account.client_id);
                state
                    .entries
                    .retain(|e| key(&e.account.authority, &e.account.client_id) != k);
                state.entries.push(Entry {
                    account: account.clone(),
                    refresh_token: rt.to_string(),
                    access_tokens: BTreeMap::from([(resource.to_string(), cached)]),
                    last_used: now,
                });
            }
        }
        self.save(&state)
    }

    /// Forgets an account's access tokens (a resource refused one).
    pub(crate) fn drop_access_token(&self, account: &Account, resource: &str) {
        let mut state = self.lock();
        if let Some(e) = state.entries.iter_mut().find(|e| e.account == *account) {
            e.access_tokens.remove(resource);
        }
    }

    /// Removes an account (sign out); `None` removes every account.
    pub fn remove(&self, account: Option<&Account>) -> Result<usize, CredentialError> {
        let mut state = self.lock();
        let before = state.entries.len();
        match account {
            Some(a) => state.entries.retain(|e| e.account != *a),
            None => state.entries.clear(),
        }
        let removed = before - state.entries.len();
        self.save(&state)?;
        Ok(removed)
    }

    fn save(&self, state: &CacheFile) -> Result<(), CredentialError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let io = |e: std::io::Error| {
            CredentialError::Cache(format!("cannot write {}: {e}", path.display()))
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let bytes =
            serde_json::to_vec_pretty(state).map_err(|e| CredentialError::Cache(e.to_string()))?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut f = options.open(&tmp).map_err(io)?;
            std::io::Write::write_all(&mut f, &bytes).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(name: &str) -> Account {
        Account {
            authority: "https://login.example".into(),
            client_id: "c1".into(),
            tenant_id: "t".into(),
            username: name.into(),
            object_id: "o".into(),
        }
    }

    #[test]
    fn persists_with_owner_only_permissions_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/cache.json");
        let cache = SignInCache::persistent(&path).unwrap();
        let a = account("alice@contoso.com");
        let tok = AccessToken::new("at1", OffsetDateTime::now_utc() + time::Duration::hours(1));
        cache.store(&a, Some("rt1"), "https://api", &tok).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let again = SignInCache::persistent(&path).unwrap();
        assert_eq!(
            again.account("https://login.example/", "C1"),
            Some(a.clone())
        );
        assert_eq!(again.refresh_token(&a).as_deref(), Some("rt1"));
        assert_eq!(
            again
                .access_token(&a, "https://api", std::time::Duration::from_secs(60))
                .unwrap()
                .token,
            "at1"
        );
        assert!(again
            .access_token(&a, "https://api", std::time::Duration::from_secs(7200))
            .is_none());
        // A new sign-in of another user replaces the account; sign-out removes it.
        let b = account("bob@contoso.com");
        again.store(&b, Some("rt2"), "https://api", &tok).unwrap();
        assert_eq!(again.accounts(), vec![b.clone()]);
        assert_eq!(again.remove(None).unwrap(), 1);
        assert!(SignInCache::persistent(&path)
            .unwrap()
            .accounts()
            .is_empty());
        std::fs::write(&path, b"garbage").unwrap();
        assert!(SignInCache::persistent(&path).is_err());
    }
}
