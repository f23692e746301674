//! User (delegated) credentials. Each first looks in its [`SignInCache`] (a valid access
//! token, else a silent refresh with the account's refresh token) and only then signs in:
//!
//! - [`DeviceCodeCredential`]: shows a code (through a callback) to type at the device
//!   login page, and polls;
//! - [`InteractiveBrowserCredential`]: opens the system browser on the authorize page, with
//!   PKCE and a loopback redirect to `http://127.0.0.1:{random port}`;
//! - [`UsernamePasswordCredential`]: the resource owner password credentials grant;
//! - [`AuthorizationCodeCredential`]: redeems a code obtained elsewhere;
//! - [`SignedInUserCredential`]: only the cache (what `palisade login` left);
//! - [`DefaultCredential`]: the environment's app credential, else the signed-in user.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::credential::{AccessToken, EnvironmentCredential, TokenCredential};
use crate::error::CredentialError;
use crate::user::cache::{Account, SignInCache};
use crate::user::client::{pkce_pair, resource_key, DeviceCodeInfo, PublicClient, UserTokens};

/// Tokens closer than this to their expiry are refreshed.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// The cache-then-refresh part every user credential shares.
struct Session {
    client: PublicClient,
    cache: Arc<SignInCache>,
    /// One acquisition at a time per credential (no refresh stampede).
    gate: tokio::sync::Mutex<()>,
}

impl Session {
    fn new(client: PublicClient, cache: Option<Arc<SignInCache>>) -> Self {
        Session {
            client,
            cache: cache.unwrap_or_else(|| Arc::new(SignInCache::in_memory())),
            gate: tokio::sync::Mutex::new(()),
        }
    }

    fn account(&self) -> Option<Account> {
        self.cache
            .account(self.client.authority(), self.client.client_id())
    }

    /// A cached or silently refreshed token; `Ok(None)` when there is no account; the
    /// refresh's error when the refresh token no longer works.
    async fn silent(&self, resource: &str) -> Result<Option<AccessToken>, CredentialError> {
        let Some(account) = self.account() else {
            return Ok(None);
        };
        let key = resource_key(resource);
        if let Some(t) = self.cache.access_token(&account, &key, REFRESH_MARGIN) {
            return Ok(Some(t));
        }
        let Some(rt) = self.cache.refresh_token(&account) else {
            return Ok(None);
        };
        let tokens = self.client.refresh(&account, &rt, resource).await?;
        self.remember(&tokens, resource)?;
        Ok(Some(tokens.access))
    }

    fn remember(&self, tokens: &UserTokens, resource: &str) -> Result<(), CredentialError> {
        self.cache.store(
            &tokens.account,
            tokens.refresh_token.as_deref(),
            &resource_key(resource),
            &tokens.access,
        )
    }

    /// Silent first; `sign_in` when there is nothing to refresh or the refresh was refused
    /// (revoked, expired).
    async fn get<'a, F>(
        &'a self,
        resource: &'a str,
        sign_in: F,
    ) -> Result<AccessToken, CredentialError>
    where
        F: FnOnce() -> BoxFuture<'a, Result<UserTokens, CredentialError>>,
    {
        let _gate = self.gate.lock().await;
        match self.silent(resource).await {
            Ok(Some(t)) => return Ok(t),
            Ok(None) => {}
            Err(CredentialError::Entra(e))
                if e.error == "invalid_grant" || e.error == "interaction_required" =>
            {
                tracing::debug!(error = %e, "silent refresh refused; signing in again");
            }
            Err(e) => return Err(e),
        }
        let tokens = sign_in().await?;
        self.remember(&tokens, resource)?;
        Ok(tokens.access)
    }

    fn invalidate(&self, scope: &str) {
        if let Some(a) = self.account() {
            self.cache.drop_access_token(&a, &resource_key(scope));
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("client", &self.client)
            .field("cache", &self.cache.path())
            .finish_non_exhaustive()
    }
}

type Prompt = Arc<dyn Fn(&DeviceCodeInfo) + Send + Sync>;

/// Signs a user in with the device code flow.
pub struct DeviceCodeCredential {
    session: Session,
    prompt: Prompt,
}

impl fmt::Debug for DeviceCodeCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCodeCredential")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl DeviceCodeCredential {
    /// A credential printing the server's message to standard error.
    pub fn new(client: PublicClient) -> Self {
        DeviceCodeCredential {
            session: Session::new(client, None),
            prompt: Arc::new(|info: &DeviceCodeInfo| eprintln!("{}", info.message)),
        }
    }

    /// Keeps the sign-in in `cache` (e.g. a persistent one).
    pub fn with_cache(mut self, cache: Arc<SignInCache>) -> Self {
        self.session = Session::new(self.session.client.clone(), Some(cache));
        self
    }

    /// Replaces how the code is shown to the user.
    pub fn on_prompt(mut self, f: impl Fn(&DeviceCodeInfo) + Send + Sync + 'static) -> Self {
        self.prompt = Arc::new(f);
        self
    }

    /// The account signed in, if any.
    pub fn account(&self) -> Option<Account> {
        self.session.account()
    }
}

impl TokenCredential for DeviceCodeCredential {
    fn get_token<'a>(
        &'a self,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, CredentialError>> {
        Box::pin(self.session.get(scope, move || {
            Box::pin(async move {
                let info = self.session.client.start_device_code(scope).await?;
                (self.prompt)(&info);
                self.session.client.finish_device_code(&info).await
            })
        }))
    }

    fn invalidate(&self, scope: &str, _token: &AccessToken) {
        self.session.invalidate(scope);
    }
}

type Opener = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// Opens `url` in the system's browser.
pub fn open_system_browser(url: &str) -> Result<(), String> {
    let candidates: &[(&str, &[&str])] = if cfg!(target_os = "macos") {
        &[("open", &[])]
    } else if cfg!(windows) {
        &[("cmd", &["/C", "start", ""])]
    } else {
        &[
            ("xdg-open", &[]),
            ("gio", &["open"]),
            ("sensible-browser", &[]),
        ]
    };
    for (program, args) in candidates {
        if std::process::Command::new(program)
            .args(*args)
            .arg(url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .is_ok()
        {
            return Ok(());
        }
    }
    Err("no browser could be started".into())
}

/// Signs a user in through the system browser: the authorize page with PKCE (S256) and
/// a `state`, redirecting to a one-shot listener on `http://127.0.0.1:{random port}`.
pub struct InteractiveBrowserCredential {
    session: Session,
    opener: Opener,
    timeout: Duration,
    login_hint: Option<String>,
}

impl fmt::Debug for InteractiveBrowserCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InteractiveBrowserCredential")
            .field("session", &self.session)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl InteractiveBrowserCredential {
    /// A credential opening the system browser, waiting up to 5 minutes.
    pub fn new(client: PublicClient) -> Self {
        InteractiveBrowserCredential {
            session: Session::new(client, None),
            opener: Arc::new(open_system_browser),
            timeout: Duration::from_secs(300),
            login_hint: None,
        }
    }

    /// Keeps the sign-in in `cache`.
    pub fn with_cache(mut self, cache: Arc<SignInCache>) -> Self {
        self.session = Session::new(self.session.client.clone(), Some(cache));
        self
    }

    /// Replaces how the authorize URL is opened (print it, drive a test browser, …).
    pub fn with_opener(
        mut self,
        f: impl Fn(&str) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.opener = Arc::new(f);
        self
    }

    /// How long to wait for the browser to come back.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Prefills the username.
    pub fn with_login_hint(mut self, hint: impl Into<String>) -> Self {
        self.login_hint = Some(hint.into());
        self
    }

    /// The account signed in, if any.
    pub fn account(&self) -> Option<Account> {
        self.session.account()
    }

    async fn browser_sign_in(&self, resource: &str) -> Result<UserTokens, CredentialError> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| {
                CredentialError::Interaction(format!("cannot listen on 127.0.0.1: {e}"))
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| CredentialError::Interaction(e.to_string()))?
            .port();
        let redirect_uri = format!("http://127.0.0.1:{port}");
        let (verifier, challenge) = pkce_pair();
        let state = crate::user::client::pkce_pair().0;
        let url = self.session.client.authorize_url(
            &redirect_uri,
            resource,
            &state,
            &challenge,
            self.login_hint.as_deref(),
        );
        (self.opener)(&url).map_err(|e| {
            CredentialError::Interaction(format!(
                "cannot open the browser ({e}); open this URL yourself: {url}"
            ))
        })?;
        let params = tokio::time::timeout(self.timeout, wait_for_redirect(&listener, &state))
            .await
            .map_err(|_| CredentialError::Interaction("the browser sign-in timed out".into()))??;
        if let Some(error) = params.get("error") {
            return Err(CredentialError::Interaction(format!(
                "{error}: {}",
                params
                    .get("error_description")
                    .map(String::as_str)
                    .unwrap_or("")
            )));
        }
        let code = params
            .get("code")
            .ok_or_else(|| CredentialError::Interaction("the redirect carried no code".into()))?;
        self.session
            .client
            .redeem_code(code, &redirect_uri, Some(&verifier), None, resource)
            .await
    }
}

/// Serves the loopback redirect: answers every request, returns the parameters of the
/// first one carrying our `state` (others, e.g. favicon requests, get a 404).
async fn wait_for_redirect(
    listener: &tokio::net::TcpListener,
    state: &str,
) -> Result<std::collections::HashMap<String, String>, CredentialError> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| CredentialError::Interaction(e.to_string()))?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 2048];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|e| CredentialError::Interaction(e.to_string()))?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let head = String::from_utf8_lossy(&buf);
        let target = head
            .lines()
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .unwrap_or("/")
            .to_string();
        let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
        let params: std::collections::HashMap<String, String> =
            serde_urlencoded::from_str(query).unwrap_or_default();
        let ours = params.get("state").map(String::as_str) == Some(state);
        let (status, body) = if ours && params.contains_key("code") {
            ("200 OK", "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Signed in</title></head><body style=\"font-family:sans-serif\"><h1>Sign-in complete</h1><p>You can close this window and return to the application.</p></body></html>")
        } else if ours {
            ("200 OK", "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sign-in failed</title></head><body style=\"font-family:sans-serif\"><h1>Sign-in failed</h1><p>Return to the application for details.</p></body></html>")
        } else {
            ("404 Not Found", "")
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
        if ours {
            return Ok(params);
        }
    }
}

impl TokenCredential for InteractiveBrowserCredential {
    fn get_token<'a>(
        &'a self,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, CredentialError>> {
        Box::pin(
            self.session
                .get(scope, move || Box::pin(self.browser_sign_in(scope))),
        )
    }

    fn invalidate(&self, scope: &str, _token: &AccessToken) {
        self.session.invalidate(scope);
    }
}

/// Signs a user in with a username and password (ROPC; no MFA, no federated users).
pub struct UsernamePasswordCredential {
    session: Session,
    username: String,
    password: String,
}

impl fmt::Debug for UsernamePasswordCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsernamePasswordCredential")
            .field("session", &self.session)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl UsernamePasswordCredential {
    /// A credential for one user.
    pub fn new(
        client: PublicClient,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        UsernamePasswordCredential {
            session: Session::new(client, None),
            username: username.into(),
            password: password.into(),
        }
    }

    /// Keeps the sign-in in `cache`.
    pub fn with_cache(mut self, cache: Arc<SignInCache>) -> Self {
        self.session = Session::new(self.session.client.clone(), Some(cache));
        self
    }

    /// The account signed in, if any.
    pub fn account(&self) -> Option<Account> {
        self.session.account()
    }
}

impl TokenCredential for UsernamePasswordCredential {
    fn get_token<'a>(
        &'a self,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, CredentialError>> {
        Box::pin(self.session.get(scope, move || {
            Box::pin(self.session.client.sign_in_with_password(
                &self.username,
                &self.password,
                scope,
            ))
        }))
    }

    fn invalidate(&self, scope: &str, _token: &AccessToken) {
        self.session.invalidate(scope);
    }
}

/// Redeems an authorization code obtained by the caller (e.g. a web app's redirect); the
/// code works once, later tokens come from the refresh token.
pub struct AuthorizationCodeCredential {
    session: Session,
    code: std::sync::Mutex<Option<String>>,
    redirect_uri: String,
    verifier: Option<String>,
    client_secret: Option<String>,
}

impl fmt::Debug for AuthorizationCodeCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationCodeCredential")
            .field("session", &self.session)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl AuthorizationCodeCredential {
    /// A credential for one code, its redirect URI and its PKCE verifier.
    pub fn new(
        client: PublicClient,
        code: impl Into<String>,
        redirect_uri: impl Into<String>,
        verifier: Option<String>,
    ) -> Self {
        AuthorizationCodeCredential {
            session: Session::new(client, None),
            code: std::sync::Mutex::new(Some(code.into())),
            redirect_uri: redirect_uri.into(),
            verifier,
            client_secret: None,
        }
    }

    /// For a confidential (web) app: its client secret.
    pub fn with_client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Keeps the sign-in in `cache`.
    pub fn with_cache(mut self, cache: Arc<SignInCache>) -> Self {
        self.session = Session::new(self.session.client.clone(), Some(cache));
        self
    }
}

impl TokenCredential for AuthorizationCodeCredential {
    fn get_token<'a>(
        &'a self,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, CredentialError>> {
        Box::pin(self.session.get(scope, move || {
            Box::pin(async move {
                let code = self
                    .code
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take()
                    .ok_or(CredentialError::NotSignedIn(
                        "the authorization code was already redeemed and no refresh token is left"
                            .into(),
                    ))?;
                self.session
                    .client
                    .redeem_code(
                        &code,
                        &self.redirect_uri,
                        self.verifier.as_deref(),
                        self.client_secret.as_deref(),
                        scope,
                    )
                    .await
            })
        }))
    }

    fn invalidate(&self, scope: &str, _token: &AccessToken) {
        self.session.invalidate(scope);
    }
}

/// The user signed in earlier (by `palisade login`, or any credential sharing the cache):
/// tokens from the cache and silent refreshes only.
#[derive(Debug)]
pub struct SignedInUserCredential {
    session: Session,
}

impl SignedInUserCredential {
    /// The most recent account of the cache; `None` when nobody is signed in.
    pub fn from_cache(
        cache: Arc<SignInCache>,
        http: Option<reqwest::Client>,
    ) -> Result<Option<Self>, CredentialError> {
        let Some(account) = cache.accounts().into_iter().next() else {
            return Ok(None);
        };
        let tenant = if account.tenant_id.is_empty() {
            "organizations".to_string()
        } else {
            account.tenant_id.clone()
        };
        let client =
            PublicClient::new(Some(&account.authority), &tenant, &account.client_id, http)?;
        Ok(Some(SignedInUserCredential {
            session: Session::new(client, Some(cache)),
        }))
    }

    /// The account.
    pub fn account(&self) -> Option<Account> {
        self.session.account()
    }
}

impl TokenCredential for SignedInUserCredential {
    fn get_token<'a>(
        &'a self,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, CredentialError>> {
        Box::pin(self.session.get(scope, || {
            Box::pin(async {
                Err(CredentialError::NotSignedIn(
                    "the sign-in has expired or was revoked; sign in again (palisade login)".into(),
                ))
            })
        }))
    }

    fn invalidate(&self, scope: &str, _token: &AccessToken) {
        self.session.invalidate(scope);
    }
}

/// `DefaultAzureCredential`-style chain: the environment's app credential
/// (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`), else the user signed in
/// in the persisted cache.
#[derive(Debug)]
pub enum DefaultCredential {
    /// From the environment.
    Environment(EnvironmentCredential),
    /// The signed-in user.
    SignedIn(SignedInUserCredential),
}

impl DefaultCredential {
    /// Picks the first available source; `NotSignedIn` names what was tried.
    pub fn new(
        cache: Arc<SignInCache>,
        http: Option<reqwest::Client>,
    ) -> Result<Self, CredentialError> {
        match EnvironmentCredential::builder() {
            Ok(mut builder) => {
                if let Some(h) = http.clone() {
                    builder = builder.http_client(h);
                }
                return Ok(DefaultCredential::Environment(builder.build()?.into()));
            }
            Err(CredentialError::MissingEnvironmentVariable(_)) => {}
            Err(e) => return Err(e),
        }
        match SignedInUserCredential::from_cache(cache, http)? {
            Some(c) => Ok(DefaultCredential::SignedIn(c)),
            None => Err(CredentialError::NotSignedIn(
                "no credential: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or sign in (palisade login)".into(),
            )),
        }
    }
}

impl TokenCredential for DefaultCredential {
    fn get_token<'a>(
        &'a self,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, CredentialError>> {
        match self {
            DefaultCredential::Environment(c) => c.get_token(scope),
            DefaultCredential::SignedIn(c) => c.get_token(scope),
        }
    }

    fn invalidate(&self, scope: &str, token: &AccessToken) {
        match self {
            DefaultCredential::Environment(c) => c.invalidate(scope, token),
            DefaultCredential::SignedIn(c) => c.invalidate(scope, token),
        }
    }
}
