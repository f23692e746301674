//! Call quotas per (tenant, application, operation), spec §11. Fixed windows that start at
//! the first call and follow the injected clock.

use crate::permissions::Operation;
use std::collections::HashMap;
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

/// One limit: at most `max_calls` per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaLimit {
    /// Calls allowed in a window.
    pub max_calls: u32,
    /// The window length.
    pub window: Duration,
}

impl QuotaLimit {
    /// `max_calls` per minute.
    pub const fn per_minute(max_calls: u32) -> Self {
        Self {
            max_calls,
            window: Duration::MINUTE,
        }
    }

    /// `max_calls` per hour.
    pub const fn per_hour(max_calls: u32) -> Self {
        Self {
            max_calls,
            window: Duration::HOUR,
        }
    }
}

/// Quota configuration. The default is the documented one: list and update 50/min and
/// 1,500/h, get 100/min and 1,500/h, each per (tenant, app).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaConfig {
    /// When false no call is ever throttled.
    pub enabled: bool,
    /// Limits for `GET /api/incidents`.
    pub list_incidents: Vec<QuotaLimit>,
    /// Limits for `GET /api/incidents/{id}`.
    pub get_incident: Vec<QuotaLimit>,
    /// Limits for `PATCH /api/incidents/{id}`.
    pub update_incident: Vec<QuotaLimit>,
    /// Limits for `POST /api/advancedhunting/run`, counted per tenant (all apps together).
    pub hunting: Vec<QuotaLimit>,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            list_incidents: vec![QuotaLimit::per_minute(50), QuotaLimit::per_hour(1500)],
            get_incident: vec![QuotaLimit::per_minute(100), QuotaLimit::per_hour(1500)],
            update_incident: vec![QuotaLimit::per_minute(50), QuotaLimit::per_hour(1500)],
            hunting: vec![QuotaLimit::per_minute(45)],
        }
    }
}

impl QuotaConfig {
    /// No throttling at all.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// The limits for an operation.
    pub fn limits(&self, op: Operation) -> &[QuotaLimit] {
        match op {
            Operation::ListIncidents => &self.list_incidents,
            Operation::GetIncident => &self.get_incident,
            Operation::UpdateIncident => &self.update_incident,
            Operation::RunHuntingQuery => &self.hunting,
        }
    }
}

/// A refused call: which limit, and when calls may resume.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("API calls quota exceeded! maximum allowed {max_calls} per {window}")]
pub struct QuotaExceeded {
    /// The limit hit.
    pub max_calls: u32,
    /// The window as a .NET TimeSpan string, e.g. `00:01:00`.
    pub window: String,
    /// Whole seconds until the window resets (at least 1).
    pub retry_after_secs: u64,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: OffsetDateTime,
    count: u32,
}

type Key = (String, String, Operation);

/// Counts calls and refuses those over quota.
#[derive(Debug)]
pub struct QuotaTracker {
    config: QuotaConfig,
    windows: Mutex<HashMap<Key, Vec<Window>>>,
}

/// Entries kept before stale ones are swept.
const SWEEP_THRESHOLD: usize = 10_000;

impl QuotaTracker {
    /// A tracker enforcing `config`.
    pub fn new(config: QuotaConfig) -> Self {
        Self {
            config,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Records one call by `app_id` in `tenant_id` at `now`, or refuses it. Refused calls
    /// are not counted.
    pub fn check(
        &self,
        tenant_id: &str,
        app_id: &str,
        op: Operation,
        now: OffsetDateTime,
    ) -> Result<(), QuotaExceeded> {
        if !self.config.enabled {
            return Ok(());
        }
        let limits = self.config.limits(op);
        if limits.is_empty() {
            return Ok(());
        }
        let mut map = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= SWEEP_THRESHOLD {
            let longest = limits
                .iter()
                .map(|l| l.window)
                .max()
                .unwrap_or(Duration::HOUR);
            map.retain(|_, ws| ws.iter().any(|w| now - w.start < longest));
        }
        let windows = map
            .entry((tenant_id.to_string(), app_id.to_string(), op))
            .or_insert_with(|| {
                limits
                    .iter()
                    .map(|_| Window {
                        start: now,
                        count: 0,
                    })
                    .collect()
            });
        if windows.len() != limits.len() {
            *windows = limits
                .iter()
                .map(|_| Window {
                    start: now,
                    count: 0,
                })
                .collect();
        }
        let mut refused: Option<QuotaExceeded> = None;
        for (w, limit) in windows.iter_mut().zip(limits) {
            if now < w.start || now - w.start >= limit.window {
                *w = Window {
                    start: now,
                    count: 0,
                };
            }
            if w.count >= limit.max_calls {
                let remaining = (w.start + limit.window) - now;
                let secs =
                    remaining.whole_seconds() + i64::from(remaining.subsec_nanoseconds() > 0);
                let retry = u64::try_from(secs.max(1)).unwrap_or(1);
                if refused.as_ref().is_none_or(|r| retry > r.retry_after_secs) {
                    refused = Some(QuotaExceeded {
                        max_calls: limit.max_calls,
                        window: timespan(limit.window),
                        retry_after_secs: retry,
                    });
                }
            }
        }
        if let Some(r) = refused {
            return Err(r);
        }
        for w in windows.iter_mut() {
            w.count += 1;
        }
        Ok(())
    }
}

/// Formats a duration as a .NET TimeSpan (`hh:mm:ss`, `d.hh:mm:ss` beyond a day).
fn timespan(d: Duration) -> String {
    let total = d.whole_seconds().max(0);
    let (days, rest) = (total / 86_400, total % 86_400);
    let (h, m, s) = (rest / 3600, (rest % 3600) / 60, rest % 60);
    if days > 0 {
        format!("{days}.{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_clock::{Clock, ManualClock};

    #[test]
    fn timespans() {
        assert_eq!(timespan(Duration::MINUTE), "00:01:00");
        assert_eq!(timespan(Duration::HOUR), "01:00:00");
        assert_eq!(
            timespan(Duration::days(2) + Duration::seconds(5)),
            "2.00:00:05"
        );
    }

    #[test]
    fn minute_window_refuses_then_resets() {
        let clock = ManualClock::starting_now();
        let q = QuotaTracker::new(QuotaConfig::default());
        for _ in 0..50 {
            q.check("t", "a", Operation::ListIncidents, clock.now())
                .expect("within quota");
        }
        clock.advance(Duration::seconds(20));
        let err = q
            .check("t", "a", Operation::ListIncidents, clock.now())
            .unwrap_err();
        assert_eq!(err.max_calls, 50);
        assert_eq!(err.window, "00:01:00");
        assert_eq!(err.retry_after_secs, 40);
        assert_eq!(
            err.to_string(),
            "API calls quota exceeded! maximum allowed 50 per 00:01:00"
        );
        // Other apps, tenants and operations have their own counters.
        q.check("t", "b", Operation::ListIncidents, clock.now())
            .expect("other app");
        q.check("u", "a", Operation::ListIncidents, clock.now())
            .expect("other tenant");
        q.check("t", "a", Operation::GetIncident, clock.now())
            .expect("other op");
        clock.advance(Duration::seconds(40));
        q.check("t", "a", Operation::ListIncidents, clock.now())
            .expect("new window");
    }

    #[test]
    fn get_allows_100_per_minute() {
        let clock = ManualClock::starting_now();
        let q = QuotaTracker::new(QuotaConfig::default());
        for _ in 0..100 {
            q.check("t", "a", Operation::GetIncident, clock.now())
                .expect("within quota");
        }
        assert_eq!(
            q.check("t", "a", Operation::GetIncident, clock.now())
                .unwrap_err()
                .max_calls,
            100
        );
    }

    #[test]
    fn hour_window() {
        let clock = ManualClock::starting_now();
        let q = QuotaTracker::new(QuotaConfig::default());
        let start = clock.now();
        // 50 per minute for 30 minutes = 1500 calls.
        for _ in 0..30 {
            for _ in 0..50 {
                q.check("t", "a", Operation::UpdateIncident, clock.now())
                    .expect("within quota");
            }
            clock.advance(Duration::MINUTE);
        }
        let err = q
            .check("t", "a", Operation::UpdateIncident, clock.now())
            .unwrap_err();
        assert_eq!(err.max_calls, 1500);
        assert_eq!(err.window, "01:00:00");
        assert_eq!(err.retry_after_secs, 30 * 60);
        clock.set(start + Duration::HOUR);
        q.check("t", "a", Operation::UpdateIncident, clock.now())
            .expect("hour over");
    }

    #[test]
    fn disabled_and_custom() {
        let q = QuotaTracker::new(QuotaConfig::disabled());
        let now = OffsetDateTime::UNIX_EPOCH;
        for _ in 0..1000 {
            q.check("t", "a", Operation::ListIncidents, now)
                .expect("disabled");
        }
        let q = QuotaTracker::new(QuotaConfig {
            list_incidents: vec![QuotaLimit::per_minute(2)],
            ..QuotaConfig::default()
        });
        q.check("t", "a", Operation::ListIncidents, now).expect("1");
        q.check("t", "a", Operation::ListIncidents, now).expect("2");
        assert!(q.check("t", "a", Operation::ListIncidents, now).is_err());
    }
}
