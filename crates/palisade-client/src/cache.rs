//! A token cache that wraps any [`TokenCredential`].
//!
//! - A token is handed out until `refresh_margin` (default 5 minutes) before it expires;
//!   then it is refreshed. An expired token is never handed out.
//! - Per scope, at most one refresh is in flight: concurrent callers wait for it and share
//!   its result (no stampede on the token endpoint).
//! - If a refresh fails while the cached token is still valid (inside the margin), the
//!   cached token is returned.
//! - [`TokenCredential::invalidate`] drops the cached token if it is the one that was
//!   rejected; a token already replaced by a refresh is left alone, so many callers hitting
//!   the same 401 cause one refresh, not many.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::future::BoxFuture;
use time::OffsetDateTime;

use crate::credential::{AccessToken, TokenCredential};
use crate::error::CredentialError;

/// Default time before expiry at which a cached token is refreshed.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(300);

type ClockFn = dyn Fn() -> OffsetDateTime + Send + Sync;

#[derive(Default)]
struct Slot {
    /// The cached token (short critical sections only).
    token: Mutex<Option<AccessToken>>,
    /// Held while a refresh for this scope is in flight.
    refresh: tokio::sync::Mutex<()>,
}

/// Caching wrapper around a credential; itself a [`TokenCredential`].
pub struct TokenCache<C> {
    inner: C,
    margin: Duration,
    clock: Arc<ClockFn>,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

impl<C: fmt::Debug> fmt::Debug for TokenCache<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("inner", &self.inner)
            .field("margin", &self.margin)
            .finish_non_exhaustive()
    }
}

impl<C: TokenCredential> TokenCache<C> {
    /// Wraps `inner` with the default 5-minute refresh margin and the system clock.
    pub fn new(inner: C) -> Self {
        Self {
            inner,
            margin: DEFAULT_REFRESH_MARGIN,
            clock: Arc::new(OffsetDateTime::now_utc),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Sets how long before expiry a token is refreshed.
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Replaces the clock (for tests that move time).
    pub fn with_clock(
        mut self,
        clock: impl Fn() -> OffsetDateTime + Send + Sync + 'static,
    ) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The wrapped credential.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// Drops every cached token.
    pub fn clear(&self) {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn slot(&self, scope: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.entry(scope.to_string()).or_default().clone()
    }

    fn fresh(&self, slot: &Slot) -> Option<AccessToken> {
        let now = (self.clock)();
        let guard = slot.token.lock().unwrap_or_else(PoisonError::into_inner);
        guard
            .as_ref()
            .filter(|t| t.expires_on - self.margin > now)
            .cloned()
    }

    async fn get(&self, scope: &str) -> Result<AccessToken, CredentialError> {
        let slot = self.slot(scope);
        if let Some(t) = self.fresh(&slot) {
            return Ok(t);
        }
        let _flight = slot.refresh.lock().await;
        // Another caller may have refreshed while we waited.
        if let Some(t) = self.fresh(&slot) {
            return Ok(t);
        }
        match self.inner.get_token(scope).await {
            Ok(token) => {
                *slot.token.lock().unwrap_or_else(PoisonError::into_inner) = Some(token.clone());
                Ok(token)
            }
            Err(e) => {
                let now = (self.clock)();
                let still_valid = slot
                    .token
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .as_ref()
                    .filter(|t| t.expires_on > now)
                    .cloned();
                match still_valid {
                    Some(t) => {
                        tracing::warn!(error = %e, "token refresh failed; using the cached token until it expires");
                        Ok(t)
                    }
                    None => Err(e),
                }
            }
        }
    }
}

impl<C: TokenCredential> TokenCredential for TokenCache<C> {
    fn get_token<'a>(
        &'a self,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, CredentialError>> {
        Box::pin(self.get(scope))
    }

    fn invalidate(&self, scope: &str, token: &AccessToken) {
        let slot = self.slot(scope);
        let mut cached = slot.token.lock().unwrap_or_else(PoisonError::into_inner);
        if cached.as_ref().is_some_and(|t| t.token == token.token) {
            *cached = None;
        }
        drop(cached);
        self.inner.invalidate(scope, token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use time::macros::datetime;

    struct Counting {
        calls: AtomicUsize,
        lifetime: Duration,
        now: Arc<Mutex<OffsetDateTime>>,
        fail: std::sync::atomic::AtomicBool,
    }

    impl TokenCredential for Counting {
        fn get_token<'a>(
            &'a self,
            _scope: &'a str,
        ) -> BoxFuture<'a, Result<AccessToken, CredentialError>> {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                if self.fail.load(Ordering::SeqCst) {
                    return Err(CredentialError::InvalidResponse("down".into()));
                }
                let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
                let now = *self.now.lock().unwrap_or_else(PoisonError::into_inner);
                Ok(AccessToken::new(format!("t{n}"), now + self.lifetime))
            })
        }
    }

    fn setup(lifetime: Duration) -> (Arc<TokenCache<Counting>>, Arc<Mutex<OffsetDateTime>>) {
        let now = Arc::new(Mutex::new(datetime!(2024-01-01 00:00:00 UTC)));
        let cred = Counting {
            calls: AtomicUsize::new(0),
            lifetime,
            now: now.clone(),
            fail: false.into(),
        };
        let clock = now.clone();
        let cache = TokenCache::new(cred)
            .with_clock(move || *clock.lock().unwrap_or_else(PoisonError::into_inner));
        (Arc::new(cache), now)
    }

    #[tokio::test]
    async fn single_flight_and_refresh_before_expiry() {
        let (cache, now) = setup(Duration::from_secs(3600));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let c = cache.clone();
                tokio::spawn(async move { c.get_token("r").await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.expect("join").expect("token").token, "t1");
        }
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 1);

        // 54 minutes later: still outside the 5-minute margin.
        *now.lock().expect("clock") += Duration::from_secs(54 * 60);
        assert_eq!(cache.get_token("r").await.expect("t").token, "t1");
        // 56 minutes: inside the margin -> refresh.
        *now.lock().expect("clock") += Duration::from_secs(2 * 60);
        assert_eq!(cache.get_token("r").await.expect("t").token, "t2");
        // Another scope has its own token.
        assert_eq!(cache.get_token("other").await.expect("t").token, "t3");
    }

    #[tokio::test]
    async fn invalidate_only_the_rejected_token() {
        let (cache, _now) = setup(Duration::from_secs(3600));
        let t1 = cache.get_token("r").await.expect("t");
        cache.invalidate("r", &t1);
        let t2 = cache.get_token("r").await.expect("t");
        assert_eq!(t2.token, "t2");
        // A second report about t1 must not throw away t2.
        cache.invalidate("r", &t1);
        assert_eq!(cache.get_token("r").await.expect("t").token, "t2");
    }

    #[tokio::test]
    async fn failed_refresh_falls_back_only_while_valid() {
        let (cache, now) = setup(Duration::from_secs(3600));
        assert_eq!(cache.get_token("r").await.expect("t").token, "t1");
        cache.inner().fail.store(true, Ordering::SeqCst);
        *now.lock().expect("clock") += Duration::from_secs(58 * 60);
        assert_eq!(cache.get_token("r").await.expect("t").token, "t1");
        *now.lock().expect("clock") += Duration::from_secs(3 * 60);
        assert!(cache.get_token("r").await.is_err());
    }
}
