//! Runs every query of the Microsoft 365 Defender hunting-query corpus that binds on a seeded
//! store and enforces the `ran` floor of `palisade-kql/tests/corpus/floor.json` (the language
//! crate's tests enforce its parse and bind floors on the same corpus).

use std::collections::BTreeMap;

use palisade_kql::{bind, parse, Catalog, KqlError};

#[derive(serde::Deserialize)]
struct Entry {
    id: String,
    query: String,
}

#[derive(serde::Deserialize)]
struct RunFloor {
    ran: usize,
}

/// Seeds a few thousand generated events, then runs every corpus query that binds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_runs() {
    use palisade_events::{seed_events, Estate, EventStore};
    use palisade_hunting::{HuntError, HuntingEngine, Limits};
    use std::sync::Arc;

    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../palisade-kql/tests/corpus");
    let text = std::fs::read_to_string(format!("{dir}/m365d-hunting.jsonl")).expect("corpus");
    let floor: RunFloor = serde_json::from_str(
        &std::fs::read_to_string(format!("{dir}/floor.json")).expect("floor.json"),
    )
    .expect("floor.json format");
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = EventStore::open(tmp.path()).expect("store");
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z")
        .expect("now")
        .with_timezone(&chrono::Utc);
    let estate = Estate::sample(7);
    let seeded = seed_events(&store, "tenant-a", &estate, 4000, now, |_| {})
        .await
        .expect("seed");
    // The identity, mail follow-up, OAuth app, TVM and exposure-graph tables of the same
    // estate, so the queries over them meet rows too.
    let seeded = seeded
        + palisade_events::seed_estate_tables(&store, "tenant-a", &estate, 4000, now)
            .expect("seed the family tables");
    let engine = HuntingEngine::new(Arc::new(store)).with_limits(Limits {
        timeout: std::time::Duration::from_secs(120),
        ..Limits::default()
    });
    let catalog = Catalog::defender();

    let (mut bound, mut ran, mut nonempty) = (0, 0, 0);
    let mut rejected: BTreeMap<String, usize> = BTreeMap::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let e: Entry = serde_json::from_str(line).expect("corpus line");
        let Ok(q) = parse(&e.query) else { continue };
        // Plugins whose schema comes from the data bind only with the engine's probe.
        if let Err(err) = bind(&q, &catalog) {
            let needs_probe = matches!(
                KqlError::from(err).unsupported_name(),
                Some("bag_unpack" | "pivot")
            );
            if !needs_probe {
                continue;
            }
        }
        // `CORPUS_ONLY=text` runs only the queries whose id contains it (the floor then
        // does not apply); `CORPUS_TRACE` prints each id with its time.
        let only = std::env::var("CORPUS_ONLY").ok();
        if only.as_ref().is_some_and(|o| !e.id.contains(o.as_str())) {
            continue;
        }
        bound += 1;
        let started = std::time::Instant::now();
        let result = engine.run("tenant-a", &e.query, now).await;
        if std::env::var("CORPUS_TRACE").is_ok() {
            eprintln!("{:>8.3}s {}", started.elapsed().as_secs_f64(), e.id);
        }
        match result {
            Ok(r) => {
                ran += 1;
                if !r.rows.is_empty() {
                    nonempty += 1;
                }
            }
            Err(HuntError::Unsupported { name, .. }) => *rejected.entry(name).or_default() += 1,
            Err(err) => failed.push((e.id, err.to_string())),
        }
    }
    let rejected_total: usize = rejected.values().sum();
    println!(
        "corpus run over {seeded} seeded events: bound {bound}, ran {ran} ({nonempty} with rows), rejected by name {rejected_total}, failed {}",
        failed.len()
    );
    for (name, n) in &rejected {
        println!("  rejected '{name}': {n}");
    }
    for (id, err) in &failed {
        println!(
            "  FAILED {id}: {}",
            err.chars().take(300).collect::<String>()
        );
    }
    if std::env::var("CORPUS_ONLY").is_err() {
        assert!(ran >= floor.ran, "ran {ran} < floor {}", floor.ran);
    }
}
