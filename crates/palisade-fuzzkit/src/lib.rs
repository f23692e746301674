//! Test-only support for Palisade's property-based fuzz targets (proptest, stable Rust).
//!
//! - [`fuzz`] runs a target's cases and prints `fuzz-count <target> <cases>`;
//!   `PALISADE_FUZZ_SCALE=N` multiplies every target's case count (CI runs scale 1,
//!   `scripts/fuzz.sh --long` the ≥ 10 M-execution pass); [`fuzz_router`] is for targets
//!   whose every case goes through a whole router and store, scaled by N / 10.
//! - [`json_value`], [`edits`]/[`mutate`]: generators several targets share (hostile JSON of
//!   every type; random character edits of grammar-built text).
//! - [`mmdb`]: a tiny MaxMind DB writer, so the GeoIP tests build their own database.
//!
//! The targets themselves live beside the code they attack: `crates/palisade-kql/tests/fuzz.rs`
//! (the KQL front end: grammar-built, mutated, truncated and raw queries; value round trips),
//! `crates/palisade-defender/tests/fuzz.rs`
//! (OData, PATCH and hunting bodies, JWTs), `crates/palisade-authority/tests/fuzz.rs` (token
//! request forms), `crates/palisade-admin/tests/fuzz.rs` (admin JSON).

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::{json, Value};

pub use proptest;

pub mod mmdb;

/// The case multiplier from `PALISADE_FUZZ_SCALE` (default 1).
pub fn scale() -> u32 {
    std::env::var("PALISADE_FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// The multiplier for whole-router targets (each case is one or more HTTP requests through
/// the real router and store): a tenth of [`scale`], at least 1.
pub fn router_scale() -> u32 {
    (scale() / 10).max(1)
}

/// Runs `cases × scale()` cases of `strategy` through `test` (a panic inside `test` is a
/// failure, shrunk to a minimal input and reported), then prints the count.
pub fn fuzz<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    run(name, cases.saturating_mul(scale()), strategy, test)
}

/// [`fuzz`] for whole-router targets: `cases × router_scale()` cases.
pub fn fuzz_router<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    run(name, cases.saturating_mul(router_scale()), strategy, test)
}

fn run<S: Strategy>(
    name: &str,
    total: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let seed = seed();
    let mut runner = TestRunner::new(Config {
        cases: total,
        failure_persistence: None,
        max_shrink_iters: 4000,
        rng_seed: seed,
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("fuzz target {name} failed (seed {seed}; rerun with PALISADE_FUZZ_SEED): {e}");
    }
    eprintln!("fuzz-count {name} {total}");
}

/// The generator's seed: `PALISADE_FUZZ_SEED` when set; otherwise a fixed seed for the
/// short pass (scale 1, what CI runs: a red CI reproduces exactly) and a random one for
/// longer runs (each explores new inputs). The random seed is drawn here and passed to
/// proptest as a fixed one, so a failure prints the number that reproduces it.
fn seed() -> RngSeed {
    let from_env = std::env::var("PALISADE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok());
    RngSeed::Fixed(choose_seed(from_env, scale(), random_seed))
}

/// The seed for `PALISADE_FUZZ_SEED` = `from_env` at `scale`; `random` draws a new one.
fn choose_seed(from_env: Option<u64>, scale: u32, random: impl FnOnce() -> u64) -> u64 {
    match from_env {
        Some(seed) => seed,
        None if scale == 1 => 0x005E_ED0F_CA11,
        None => random(),
    }
}

/// A random `u64`: the hash of nothing under fresh random keys (the standard library seeds
/// them from the OS once per process and advances them for every new `RandomState`).
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// A JSON scalar: null, booleans, integers, floats, short strings, and `words` (the values
/// the target's grammar knows, e.g. enum names).
pub fn json_leaf(words: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,16}".prop_map(Value::from),
        prop::sample::select(words).prop_map(Value::from),
    ]
}

/// Any JSON value up to four levels deep, with object keys from `keys` or random.
pub fn json_value(
    words: &'static [&'static str],
    keys: &'static [&'static str],
) -> impl Strategy<Value = Value> {
    json_leaf(words).prop_recursive(4, 32, 6, move |inner| {
        let key = prop_oneof![
            3 => prop::sample::select(keys).prop_map(str::to_string),
            1 => "[a-zA-Z]{0,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Up to three random edits (insert, delete, replace), biased to `chars`.
pub fn edits(chars: &'static [char]) -> impl Strategy<Value = Vec<(usize, u8, char)>> {
    prop::collection::vec(
        (
            any::<usize>(),
            any::<u8>(),
            prop_oneof![
                3 => prop::sample::select(chars),
                1 => any::<char>(),
            ],
        ),
        0..4,
    )
}

/// Applies [`edits`] to `s`.
pub fn mutate(s: &str, edits: &[(usize, u8, char)]) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    for &(at, kind, c) in edits {
        let at = at % (chars.len() + 1);
        match kind % 3 {
            0 => chars.insert(at, c),
            1 if at < chars.len() => {
                chars.remove(at);
            }
            _ if at < chars.len() => chars[at] = c,
            _ => chars.push(c),
        }
    }
    chars.into_iter().collect()
}

/// Flips bytes at random places and appends junk: for bodies built from a grammar.
pub fn byte_noise() -> impl Strategy<Value = (Vec<(usize, u8)>, Vec<u8>)> {
    (
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..3),
        prop::collection::vec(any::<u8>(), 0..3),
    )
}

/// Applies [`byte_noise`] to `bytes`.
pub fn add_noise(mut bytes: Vec<u8>, noise: &(Vec<(usize, u8)>, Vec<u8>)) -> Vec<u8> {
    for &(at, b) in &noise.0 {
        if !bytes.is_empty() {
            let n = bytes.len();
            bytes[at % n] = b;
        }
    }
    bytes.extend_from_slice(&noise.1);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_run_draws_a_seed_it_can_print_and_the_env_seed_wins() {
        assert_eq!(choose_seed(Some(7), 600, || 1), 7);
        assert_eq!(choose_seed(None, 1, || 1), 0x005E_ED0F_CA11);
        assert_eq!(choose_seed(None, 600, || 42), 42);
        assert_ne!(random_seed(), random_seed());
    }

    #[test]
    fn mutate_applies_each_kind_of_edit() {
        assert_eq!(mutate("abc", &[(0, 0, 'x')]), "xabc");
        assert_eq!(mutate("abc", &[(1, 1, 'x')]), "ac");
        assert_eq!(mutate("abc", &[(2, 2, 'x')]), "abx");
        assert_eq!(mutate("", &[(5, 1, 'x')]), "x");
        assert_eq!(
            add_noise(b"ab".to_vec(), &(vec![(3, b'z')], b"!".to_vec())),
            b"az!"
        );
    }
}
