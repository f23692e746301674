//! Incidents kept ready to serialise: the Defender wire JSON of each incident a list page
//! served, keyed by tenant and incident id and checked against a fingerprint of the whole
//! stored row, so a page is spliced from kept bytes into one body, without
//! parsing and re-serialising each incident's alerts document per request.
//!
//! Correctness does not depend on invalidation: the bytes are a pure function of the
//! [`IncidentRow`] (which the page still reads from SQL, so every write by any process is
//! seen), and an entry is used only when the row read now hashes to the row it was
//! rendered from. Memory is bounded: past [`MAX_BYTES`] the memo starts over.
//!
//! [`RenderedPages`] keeps whole pages on top of that: a page of a caller who sees every
//! incident of the tenant is a pure function of the request (tenant, host, path, query) and
//! of the tenant's incident rows, whose version the store reads in one indexed statement
//! ([`palisade_store::Store::incident_version`]: triggers move it on every write by any
//! process). While the version reads the same, the page is served from its kept bytes without
//! reading the 100 rows (about 5 KB of alerts JSON each) back out of SQLite; the release
//! profile in BENCHMARKS.md (issue 13, fourth pass) shows that read, copy and fingerprint
//! was most of a list request's CPU.

use crate::error::ApiError;
use crate::model::Incident;
use axum::body::Bytes;
use palisade_store::IncidentRow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

/// The most rendered bytes kept (about 3,000 demo incidents).
pub(crate) const MAX_BYTES: usize = 16 << 20;

struct Entry {
    tenant_id: String,
    incident_id: i64,
    fingerprint: u64,
    json: Bytes,
}

#[derive(Default)]
struct Memo {
    entries: HashMap<u64, Entry>,
    bytes: usize,
}

/// The rendered incidents of every tenant, shared by the handlers.
#[derive(Default)]
pub(crate) struct RenderedIncidents {
    memo: Mutex<Memo>,
}

fn key(tenant_id: &str, incident_id: i64) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    tenant_id.hash(&mut h);
    incident_id.hash(&mut h);
    h.finish()
}

fn fingerprint(row: &IncidentRow) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    row.hash(&mut h);
    h.finish()
}

impl RenderedIncidents {
    /// The wire JSON of `row` (one `Incident` object), rendered now or kept from before.
    pub(crate) fn json(&self, row: &IncidentRow) -> Result<Bytes, ApiError> {
        let key = key(&row.tenant_id, row.incident_id);
        let fingerprint = fingerprint(row);
        {
            let memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(e) = memo.entries.get(&key) {
                if e.fingerprint == fingerprint
                    && e.incident_id == row.incident_id
                    && e.tenant_id == row.tenant_id
                {
                    return Ok(e.json.clone());
                }
            }
        }
        let incident = Incident::from_row(row).map_err(ApiError::internal)?;
        let json = Bytes::from(serde_json::to_vec(&incident).map_err(ApiError::internal)?);
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        if memo.bytes + json.len() > MAX_BYTES {
            memo.entries.clear();
            memo.bytes = 0;
        }
        memo.bytes += json.len();
        if let Some(old) = memo.entries.insert(
            key,
            Entry {
                tenant_id: row.tenant_id.clone(),
                incident_id: row.incident_id,
                fingerprint,
                json: json.clone(),
            },
        ) {
            memo.bytes -= old.json.len();
        }
        Ok(json)
    }
}

/// The most bytes of whole pages kept, and the most pages.
pub(crate) const MAX_PAGE_BYTES: usize = 32 << 20;
const MAX_PAGES: usize = 256;

/// What a kept page answers: the same request of the same tenant. The host and path are
/// in the key because the next link names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PageKey {
    pub(crate) tenant_id: String,
    pub(crate) host: String,
    pub(crate) path: String,
    pub(crate) query: String,
}

#[derive(Default)]
struct Pages {
    entries: HashMap<PageKey, (i64, Bytes)>,
    bytes: usize,
}

/// Whole list pages of callers who see all of their tenant's incidents, each kept with the
/// tenant's incident version it was rendered at (read before its rows, so a page is never
/// older than its version).
#[derive(Default)]
pub(crate) struct RenderedPages {
    pages: Mutex<Pages>,
}

impl RenderedPages {
    /// The page kept for `key` at exactly `version`.
    pub(crate) fn get(&self, key: &PageKey, version: i64) -> Option<Bytes> {
        let pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        match pages.entries.get(key) {
            Some((v, page)) if *v == version => Some(page.clone()),
            _ => None,
        }
    }

    /// Keeps `page` for `key` at `version`; past the budget the memo starts over.
    pub(crate) fn put(&self, key: PageKey, version: i64, page: Bytes) {
        if page.len() > MAX_PAGE_BYTES / 4 {
            return;
        }
        let mut pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        if pages.bytes + page.len() > MAX_PAGE_BYTES || pages.entries.len() >= MAX_PAGES {
            pages.entries.clear();
            pages.bytes = 0;
        }
        pages.bytes += page.len();
        if let Some((_, old)) = pages.entries.insert(key, (version, page)) {
            pages.bytes -= old.len();
        }
    }
}

/// A list page as one body: [`page_chunks`] joined.
pub(crate) fn page_body(
    context: &str,
    incidents: Vec<Bytes>,
    next_link: Option<&str>,
) -> Result<Bytes, ApiError> {
    let chunks = page_chunks(context, incidents, next_link)?;
    let mut body = Vec::with_capacity(chunks.iter().map(Bytes::len).sum());
    for chunk in &chunks {
        body.extend_from_slice(chunk);
    }
    Ok(Bytes::from(body))
}

/// A list page as chunks: `{"@odata.context":…,"value":[` then each incident's kept JSON
/// with the commas between, then `]` and the next link — byte for byte what serialising
/// [`crate::model::IncidentCollection`] gives.
fn page_chunks(
    context: &str,
    incidents: Vec<Bytes>,
    next_link: Option<&str>,
) -> Result<Vec<Bytes>, ApiError> {
    let mut chunks = Vec::with_capacity(incidents.len() * 2 + 2);
    let context = serde_json::to_string(context).map_err(ApiError::internal)?;
    chunks.push(Bytes::from(format!(
        "{{\"@odata.context\":{context},\"value\":["
    )));
    for (i, json) in incidents.into_iter().enumerate() {
        if i > 0 {
            chunks.push(Bytes::from_static(b","));
        }
        chunks.push(json);
    }
    let tail = match next_link {
        Some(link) => format!(
            "],\"@odata.nextLink\":{}}}",
            serde_json::to_string(link).map_err(ApiError::internal)?
        ),
        None => "]}".to_string(),
    };
    chunks.push(Bytes::from(tail));
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IncidentCollection;
    use palisade_store::IncidentCommentRow;
    use time::OffsetDateTime;

    /// One stored alert document with a property the Defender shape does not have.
    fn alerts_json() -> String {
        let mut alert = serde_json::to_value(crate::model::Alert {
            alert_id: "da1".into(),
            title: "t\u{e9}\"".into(),
            ..Default::default()
        })
        .unwrap();
        alert["graphOnly"] = serde_json::json!(1);
        serde_json::json!([alert]).to_string()
    }

    fn row(tenant: &str, id: i64, status: &str) -> IncidentRow {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        IncidentRow {
            tenant_id: tenant.into(),
            incident_id: id,
            incident_name: format!("incident {id}"),
            created_time: t,
            last_update_time: t,
            status: status.into(),
            severity: "High".into(),
            assigned_to: None,
            classification: "Unknown".into(),
            determination: "NotAvailable".into(),
            detection_source: None,
            redirect_incident_id: None,
            tags: vec!["a\"b".into()],
            comments: vec![IncidentCommentRow {
                comment: "c".into(),
                created_by: "x".into(),
                created_time: t,
            }],
            alerts_json: alerts_json(),
            description: None,
            summary: None,
            resolving_comment: None,
            last_modified_by: None,
            system_tags: vec![],
            priority_score: None,
        }
    }

    fn joined(chunks: Vec<Bytes>) -> Vec<u8> {
        chunks.iter().flat_map(|c| c.iter().copied()).collect()
    }

    #[test]
    fn a_spliced_page_is_byte_identical_to_the_serialised_collection() {
        let memo = RenderedIncidents::default();
        let rows = [row("t1", 1, "Active"), row("t1", 2, "Resolved")];
        for next in [None, Some("https://h/api/incidents?$top=2&$skip=2")] {
            let expected = serde_json::to_vec(&IncidentCollection {
                context: "ctx#Incidents".into(),
                value: rows
                    .iter()
                    .map(|r| Incident::from_row(r).unwrap())
                    .collect(),
                next_link: next.map(str::to_string),
            })
            .unwrap();
            let kept = rows.iter().map(|r| memo.json(r).unwrap()).collect();
            let page = String::from_utf8(joined(page_chunks("ctx#Incidents", kept, next).unwrap()));
            assert_eq!(page, String::from_utf8(expected));
            assert!(!page.unwrap().contains("graphOnly"));
        }
        let empty = serde_json::to_vec(&IncidentCollection {
            context: "c".into(),
            value: vec![],
            next_link: None,
        })
        .unwrap();
        assert_eq!(joined(page_chunks("c", vec![], None).unwrap()), empty);
    }

    #[test]
    fn a_changed_row_or_another_tenant_is_rendered_afresh() {
        let memo = RenderedIncidents::default();
        let first = memo.json(&row("t1", 1, "Active")).unwrap();
        assert_eq!(memo.json(&row("t1", 1, "Active")).unwrap(), first);
        let changed = memo.json(&row("t1", 1, "Resolved")).unwrap();
        assert_ne!(changed, first);
        assert!(std::str::from_utf8(&changed)
            .unwrap()
            .contains("\"Resolved\""));
        let mut other = row("t2", 1, "Active");
        other.incident_name = "the other tenant's".into();
        let theirs = memo.json(&other).unwrap();
        assert!(std::str::from_utf8(&theirs)
            .unwrap()
            .contains("the other tenant's"));
        assert!(
            !std::str::from_utf8(&memo.json(&row("t1", 1, "Active")).unwrap())
                .unwrap()
                .contains("the other tenant's")
        );
    }

    fn page_key(query: &str) -> PageKey {
        PageKey {
            tenant_id: "t".into(),
            host: "h".into(),
            path: "/api/incidents".into(),
            query: query.into(),
        }
    }

    #[test]
    fn a_kept_page_is_served_only_at_its_version_and_for_its_request() {
        let pages = RenderedPages::default();
        let page = Bytes::from_static(b"{\"value\":[]}");
        pages.put(page_key("$top=1"), 7, page.clone());
        assert_eq!(pages.get(&page_key("$top=1"), 7), Some(page));
        assert_eq!(
            pages.get(&page_key("$top=1"), 8),
            None,
            "the tenant wrote since"
        );
        assert_eq!(pages.get(&page_key("$top=2"), 7), None);
        let mut other_tenant = page_key("$top=1");
        other_tenant.tenant_id = "u".into();
        assert_eq!(pages.get(&other_tenant, 7), None);
        let mut other_host = page_key("$top=1");
        other_host.host = "evil".into();
        assert_eq!(
            pages.get(&other_host, 7),
            None,
            "the next link names the host"
        );
    }

    #[test]
    fn kept_pages_stay_within_their_budget() {
        let pages = RenderedPages::default();
        let page = Bytes::from(vec![b'x'; MAX_PAGE_BYTES / 8]);
        for i in 0..(MAX_PAGES + 20) {
            pages.put(page_key(&format!("$skip={i}")), 1, page.clone());
            let p = pages.pages.lock().unwrap();
            assert!(p.bytes <= MAX_PAGE_BYTES && p.entries.len() <= MAX_PAGES);
            assert_eq!(
                p.bytes,
                p.entries.values().map(|(_, b)| b.len()).sum::<usize>()
            );
        }
        let too_big = Bytes::from(vec![b'x'; MAX_PAGE_BYTES / 2]);
        pages.put(page_key("big"), 1, too_big);
        assert_eq!(pages.get(&page_key("big"), 1), None);
    }

    #[test]
    fn a_page_body_is_its_chunks_joined() {
        let memo = RenderedIncidents::default();
        let kept: Vec<Bytes> = [row("t1", 1, "Active"), row("t1", 2, "Resolved")]
            .iter()
            .map(|r| memo.json(r).unwrap())
            .collect();
        let body = page_body("c", kept.clone(), Some("n")).unwrap();
        assert_eq!(
            body.to_vec(),
            joined(page_chunks("c", kept, Some("n")).unwrap())
        );
    }

    #[test]
    fn the_memo_stays_within_its_budget() {
        let memo = RenderedIncidents::default();
        let one = memo.json(&row("t", 0, "Active")).unwrap().len();
        for id in 0..(MAX_BYTES / one + 50) as i64 {
            memo.json(&row("t", id, "Active")).unwrap();
        }
        let m = memo.memo.lock().unwrap();
        assert!(m.bytes <= MAX_BYTES);
        assert_eq!(
            m.bytes,
            m.entries.values().map(|e| e.json.len()).sum::<usize>()
        );
    }
}
