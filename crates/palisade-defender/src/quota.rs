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
    /// Resource units of the directory at Graph's paths (every call; a `GET` of
    /// `applications`, `users` or `oauth2PermissionGrants` costs 2 units, others 1),
    /// graph.md §6: 3,500 units per 10 seconds [Graph's figure for tenants under 50 users].
    pub directory_units: Vec<QuotaLimit>,
    /// Writes to the directory at Graph's paths: 3,000 per 150 seconds (graph.md §6).
    pub directory_writes: Vec<QuotaLimit>,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            list_incidents: vec![QuotaLimit::per_minute(50), QuotaLimit::per_hour(1500)],
            get_incident: vec![QuotaLimit::per_minute(100), QuotaLimit::per_hour(1500)],
            update_incident: vec![QuotaLimit::per_minute(50), QuotaLimit::per_hour(1500)],
            hunting: vec![QuotaLimit::per_minute(45)],
            directory_units: vec![QuotaLimit {
                max_calls: 3500,
                window: Duration::seconds(10),
            }],
            directory_writes: vec![QuotaLimit {
                max_calls: 3000,
                window: Duration::seconds(150),
            }],
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

/// What a counter counts: one operation of the Defender API (or Graph's security
/// methods), or the directory at Graph's paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Counter {
    Operation(Operation),
    DirectoryUnits,
    DirectoryWrites,
}

type Key = (String, String, Counter);

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
        self.charge(
            tenant_id,
            app_id,
            &[(Counter::Operation(op), self.config.limits(op), 1)],
            now,
        )
    }

    /// Records one call to the directory at Graph's paths costing `units` (and a write,
    /// when `write`), or refuses it without counting anything.
    pub fn check_directory(
        &self,
        tenant_id: &str,
        app_id: &str,
        units: u32,
        write: bool,
        now: OffsetDateTime,
    ) -> Result<(), QuotaExceeded> {
        let units_charge = (
            Counter::DirectoryUnits,
            self.config.directory_units.as_slice(),
            units,
        );
        if write {
            let writes = (
                Counter::DirectoryWrites,
                self.config.directory_writes.as_slice(),
                1,
            );
            self.charge(tenant_id, app_id, &[units_charge, writes], now)
        } else {
            self.charge(tenant_id, app_id, &[units_charge], now)
        }
    }

    /// Adds each `(counter, limits, cost)` to its windows if every one stays within its
    /// limits; otherwise counts nothing and names the limit that frees up last.
    fn charge(
        &self,
        tenant_id: &str,
        app_id: &str,
        charges: &[(Counter, &[QuotaLimit], u32)],
        now: OffsetDateTime,
    ) -> Result<(), QuotaExceeded> {
        if !self.config.enabled || charges.iter().all(|(_, l, _)| l.is_empty()) {
            return Ok(());
        }
        let mut map = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= SWEEP_THRESHOLD {
            let longest = charges
                .iter()
                .flat_map(|(_, limits, _)| limits.iter().map(|l| l.window))
                .max()
                .unwrap_or(Duration::HOUR)
                .max(Duration::HOUR);
            map.retain(|_, ws| ws.iter().any(|w| now - w.start < longest));
        }
        let fresh = |limits: &[QuotaLimit]| -> Vec<Window> {
            limits
                .iter()
                .map(|_| Window {
                    start: now,
                    count: 0,
                })
                .collect()
        };
        let mut refused: Option<QuotaExceeded> = None;
        for (counter, limits, cost) in charges {
            let windows = map
                .entry((tenant_id.to_string(), app_id.to_string(), *counter))
                .or_insert_with(|| fresh(limits));
            if windows.len() != limits.len() {
                *windows = fresh(limits);
            }
            for (w, limit) in windows.iter_mut().zip(limits.iter()) {
                if now < w.start || now - w.start >= limit.window {
                    *w = Window {
                        start: now,
                        count: 0,
                    };
                }
                if w.count.saturating_add(*cost) > limit.max_calls {
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
        }
        if let Some(r) = refused {
            return Err(r);
        }
        for (counter, _, cost) in charges {
            if let Some(windows) =
                map.get_mut(&(tenant_id.to_string(), app_id.to_string(), *counter))
            {
                for w in windows.iter_mut() {
                    w.count = w.count.saturating_add(*cost);
                }
            }
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

    #[test]
    fn directory_units_and_writes() {
        let clock = ManualClock::starting_now();
        let q = QuotaTracker::new(QuotaConfig {
            directory_units: vec![QuotaLimit::per_minute(5)],
            directory_writes: vec![QuotaLimit::per_minute(2)],
            ..QuotaConfig::default()
        });
        let now = clock.now();
        // Two writes (1 unit each), then the third write is refused and counts nothing.
        q.check_directory("t", "a", 1, true, now).expect("w1");
        q.check_directory("t", "a", 1, true, now).expect("w2");
        let err = q.check_directory("t", "a", 1, true, now).unwrap_err();
        assert_eq!(err.max_calls, 2);
        assert_eq!(err.retry_after_secs, 60);
        // Reads still pass until the units run out: 2 used, a 2-unit list and a 1-unit get.
        q.check_directory("t", "a", 2, false, now).expect("list");
        q.check_directory("t", "a", 1, false, now).expect("get");
        let err = q.check_directory("t", "a", 1, false, now).unwrap_err();
        assert_eq!(err.max_calls, 5);
        // The security counters are separate; another app has its own.
        q.check("t", "a", Operation::ListIncidents, now)
            .expect("security");
        q.check_directory("t", "b", 2, true, now)
            .expect("other app");
        clock.advance(Duration::MINUTE);
        q.check_directory("t", "a", 1, true, clock.now())
            .expect("new window");
    }
}
