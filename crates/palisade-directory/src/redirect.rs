//! Redirect URIs: what may be registered, and how a presented URI matches a registered
//! one (identity.md §7.3).
//!
//! - Registration: an absolute URI without fragment or wildcard, at most 256 characters;
//!   `https`, or `http` only on a loopback host (`localhost`, `127.0.0.1`, `[::1]`);
//!   mobile and desktop (public client) URIs may also use a custom scheme
//!   (`myapp://auth`, `msal{client id}://auth`).
//! - Matching is exact, except that a registered loopback URI matches the same URI on
//!   any port (RFC 8252 §7.3, as Entra does for `http://localhost`).

use crate::model::Application;

/// The platform a redirect URI is registered under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// Web (`web.redirectUris`).
    Web,
    /// Single-page application (`spa.redirectUris`): PKCE and CORS, 24-hour refresh tokens.
    Spa,
    /// Mobile and desktop (`publicClient.redirectUris`).
    PublicClient,
}

const MAX_LEN: usize = 256;

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// Checks a redirect URI for registration.
pub fn check_redirect_uri(uri: &str, public_client: bool) -> Result<(), String> {
    let bad = |why: &str| Err(format!("redirect URI '{uri}' is not valid: {why}"));
    if uri.len() > MAX_LEN {
        return bad("longer than 256 characters");
    }
    if uri.contains('*') {
        return bad("wildcards are not allowed");
    }
    let Ok(parsed) = url::Url::parse(uri) else {
        return bad("not an absolute URI");
    };
    if parsed.fragment().is_some() {
        return bad("a fragment is not allowed");
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if parsed.host_str().is_some_and(is_loopback) => Ok(()),
        "http" => bad("http is only allowed for localhost"),
        "javascript" | "data" | "file" | "vbscript" => bad("this scheme is not allowed"),
        _ if public_client => Ok(()),
        _ => bad("web and SPA redirect URIs must use https"),
    }
}

/// Whether a presented redirect URI matches a registered one.
pub fn redirect_uri_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    let (Ok(r), Ok(p)) = (url::Url::parse(registered), url::Url::parse(presented)) else {
        return false;
    };
    r.scheme() == "http"
        && p.scheme() == "http"
        && r.host_str().is_some_and(is_loopback)
        && r.host_str() == p.host_str()
        && r.path() == p.path()
        && r.query() == p.query()
        && p.fragment().is_none()
        && r.username().is_empty()
        && p.username().is_empty()
        && p.password().is_none()
}

impl Application {
    /// The platform under which `presented` is registered, if it is.
    pub fn redirect_kind(&self, presented: &str) -> Option<RedirectKind> {
        let d = &self.definition;
        let hit = |list: &[String]| list.iter().any(|r| redirect_uri_matches(r, presented));
        if hit(&d.spa_redirect_uris) {
            Some(RedirectKind::Spa)
        } else if hit(&d.web_redirect_uris) {
            Some(RedirectKind::Web)
        } else if hit(&d.public_client_redirect_uris) {
            Some(RedirectKind::PublicClient)
        } else {
            None
        }
    }

    /// The first registered redirect URI (v1 authorize requests without one use it).
    pub fn default_redirect_uri(&self) -> Option<&str> {
        let d = &self.definition;
        d.web_redirect_uris
            .iter()
            .chain(&d.public_client_redirect_uris)
            .chain(&d.spa_redirect_uris)
            .next()
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_rules() {
        assert!(check_redirect_uri("https://app.contoso.com/cb", false).is_ok());
        assert!(check_redirect_uri("http://localhost", false).is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:8400/cb", true).is_ok());
        assert!(check_redirect_uri(
            "https://login.microsoftonline.com/common/oauth2/nativeclient",
            true
        )
        .is_ok());
        assert!(check_redirect_uri("myapp://auth", true).is_ok());
        assert!(check_redirect_uri("myapp://auth", false).is_err());
        assert!(check_redirect_uri("http://evil.example/cb", true).is_err());
        assert!(check_redirect_uri("https://a/*", false).is_err());
        assert!(check_redirect_uri("https://a/cb#x", false).is_err());
        assert!(check_redirect_uri("javascript:alert(1)", true).is_err());
        assert!(check_redirect_uri("/relative", true).is_err());
    }

    #[test]
    fn matching_is_exact_but_loopback_ports_are_free() {
        assert!(redirect_uri_matches("https://a.com/cb", "https://a.com/cb"));
        assert!(!redirect_uri_matches(
            "https://a.com/cb",
            "https://a.com/cb/"
        ));
        assert!(!redirect_uri_matches(
            "https://a.com/cb",
            "https://a.com:8443/cb"
        ));
        assert!(!redirect_uri_matches(
            "https://a.com/cb",
            "https://A.com/CB"
        ));
        assert!(redirect_uri_matches(
            "http://localhost",
            "http://localhost:51234"
        ));
        assert!(redirect_uri_matches(
            "http://localhost",
            "http://localhost:51234/"
        ));
        assert!(redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:9/cb"
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:9/other"
        ));
        assert!(!redirect_uri_matches(
            "http://localhost",
            "http://localhost.evil.com:80"
        ));
        assert!(!redirect_uri_matches(
            "http://localhost",
            "http://user@localhost:80"
        ));
        assert!(!redirect_uri_matches(
            "http://localhost",
            "https://localhost:443"
        ));
    }
}
