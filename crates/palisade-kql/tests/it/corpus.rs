//! Parses and binds every query of the Microsoft 365 Defender hunting-query corpus and
//! enforces the floors recorded in `tests/corpus/floor.json` (the engine's tests run the
//! same corpus against that file's `ran` floor).

use std::collections::BTreeMap;

use palisade_kql::{bind, parse, Catalog, KqlError};

#[derive(serde::Deserialize)]
struct Entry {
    id: String,
    query: String,
}

#[derive(serde::Deserialize)]
struct Floor {
    parsed: usize,
    bound: usize,
}

#[test]
fn corpus_parses_and_binds() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    let text = std::fs::read_to_string(format!("{dir}/m365d-hunting.jsonl")).expect("corpus");
    let floor: Floor = serde_json::from_str(
        &std::fs::read_to_string(format!("{dir}/floor.json")).expect("floor.json"),
    )
    .expect("floor.json format");
    let catalog = Catalog::defender();

    let (mut total, mut parsed, mut bound) = (0, 0, 0);
    let mut rejected: BTreeMap<String, usize> = BTreeMap::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let e: Entry = serde_json::from_str(line).expect("corpus line");
        total += 1;
        if std::env::var("CORPUS_TRACE").is_ok() {
            eprintln!("{}", e.id);
        }
        let result = parse(&e.query)
            .map_err(KqlError::from)
            .inspect(|_| parsed += 1)
            .and_then(|q| bind(&q, &catalog).map_err(KqlError::from));
        match result {
            Ok(_) => bound += 1,
            Err(err) => match err.unsupported_name() {
                Some(name) => *rejected.entry(name.to_string()).or_default() += 1,
                None => failed.push((e.id, err.to_string())),
            },
        }
    }
    let rejected_total: usize = rejected.values().sum();
    let network = rejected.get("externaldata").copied().unwrap_or(0);
    let offline = total - network;
    println!(
        "corpus: {total} queries, parsed {parsed}, bound {bound}, rejected by name {rejected_total}, failed {}",
        failed.len()
    );
    println!(
        "  without the {network} network queries: bound {bound}/{offline} = {:.1}%",
        100.0 * bound as f64 / offline.max(1) as f64
    );
    for (name, n) in &rejected {
        println!("  rejected '{name}': {n}");
    }
    for (id, err) in &failed {
        println!("  FAILED {id}: {err}");
    }
    assert!(
        parsed >= floor.parsed,
        "parsed {parsed} < floor {}",
        floor.parsed
    );
    assert!(
        bound >= floor.bound,
        "bound {bound} < floor {}",
        floor.bound
    );
}
