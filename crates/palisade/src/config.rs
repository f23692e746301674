//! The client configuration file and its named contexts, the way `kubectl config` works.
//!
//! `config.toml` (in `$XDG_CONFIG_HOME/palisade/`, else `$HOME/.config/palisade/`; or
//! `--config` / `PALISADE_CONFIG`) holds named contexts and the current one:
//!
//! ```toml
//! current_context = "demo"
//! [contexts.demo]
//! server = "https://localhost:8443"
//! ca_file = "/home/me/palisade-data/ca.pem"
//! tenant_id = "…"
//! client_id = "…"
//! data_dir = "/home/me/palisade-data"
//! ```
//!
//! Secrets (client secrets, certificate passwords) never go into it: they live in
//! `secrets.toml` beside it, mode 0600, keyed by context name, and no command prints them.
//! A file without contexts (the flat keys, as in `palisade-data/client.toml`) is one
//! unnamed context; there, as written by `serve --demo`, a `client_secret` key is read.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// File name of the config file in the config directory.
pub const CONFIG_FILE: &str = "config.toml";
/// File name of the secrets file beside the config file (mode 0600).
pub const SECRETS_FILE: &str = "secrets.toml";

/// What can go wrong with the config files.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// "reading" or "writing".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid TOML of the expected shape.
    #[error("parsing config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML error.
        #[source]
        source: toml::de::Error,
    },
    /// The configuration could not be serialised.
    #[error("writing config: {0}")]
    Serialize(#[from] toml::ser::Error),
    /// No context of that name.
    #[error("no context '{name}' in {path} (palisade context list)")]
    NoSuchContext {
        /// The name asked for.
        name: String,
        /// The config file.
        path: PathBuf,
    },
    /// Neither `HOME` nor `XDG_CONFIG_HOME` is set, and no `--config` was given.
    #[error("no config directory: set HOME or XDG_CONFIG_HOME, or pass --config")]
    NoHome,
}

/// The keys of one context (and of a flat config file). All optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ContextSettings {
    /// Palisade's base URL: the authority, the Defender API and the admin API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Token authority base URL (when not `server`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// Defender API base URL (when not `server`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Microsoft Graph base URL with version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph_api: Option<String>,
    /// The CA certificate that signs the server's certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Tenant id or domain (admin commands also accept its name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Application (client) id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Client certificate file (PEM with key, or .pfx/.p12).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<PathBuf>,
    /// Public client id for user sign-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_client_id: Option<String>,
    /// Token endpoint version, `v1` or `v2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_version: Option<String>,
    /// Data directory of a Palisade on this machine (its admin key and CA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Only read, from flat files such as `palisade-data/client.toml`; contexts keep their
    /// secrets in `secrets.toml`.
    #[serde(skip_serializing)]
    pub client_secret: Option<String>,
    /// Only read (flat files); see `client_secret`.
    #[serde(skip_serializing)]
    pub client_certificate_password: Option<String>,
}

impl ContextSettings {
    /// Fills every unset key from `other`.
    pub fn or(self, other: ContextSettings) -> ContextSettings {
        ContextSettings {
            server: self.server.or(other.server),
            authority: self.authority.or(other.authority),
            api: self.api.or(other.api),
            graph_api: self.graph_api.or(other.graph_api),
            ca_file: self.ca_file.or(other.ca_file),
            tenant_id: self.tenant_id.or(other.tenant_id),
            client_id: self.client_id.or(other.client_id),
            client_certificate: self.client_certificate.or(other.client_certificate),
            public_client_id: self.public_client_id.or(other.public_client_id),
            token_version: self.token_version.or(other.token_version),
            data_dir: self.data_dir.or(other.data_dir),
            client_secret: self.client_secret.or(other.client_secret),
            client_certificate_password: self
                .client_certificate_password
                .or(other.client_certificate_password),
        }
    }
}

/// The secrets of one context.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ContextSecrets {
    /// Client secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Password of a .pfx/.p12 client certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_certificate_password: Option<String>,
}

/// The config file's contents.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigFile {
    /// The context used when no `--context` is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    /// Named contexts.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub contexts: BTreeMap<String, ContextSettings>,
    /// Flat keys (a file without contexts, e.g. `client.toml`).
    #[serde(flatten)]
    pub flat: ContextSettings,
}

/// The config file and its secrets file, loaded.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the config file is (it may not exist yet).
    pub path: PathBuf,
    /// Its contents.
    pub file: ConfigFile,
    /// The secrets, by context name.
    pub secrets: BTreeMap<String, ContextSecrets>,
}

/// The config directory: `$XDG_CONFIG_HOME/palisade`, else `$HOME/.config/palisade`.
pub fn config_dir() -> Result<PathBuf, ConfigError> {
    let non_empty = |n: &str| std::env::var_os(n).filter(|v| !v.is_empty());
    if let Some(x) = non_empty("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(x).join("palisade"));
    }
    non_empty("HOME")
        .map(|h| PathBuf::from(h).join(".config").join("palisade"))
        .ok_or(ConfigError::NoHome)
}

/// The config file to use: `explicit` (`--config`), else `PALISADE_CONFIG`, else the
/// default in [`config_dir`].
pub fn config_path(explicit: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("PALISADE_CONFIG").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    Ok(config_dir()?.join(CONFIG_FILE))
}

fn read_toml<T: for<'de> Deserialize<'de> + Default>(path: &Path) -> Result<T, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(source) => Err(ConfigError::Io {
            action: "reading",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes `contents` to `path` with mode 0600, through a temporary file renamed into place.
fn write_private(path: &Path, contents: &str) -> Result<(), ConfigError> {
    let io = |source| ConfigError::Io {
        action: "writing",
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(io)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(io)?;
            }
        }
    }
    let tmp = path.with_extension("toml.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    {
        use std::io::Write;
        let mut f = options.open(&tmp).map_err(io)?;
        f.write_all(contents.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

impl Config {
    /// Loads the config file at `path` and its secrets file (missing files are empty).
    pub fn load(path: PathBuf) -> Result<Self, ConfigError> {
        let file = read_toml(&path)?;
        let secrets = read_toml(&Self::secrets_path_of(&path))?;
        Ok(Self {
            path,
            file,
            secrets,
        })
    }

    /// Loads the config file chosen by [`config_path`].
    pub fn load_default(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load(config_path(explicit)?)
    }

    fn secrets_path_of(path: &Path) -> PathBuf {
        path.with_file_name(SECRETS_FILE)
    }

    /// Where the secrets live.
    pub fn secrets_path(&self) -> PathBuf {
        Self::secrets_path_of(&self.path)
    }

    /// Saves both files (mode 0600).
    pub fn save(&self) -> Result<(), ConfigError> {
        write_private(&self.path, &toml::to_string(&self.file)?)?;
        let secrets = self.secrets_path();
        if !self.secrets.is_empty() || secrets.exists() {
            write_private(&secrets, &toml::to_string(&self.secrets)?)?;
        }
        Ok(())
    }

    /// The settings in force: the named context (`--context`/`PALISADE_CONTEXT`), else the
    /// current context, else the flat keys; a context's unset keys fall back to the flat
    /// keys. Secrets are filled in from the secrets file. Returns the context's name too.
    pub fn effective(
        &self,
        name: Option<&str>,
    ) -> Result<(Option<String>, ContextSettings), ConfigError> {
        let name = name
            .map(str::to_string)
            .or_else(|| self.file.current_context.clone());
        let Some(name) = name else {
            return Ok((None, self.file.flat.clone()));
        };
        let context =
            self.file
                .contexts
                .get(&name)
                .cloned()
                .ok_or_else(|| ConfigError::NoSuchContext {
                    name: name.clone(),
                    path: self.path.clone(),
                })?;
        let secrets = self.secrets.get(&name).cloned().unwrap_or_default();
        let with_secrets = ContextSettings {
            client_secret: secrets.client_secret,
            client_certificate_password: secrets.client_certificate_password,
            ..ContextSettings::default()
        };
        Ok((
            Some(name),
            with_secrets.or(context).or(self.file.flat.clone()),
        ))
    }

    /// Creates or replaces a context (its secret, if given, goes to the secrets file).
    pub fn put_context(&mut self, name: &str, mut settings: ContextSettings) {
        let secret = settings.client_secret.take();
        let password = settings.client_certificate_password.take();
        if secret.is_some() || password.is_some() {
            let entry = self.secrets.entry(name.to_string()).or_default();
            if secret.is_some() {
                entry.client_secret = secret;
            }
            if password.is_some() {
                entry.client_certificate_password = password;
            }
        }
        self.file.contexts.insert(name.to_string(), settings);
    }

    /// Removes a context and its secrets; it is no longer current.
    pub fn delete_context(&mut self, name: &str) -> Result<(), ConfigError> {
        if self.file.contexts.remove(name).is_none() {
            return Err(ConfigError::NoSuchContext {
                name: name.to_string(),
                path: self.path.clone(),
            });
        }
        self.secrets.remove(name);
        if self.file.current_context.as_deref() == Some(name) {
            self.file.current_context = None;
        }
        Ok(())
    }

    /// Makes `name` the current context.
    pub fn use_context(&mut self, name: &str) -> Result<(), ConfigError> {
        if !self.file.contexts.contains_key(name) {
            return Err(ConfigError::NoSuchContext {
                name: name.to_string(),
                path: self.path.clone(),
            });
        }
        self.file.current_context = Some(name.to_string());
        Ok(())
    }

    /// Whether the context has a stored secret.
    pub fn has_secret(&self, name: &str) -> bool {
        self.secrets
            .get(name)
            .is_some_and(|s| s.client_secret.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_round_trip_and_secrets_stay_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("palisade").join(CONFIG_FILE);
        let mut c = Config::load(path.clone()).unwrap();
        c.put_context(
            "demo",
            ContextSettings {
                server: Some("https://localhost:8443".into()),
                client_id: Some("app".into()),
                client_secret: Some("s3cret-value".into()),
                ..Default::default()
            },
        );
        c.use_context("demo").unwrap();
        c.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("s3cret-value"), "{text}");
        assert!(text.contains("current_context = \"demo\""), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for p in [&path, &c.secrets_path()] {
                let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", p.display());
            }
        }
        let again = Config::load(path).unwrap();
        let (name, s) = again.effective(None).unwrap();
        assert_eq!(name.as_deref(), Some("demo"));
        assert_eq!(s.client_secret.as_deref(), Some("s3cret-value"));
        assert!(matches!(
            again.effective(Some("nope")),
            Err(ConfigError::NoSuchContext { .. })
        ));
    }

    #[test]
    fn flat_file_is_one_unnamed_context() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.toml");
        std::fs::write(&path, "tenant_id = \"t\"\nclient_secret = \"x\"\n").unwrap();
        let (name, s) = Config::load(path).unwrap().effective(None).unwrap();
        assert_eq!(name, None);
        assert_eq!(s.tenant_id.as_deref(), Some("t"));
        assert_eq!(s.client_secret.as_deref(), Some("x"));
    }

    #[test]
    fn deleting_the_current_context_unsets_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Config::load(dir.path().join(CONFIG_FILE)).unwrap();
        c.put_context("a", ContextSettings::default());
        c.use_context("a").unwrap();
        c.delete_context("a").unwrap();
        assert_eq!(c.file.current_context, None);
        assert!(c.delete_context("a").is_err());
        assert!(c.use_context("a").is_err());
    }
}
