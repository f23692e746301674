//! `serve --geoip FILE` end to end: `geo_info_from_ip_address` over HTTPS with a real token,
//! answered from a City database the test writes (`palisade_fuzzkit::mmdb`); without one the
//! answer is null and `Stats.notes` says why; a bad file stops the start, in the library and
//! in the `palisade serve` binary, with an error naming the file.

use crate::common::*;
use palisade_fuzzkit::mmdb::{CityRecord, MmdbWriter};
use serde_json::{json, Value};

fn city_database() -> Vec<u8> {
    let mut w = MmdbWriter::new("GeoLite2-City");
    w.insert(
        "20.53.192.0/18",
        CityRecord {
            country: Some(("Australia", "AU")),
            state: Some("New South Wales"),
            city: Some("Sydney"),
            location: Some((-33.8715, 151.2006)),
        }
        .to_json(),
    )
    .insert(
        "2a03:2880:f12c::/48",
        CityRecord {
            country: Some(("United States", "US")),
            state: Some("Florida"),
            city: Some("Boca Raton"),
            location: Some((26.3594, -80.0771)),
        }
        .to_json(),
    );
    w.build()
}

async fn hunt(t: &TestServer, query: &str) -> Value {
    let app = t.app(&["AdvancedHunting.Read.All"]).await;
    let (s, v) = t.v1_token(&app, "https://api.security.microsoft.com").await;
    assert_eq!(s, 200, "{v}");
    let resp = t
        .http
        .post(t.url("/api/advancedhunting/run"))
        .bearer_auth(v["access_token"].as_str().unwrap())
        .json(&json!({ "Query": query }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

const QUERY: &str = "print v4 = geo_info_from_ip_address('20.53.203.50'), \
     v6 = geo_info_from_ip_address('2a03:2880:f12c:83:face:b00c::25de'), \
     private = geo_info_from_ip_address('192.168.0.1'), bad = geo_info_from_ip_address('x') \
     | extend city = tostring(v4.city)";

#[tokio::test]
async fn the_server_answers_from_the_operators_database() {
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("GeoLite2-City.mmdb");
    std::fs::write(&path, city_database()).unwrap();
    let t = start_with(Default::default(), Some(path)).await;
    let body = hunt(&t, QUERY).await;
    let row = &body["Results"][0];
    assert_eq!(
        row["v4"],
        json!({"country": "Australia", "state": "New South Wales", "city": "Sydney",
               "latitude": -33.8715, "longitude": 151.2006})
    );
    assert_eq!(
        row["v6"],
        json!({"country": "United States", "state": "Florida", "city": "Boca Raton",
               "latitude": 26.3594, "longitude": -80.0771})
    );
    assert_eq!(row["private"], Value::Null);
    assert_eq!(row["bad"], Value::Null);
    assert_eq!(row["city"], "Sydney");
    assert_eq!(body["Schema"][0], json!({"Name": "v4", "Type": "Object"}));
    assert!(body["Stats"].get("notes").is_none(), "{body}");
}

#[tokio::test]
async fn without_a_database_the_stats_say_why_the_answer_is_null() {
    let t = start().await;
    let body = hunt(&t, QUERY).await;
    assert_eq!(body["Results"][0]["v4"], Value::Null);
    let notes = body["Stats"]["notes"].as_array().expect("Stats.notes");
    assert_eq!(notes.len(), 1, "{notes:?}");
    let note = notes[0].as_str().unwrap();
    assert!(
        note.contains("geo_info_from_ip_address") && note.contains("--geoip"),
        "{note}"
    );
    // Other queries carry no note.
    let body = hunt(&t, "print x = 1").await;
    assert!(body["Stats"].get("notes").is_none(), "{body}");
}

#[tokio::test]
async fn a_bad_database_stops_the_start_with_a_clear_error() {
    let files = tempfile::tempdir().unwrap();
    let junk = files.path().join("junk.mmdb");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let data = files.path().join("data");
    let config = palisade::server::ServerConfig {
        data_dir: data.clone(),
        listen: "127.0.0.1:0".parse().unwrap(),
        plain_http: false,
        hostnames: vec![],
        quotas: Default::default(),
        kek: Default::default(),
        geoip: Some(junk.clone()),
    };
    let err =
        match palisade::server::start(config, std::sync::Arc::new(palisade_clock::SystemClock))
            .await
        {
            Ok(_) => panic!("a junk GeoIP file must stop the start"),
            Err(e) => format!("{e:#}"),
        };
    assert!(
        err.contains("junk.mmdb") && err.contains("not a valid MaxMind DB file"),
        "{err}"
    );
    assert!(!data.exists(), "a refused start writes nothing");

    // The binary: a missing file, then a junk one, each a non-zero exit naming the file.
    for (file, expected) in [
        (
            files.path().join("missing.mmdb"),
            "cannot read the GeoIP database",
        ),
        (junk, "not a valid MaxMind DB file"),
    ] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
            .env("XDG_CONFIG_HOME", crate::common::isolated_config())
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(files.path().join("bin-data"))
            .arg("--geoip")
            .arg(&file)
            .kill_on_drop(true)
            .output()
            .await
            .expect("run palisade");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(stderr.contains(&*file.to_string_lossy()), "{stderr}");
    }
}
