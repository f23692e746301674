//! The whole estate through the engine: after a full seed (the main generator, the family
//! generators and the Sentinel tables), exactly the tables `docs/hunting-tables.md` marks
//! seeded have rows, and joins across the families find each other (the same users, devices,
//! messages, apps and CVEs).

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use palisade_events::{
    catalog_docs, seed_estate_tables, seed_sentinel_tables, seed_tables, Estate, EventStore,
};
use palisade_hunting::{DeviceScope, HuntingEngine};
use palisade_kql::Catalog;

const WS: &str = "7f1b1c4e-0a2b-4c3d-9e8f-0123456789ab";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

/// One seeded store for the tests of this file (seeding takes a moment).
async fn seeded() -> (tempfile::TempDir, HuntingEngine) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EventStore::open(dir.path()).unwrap());
    let estate = Estate::sample(5);
    seed_tables(&store, "t1", &estate, 20_000, now(), None, |_| {})
        .await
        .unwrap();
    let n = seed_estate_tables(&store, "t1", &estate, 20_000, now()).unwrap();
    assert!(n > 1_000, "{n}");
    seed_sentinel_tables(&store, "t1", WS, &estate, 2_000, now()).unwrap();
    (dir, HuntingEngine::new(store))
}

async fn count(e: &HuntingEngine, q: &str) -> i64 {
    let r = e
        .run_in_workspace("t1", Some(WS), &DeviceScope::All, q, None, now())
        .await
        .unwrap_or_else(|err| panic!("{q}: {err}"));
    r.rows[0]["Count"]
        .as_i64()
        .unwrap_or_else(|| panic!("{q}: {:?}", r.rows))
}

#[tokio::test]
async fn seeded_tables_are_the_documented_ones_and_join_across_families() {
    let (_d, e) = seeded().await;
    // Filled or empty, exactly as the generated docs say.
    let unified = Catalog::stored().view(true);
    let mut filled = Vec::new();
    let mut wrong = Vec::new();
    for t in unified.table_names() {
        let n = count(&e, &format!("{t} | count")).await;
        if (n > 0) != catalog_docs::is_seeded(t) {
            wrong.push(format!("{t}: {n} rows"));
        }
        if n > 0 {
            filled.push(t);
        }
    }
    assert!(wrong.is_empty(), "not as the docs say: {wrong:?}");
    assert!(filled.len() >= 42, "{filled:?}");

    // Joins that must find rows, each naming two families.
    for q in [
        // Identity: the directory's users are the ones that log on and query.
        "IdentityInfo | summarize by AccountObjectId \
         | join kind=inner (IdentityLogonEvents | summarize by AccountObjectId) on AccountObjectId | count",
        "IdentityQueryEvents | summarize by DeviceName \
         | join kind=inner (DeviceInfo | summarize by DeviceName) on DeviceName | count",
        "IdentityAccountInfo | where SourceProvider == 'ActiveDirectory' | summarize by Sid \
         | join kind=inner (IdentityInfo | summarize by OnPremSid) on $left.Sid == $right.OnPremSid | count",
        "IdentityDirectoryEvents | summarize by TargetAccountUpn \
         | join kind=inner (IdentityInfo | summarize by AccountUpn) on $left.TargetAccountUpn == $right.AccountUpn | count",
        "IdentityEvents | summarize by AccountUpn \
         | join kind=inner (SigninLogs | summarize by UserPrincipalName) on $left.AccountUpn == $right.UserPrincipalName | count",
        // Mail: clicks and purges are of stored messages.
        "UrlClickEvents | join kind=inner (EmailUrlInfo) on NetworkMessageId, Url | count",
        "EmailPostDeliveryEvents | join kind=inner (EmailEvents) on NetworkMessageId, RecipientEmailAddress | count",
        // Cloud apps: the OAuth apps are the ones users act through and sign in to.
        "OAuthAppInfo | summarize by OAuthAppId \
         | join kind=inner (CloudAppEvents | where isnotempty(OAuthAppId) | summarize by OAuthAppId) on OAuthAppId | count",
        "OAuthAppInfo | summarize by OAuthAppId \
         | join kind=inner (SigninLogs | summarize by AppId) on $left.OAuthAppId == $right.AppId | count",
        // TVM: the estate's devices and the KB's CVEs.
        "DeviceTvmSoftwareVulnerabilities | summarize by DeviceId \
         | join kind=inner (DeviceInfo | summarize by DeviceId) on DeviceId | count",
        "DeviceTvmSoftwareInventory | join kind=inner (DeviceTvmSoftwareVulnerabilities) on DeviceId, SoftwareName, SoftwareVersion | count",
        "DeviceTvmSecureConfigurationAssessment | join kind=inner (DeviceTvmSecureConfigurationAssessmentKB) on ConfigurationId | count",
        // Exposure graph: its nodes carry the ids of the other tables.
        "ExposureGraphNodes | where NodeLabel == 'device' | mv-expand EntityIds \
         | extend DeviceId = tostring(EntityIds.id) \
         | join kind=inner (DeviceInfo | summarize by DeviceId) on DeviceId | count",
        "ExposureGraphNodes | where NodeLabel == 'user' | mv-expand EntityIds \
         | where tostring(EntityIds.type) == 'AadObjectId' | extend AccountObjectId = tostring(EntityIds.id) \
         | join kind=inner (IdentityInfo | summarize by AccountObjectId) on AccountObjectId | count",
    ] {
        if count(&e, q).await == 0 {
            wrong.push(q.to_string());
        }
    }
    assert!(wrong.is_empty(), "joins without rows: {wrong:#?}");

    // Every follow-up, vulnerability and edge matches: none is invented.
    for (all, joined) in [
        (
            "UrlClickEvents | count",
            "UrlClickEvents | join kind=inner (EmailEvents | project NetworkMessageId, AccountUpn = RecipientEmailAddress) \
             on NetworkMessageId, AccountUpn | count",
        ),
        (
            "EmailPostDeliveryEvents | count",
            "EmailPostDeliveryEvents | join kind=inner (EmailEvents | where DeliveryAction == 'Delivered' | project NetworkMessageId) on NetworkMessageId | count",
        ),
        (
            "DeviceTvmSoftwareVulnerabilities | count",
            "DeviceTvmSoftwareVulnerabilities | join kind=inner (DeviceTvmSoftwareVulnerabilitiesKB | summarize by CveId) on CveId | count",
        ),
        (
            "ExposureGraphEdges | count",
            "ExposureGraphEdges | join kind=inner (ExposureGraphNodes | project NodeId) on $left.SourceNodeId == $right.NodeId \
             | join kind=inner (ExposureGraphNodes | project NodeId) on $left.TargetNodeId == $right.NodeId | count",
        ),
    ] {
        let n = count(&e, all).await;
        assert!(n > 0, "{all}");
        assert_eq!(count(&e, joined).await, n, "{joined}");
    }
    // Zero-hour auto purge acts on phish only; blocked clicks are on threats.
    assert_eq!(
        count(
            &e,
            "EmailPostDeliveryEvents | where ActionType endswith 'ZAP' and isempty(ThreatTypes) | count"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &e,
            "UrlClickEvents | where ActionType == 'ClickBlocked' and isempty(ThreatTypes) | count"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_second_seed_does_not_double_the_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EventStore::open(dir.path()).unwrap());
    let estate = Estate::sample(5);
    seed_estate_tables(&store, "t1", &estate, 2_000, now()).unwrap();
    let e = HuntingEngine::new(store.clone());
    let q = "union ExposureGraphNodes, DeviceTvmSoftwareVulnerabilitiesKB, DeviceTvmSoftwareInventory | count";
    let first = count(&e, q).await;
    assert!(first > 0);
    seed_estate_tables(&store, "t1", &estate, 2_000, now()).unwrap();
    assert_eq!(count(&e, q).await, first);
    // Another tenant gets its own snapshot, and sees none of t1's.
    let r = e
        .run_within("t2", &DeviceScope::All, q, None, now())
        .await
        .unwrap();
    assert_eq!(r.rows[0]["Count"], 0);
}
