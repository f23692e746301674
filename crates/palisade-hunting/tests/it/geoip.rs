//! `geo_info_from_ip_address` through the engine, from a City database the test writes with
//! `palisade_fuzzkit::mmdb`: the docs' two examples (IPv4 and IPv6), unknown, invalid and
//! private addresses, a record with missing parts, the note without a database, and the
//! errors for a bad file.

use std::path::Path;
use std::sync::Arc;

use palisade_events::EventStore;
use palisade_fuzzkit::mmdb::{CityRecord, MmdbWriter};
use palisade_hunting::{GeoIpDatabase, GeoIpError, HuntingEngine};
use serde_json::{json, Value};

use crate::support::now;

/// The docs' two examples, a country-only record, and a private range the file (wrongly)
/// claims, which must still answer null.
fn test_database() -> Vec<u8> {
    let mut w = MmdbWriter::new("GeoLite2-City");
    let sydney = CityRecord {
        country: Some(("Australia", "AU")),
        state: Some("New South Wales"),
        city: Some("Sydney"),
        location: Some((-33.8715, 151.2006)),
    };
    let boca = CityRecord {
        country: Some(("United States", "US")),
        state: Some("Florida"),
        city: Some("Boca Raton"),
        location: Some((26.3594, -80.0771)),
    };
    let country_only = CityRecord {
        country: Some(("France", "FR")),
        ..CityRecord::default()
    };
    w.insert("20.53.192.0/18", sydney.to_json())
        .insert("2a03:2880:f12c::/48", boca.to_json())
        .insert("81.0.0.0/8", country_only.to_json())
        .insert("10.0.0.0/8", sydney.to_json());
    w.build()
}

fn engine(geoip: Option<Arc<GeoIpDatabase>>) -> (tempfile::TempDir, HuntingEngine) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    (dir, HuntingEngine::new(Arc::new(store)).with_geoip(geoip))
}

#[tokio::test]
async fn answers_the_docs_examples_from_the_operators_database() {
    let db = GeoIpDatabase::from_bytes(test_database(), Path::new("test.mmdb")).unwrap();
    assert_eq!(db.database_type(), "GeoLite2-City");
    let (_d, e) = engine(Some(Arc::new(db)));
    let r = e
        .run(
            "t1",
            "datatable(ip:string)['20.53.203.50', '2a03:2880:f12c:83:face:b00c::25de', '81.1.2.3', \
               '8.8.8.8', 'not an ip', '10.1.2.3', '192.168.1.1', '::ffff:20.53.203.50', ''] \
             | extend g = geo_info_from_ip_address(ip) \
             | extend country = tostring(g.country)",
            now(),
        )
        .await
        .unwrap();
    let g: Vec<Value> = r.rows.iter().map(|row| row["g"].clone()).collect();
    let sydney = json!({"country": "Australia", "state": "New South Wales", "city": "Sydney",
                        "latitude": -33.8715, "longitude": 151.2006});
    assert_eq!(g[0], sydney);
    assert_eq!(
        g[1],
        json!({"country": "United States", "state": "Florida", "city": "Boca Raton",
               "latitude": 26.3594, "longitude": -80.0771})
    );
    assert_eq!(
        g[2],
        json!({"country": "France", "state": "", "city": "", "latitude": null, "longitude": null})
    );
    // Unknown, invalid, private (even though the file claims 10/8), empty: null.
    for i in [3, 4, 5, 6, 8] {
        assert_eq!(g[i], Value::Null, "row {i}");
    }
    assert_eq!(
        g[7], sydney,
        "an IPv4-mapped IPv6 address is looked up as IPv4"
    );
    assert_eq!(r.rows[0]["country"], "Australia");
    assert!(r.stats.notes.is_empty(), "{:?}", r.stats.notes);
    // The result's type is dynamic, and the key order is Kusto's.
    let keys: Vec<&String> = g[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["country", "state", "city", "latitude", "longitude"]);
}

#[tokio::test]
async fn without_a_database_the_answer_is_null_and_the_stats_say_why() {
    let (_d, e) = engine(None);
    let r = e
        .run(
            "t1",
            "print g = geo_info_from_ip_address('20.53.203.50'), h = geo_info_from_ip_address('1.1.1.1')",
            now(),
        )
        .await
        .unwrap();
    assert_eq!(r.rows[0]["g"], Value::Null);
    assert_eq!(
        r.stats.notes.len(),
        1,
        "one note per reason: {:?}",
        r.stats.notes
    );
    assert!(
        r.stats.notes[0].contains("no GeoIP database"),
        "{:?}",
        r.stats.notes
    );
    assert!(r.stats.notes[0].contains("--geoip"));
    // A query that does not call it carries no note.
    let r = e.run("t1", "print x = 1", now()).await.unwrap();
    assert!(r.stats.notes.is_empty());
}

#[test]
fn a_bad_file_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.mmdb");
    let e = GeoIpDatabase::open(&missing).unwrap_err();
    assert!(matches!(e, GeoIpError::Read { .. }), "{e}");
    assert!(e.to_string().contains("missing.mmdb"), "{e}");

    let junk = dir.path().join("junk.mmdb");
    std::fs::write(&junk, b"this is not a MaxMind database").unwrap();
    let e = GeoIpDatabase::open(&junk).unwrap_err();
    assert!(matches!(e, GeoIpError::Invalid { .. }), "{e}");
    assert!(e.to_string().contains("not a valid MaxMind DB file"), "{e}");

    // A truncated real database.
    let good = test_database();
    let cut = dir.path().join("cut.mmdb");
    std::fs::write(&cut, &good[..good.len() / 2]).unwrap();
    assert!(matches!(
        GeoIpDatabase::open(&cut).unwrap_err(),
        GeoIpError::Invalid { .. }
    ));

    let mut asn = MmdbWriter::new("GeoLite2-ASN");
    asn.insert("1.0.0.0/8", json!({"autonomous_system_number": 13335u32}));
    let e = GeoIpDatabase::from_bytes(asn.build(), Path::new("asn.mmdb")).unwrap_err();
    assert!(matches!(e, GeoIpError::NotCity { .. }), "{e}");
    assert!(e.to_string().contains("City"), "{e}");

    let ok = dir.path().join("ok.mmdb");
    std::fs::write(&ok, &good).unwrap();
    let db = GeoIpDatabase::open(&ok).unwrap();
    assert_eq!(db.path(), ok.as_path());
}
