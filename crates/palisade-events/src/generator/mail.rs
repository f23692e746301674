//! What happens to the estate's mail after delivery: derived from the mail flow the main
//! generator stored (`EmailEvents`, `EmailUrlInfo`), so every row names a real message.
//! `EmailPostDeliveryEvents`: zero-hour auto purge of delivered phish (and a few admin
//! remediations of other mail), minutes to two hours after delivery; `UrlClickEvents`: a
//! quarter of the recipients of a message with a link click it (Safe Links blocks most
//! phish links), from their device's address.
//!
//! Reads the tenant's stored mail in the window, so it runs after the main generator; without
//! stored mail it writes nothing.

use std::collections::HashMap;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::TimestampNanosecondType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::json;

use super::estate::{Estate, Rng};
use super::family::FamilyRows;
use crate::columns::Value;
use crate::store::{EventStore, StoreError};

use Value::{Bool as B, Str as S, Time as T};

/// The tables [`seed_mail`] writes.
pub(super) const MAIL_TABLES: &[&str] = &["EmailPostDeliveryEvents", "UrlClickEvents"];

const MINUTE: i64 = 60_000_000_000;

/// A stored message, as far as its follow-ups need it.
struct Mail {
    t: i64,
    network_id: String,
    internet_id: String,
    recipient: String,
    sender: String,
    direction: String,
    threats: String,
    detection: String,
    delivered: bool,
}

/// A follow-up row to write: its table, its time and the message (and link) it is about.
struct FollowUp {
    table: &'static str,
    t: i64,
    mail: usize,
    url: Option<String>,
    /// Whether the action was blocked (a click) or what kind it is (post-delivery).
    blocked: bool,
}

/// Seeds the follow-ups of `tenant_id`'s stored mail since `since_day` (`yyyy-mm-dd`) up to
/// `now` (ns); returns the rows written.
pub(super) fn seed_mail(
    store: &EventStore,
    tenant_id: &str,
    estate: &Estate,
    since_day: &str,
    now: i64,
    only: Option<&[&str]>,
) -> Result<u64, StoreError> {
    let mails = read_mail(store, tenant_id, since_day)?;
    if mails.is_empty() {
        return Ok(0);
    }
    let urls = read_urls(store, tenant_id, since_day)?;
    let index: HashMap<&str, usize> = mails
        .iter()
        .enumerate()
        .map(|(i, m)| (m.network_id.as_str(), i))
        .collect();
    let mut r = Rng::new(mails.len() as u64 ^ 0x3a11_f011);
    let mut follow: Vec<FollowUp> = Vec::new();
    for (i, m) in mails.iter().enumerate() {
        let bad = !m.threats.is_empty();
        if m.delivered && bad && r.chance(0.7) {
            follow.push(FollowUp {
                table: "EmailPostDeliveryEvents",
                t: m.t + (5 + r.below(115) as i64) * MINUTE,
                mail: i,
                url: None,
                blocked: true,
            });
        } else if m.delivered && !bad && r.chance(0.01) {
            follow.push(FollowUp {
                table: "EmailPostDeliveryEvents",
                t: m.t + (30 + r.below(600) as i64) * MINUTE,
                mail: i,
                url: None,
                blocked: false,
            });
        }
    }
    for (id, url) in urls {
        let Some(&i) = index.get(id.as_str()) else {
            continue;
        };
        let m = &mails[i];
        if m.delivered && r.chance(0.25) {
            let bad = !m.threats.is_empty();
            follow.push(FollowUp {
                table: "UrlClickEvents",
                t: m.t + (1 + r.below(240) as i64) * MINUTE,
                mail: i,
                url: Some(url),
                blocked: bad && r.chance(0.7),
            });
        }
    }
    follow.retain(|f| f.t < now);
    follow.sort_by_key(|f| f.t);
    // Each recipient clicks from "their" device: the estate's devices in turn.
    let device_of = |upn: &str| {
        let u = estate.users.iter().position(|u| u.upn == upn).unwrap_or(0);
        estate.devices.get(u % estate.devices.len().max(1))
    };
    let mut out = FamilyRows::new(store, tenant_id, MAIL_TABLES, only)?;
    for f in &follow {
        let m = &mails[f.mail];
        let rid = r.guid();
        if f.table == "UrlClickEvents" {
            let url = f.url.as_deref().unwrap_or("");
            let ip = device_of(&m.recipient).map_or("", |d| d.ip.as_str());
            out.row(f.table, f.t, |w| {
                w.set("Timestamp", T(f.t));
                w.set("Url", S(url));
                w.set(
                    "ActionType",
                    S(if f.blocked {
                        "ClickBlocked"
                    } else {
                        "ClickAllowed"
                    }),
                );
                w.set("AccountUpn", S(&m.recipient));
                w.set("Workload", S("Email"));
                w.set("NetworkMessageId", S(&m.network_id));
                w.set("ThreatTypes", S(&m.threats));
                w.set("DetectionMethods", S(&m.detection));
                w.set("IPAddress", S(ip));
                w.set("IsClickedThrough", B(!f.blocked));
                w.set("UrlChain", S(&json!([url]).to_string()));
                w.set("ReportId", S(&rid));
                w.set("AppName", S("Outlook"));
                w.set("AppVersion", S("16.0.17928.20114"));
                w.set("SourceId", S(&m.internet_id));
                w.set("TenantId", S(tenant_id));
                w.set("Type", S("UrlClickEvents"));
                w.set("SourceSystem", S("Azure"));
                w.set("TimeGenerated", T(f.t));
            })?;
        } else {
            let zap = f.blocked;
            let threat = if m.threats.contains("Malware") {
                "Malware"
            } else {
                "Phish"
            };
            let zap_type = format!("{threat} ZAP");
            out.row(f.table, f.t, |w| {
                w.set("Timestamp", T(f.t));
                w.set("NetworkMessageId", S(&m.network_id));
                w.set("InternetMessageId", S(&m.internet_id));
                if zap {
                    w.set("Action", S("Moved to quarantine"));
                    w.set("ActionType", S(&zap_type));
                    w.set("ActionTrigger", S("SpecialAction"));
                    w.set("DeliveryLocation", S("Quarantine"));
                } else {
                    w.set("Action", S("Moved to deleted items"));
                    w.set("ActionType", S("Manual Remediation"));
                    w.set("ActionTrigger", S("AdminAction"));
                    w.set("DeliveryLocation", S("Deleted items"));
                }
                w.set("ActionResult", S("Success"));
                w.set("RecipientEmailAddress", S(&m.recipient));
                w.set("ThreatTypes", S(&m.threats));
                w.set("DetectionMethods", S(&m.detection));
                w.set("ReportId", S(&rid));
                w.set("SenderFromAddress", S(&m.sender));
                w.set("EmailDirection", S(&m.direction));
                w.set("SourceLocation", S("Inbox"));
            })?;
        }
    }
    out.commit()
}

/// The batches of `(tenant, table)` since `since_day`.
fn read_table(
    store: &EventStore,
    tenant: &str,
    table: &str,
    since_day: &str,
) -> Result<Vec<RecordBatch>, StoreError> {
    let mut out = Vec::new();
    for f in store.files(tenant, table, since_day)? {
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&f.path)?)?.build()?;
        for batch in reader {
            out.push(batch?);
        }
    }
    Ok(out)
}

/// Column `name` of `b` as text, row `i` ("" for null or missing).
fn text(b: &RecordBatch, name: &str, i: usize) -> String {
    match b.column_by_name(name) {
        Some(c) if c.is_valid(i) => c
            .as_string_opt::<i32>()
            .map(|s| s.value(i).to_string())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn read_mail(store: &EventStore, tenant: &str, since_day: &str) -> Result<Vec<Mail>, StoreError> {
    let mut mails = Vec::new();
    for b in read_table(store, tenant, "EmailEvents", since_day)? {
        let Some(ts) = b.column_by_name("Timestamp") else {
            continue;
        };
        let ts = ts.as_primitive::<TimestampNanosecondType>().clone();
        for i in 0..b.num_rows() {
            if ts.is_null(i) {
                continue;
            }
            mails.push(Mail {
                t: ts.value(i),
                network_id: text(&b, "NetworkMessageId", i),
                internet_id: text(&b, "InternetMessageId", i),
                recipient: text(&b, "RecipientEmailAddress", i),
                sender: text(&b, "SenderFromAddress", i),
                direction: text(&b, "EmailDirection", i),
                threats: text(&b, "ThreatTypes", i),
                detection: text(&b, "DetectionMethods", i),
                delivered: text(&b, "DeliveryAction", i) == "Delivered",
            });
        }
    }
    mails.sort_by_key(|m| m.t);
    Ok(mails)
}

/// The links of the stored messages: (NetworkMessageId, Url), in stored order.
fn read_urls(
    store: &EventStore,
    tenant: &str,
    since_day: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut urls = Vec::new();
    for b in read_table(store, tenant, "EmailUrlInfo", since_day)? {
        for i in 0..b.num_rows() {
            urls.push((text(&b, "NetworkMessageId", i), text(&b, "Url", i)));
        }
    }
    Ok(urls)
}
