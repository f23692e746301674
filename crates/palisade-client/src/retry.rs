//! Retry policy for API calls: 429 and 5xx are retried, honouring `Retry-After`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;

/// How API calls are retried.
///
/// A response with status 429 or 5xx (or a connection failure) is retried at most
/// `max_retries` times. The wait is the server's `Retry-After` when sent, otherwise an
/// exponential backoff (`initial_backoff`, doubled per attempt, capped at `max_backoff`).
/// The sum of all waits of one call never exceeds `max_total_wait`: when the next wait would
/// pass it, the call fails with the last error (which carries the `Retry-After`). Other 4xx
/// responses are never retried, and a call that is not safe to repeat (an incident update
/// that adds a comment) is not retried after a 5xx, which may come after it took effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 3).
    pub max_retries: u32,
    /// Upper bound of the total waiting time of one call (default 60 s).
    pub max_total_wait: Duration,
    /// First backoff when the server sent no `Retry-After` (default 1 s).
    pub initial_backoff: Duration,
    /// Backoff cap (default 30 s).
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            max_total_wait: Duration::from_secs(60),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The backoff before retry number `retry` (0-based) without a server hint.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// True for statuses worth retrying.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// True for transport failures worth retrying: the connection could not be made or was
/// dropped (refused, reset, timed out). TLS failures such as an untrusted certificate are
/// not retried.
pub(crate) fn is_transient_transport(err: &reqwest::Error) -> bool {
    if !err.is_connect() {
        return false;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            return matches!(
                io.kind(),
                ConnectionRefused | ConnectionReset | ConnectionAborted | TimedOut | NotConnected
            );
        }
        source = e.source();
    }
    false
}

/// Parses `Retry-After`: delta-seconds, or an HTTP date relative to `now`.
pub(crate) fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs));
        }
    }
    let date = OffsetDateTime::parse(value, &Rfc2822).ok()?;
    let delta = date - now;
    Some(if delta.is_positive() {
        delta.unsigned_abs()
    } else {
        Duration::ZERO
    })
}

/// An async sleep function; injectable so tests need not wait.
#[derive(Clone)]
pub struct Sleeper(Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>);

impl Sleeper {
    /// Wraps a sleep function.
    pub fn new(f: impl Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// `tokio::time::sleep`.
    pub fn tokio() -> Self {
        Self::new(|d| Box::pin(tokio::time::sleep(d)))
    }

    pub(crate) fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        (self.0)(d)
    }
}

impl Default for Sleeper {
    fn default() -> Self {
        Self::tokio()
    }
}

impl fmt::Debug for Sleeper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sleeper")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(0), Duration::from_secs(1));
        assert_eq!(p.backoff(1), Duration::from_secs(2));
        assert_eq!(p.backoff(4), Duration::from_secs(16));
        assert_eq!(p.backoff(5), Duration::from_secs(30));
        assert_eq!(p.backoff(100), Duration::from_secs(30));
    }

    #[test]
    fn retry_after_forms() {
        let now = datetime!(2015-10-21 07:28:00 UTC);
        assert_eq!(parse_retry_after("5", now), Some(Duration::from_secs(5)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn retryable_statuses() {
        assert!(is_retryable_status(429));
        assert!(is_retryable_status(503));
        assert!(!is_retryable_status(400));
        assert!(!is_retryable_status(401));
        assert!(!is_retryable_status(404));
    }
}
