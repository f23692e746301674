//! Protocol hygiene and keys at rest, tried against the running server as an attacker
//! would: repeated `Authorization` headers, 401 challenges on every surface, JWTs with
//! critical header extensions, file modes in the data directory, sealed signing keys (a
//! copy of the database alone reveals none), a wrong or missing key-encryption key, KEK
//! rotation, and SIGTERM draining a request in flight.

use crate::common::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use palisade_authority::kek::{is_sealed, Kek};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use serde_json::{json, Value};
use std::path::Path;

const API: &str = "https://api.security.microsoft.com";

fn two(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.append(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
    h.append(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
    h
}

fn challenge(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn two_authorization_headers_are_invalid_request_on_every_surface() {
    let t = start().await;
    let app = t.app(&["Incident.Read.All"]).await;
    let (_, tok) = t.v1_token(&app, API).await;
    let bearer = format!("Bearer {}", tok["access_token"].as_str().unwrap());

    // Defender API: 400 (RFC 6750 §3.1 invalid_request), even though each header alone is
    // a valid token.
    let ok = t
        .http
        .get(t.url("/api/incidents"))
        .header(AUTHORIZATION, &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200, "one header is fine");
    let resp = t
        .http
        .get(t.url("/api/incidents"))
        .headers(two(&bearer))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let c = challenge(&resp);
    assert!(
        c.starts_with("Bearer ") && c.contains("error=\"invalid_request\""),
        "{c}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BadRequest", "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("more than one Authorization header"));

    // Hunting endpoint, same pipeline.
    let resp = t
        .http
        .post(t.url("/api/advancedhunting/run"))
        .headers(two(&bearer))
        .json(&json!({"Query": "DeviceInfo | take 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    // Admin API: Graph's error shape, 400, invalid_request challenge — and nothing created.
    let admin = format!("Bearer {}", t.admin_key);
    let resp = t
        .http
        .post(t.url("/admin/tenants"))
        .headers(two(&admin))
        .json(&json!({"displayName": "TwoHeaders"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(challenge(&resp).contains("error=\"invalid_request\""));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Request_BadRequest", "{body}");
    let (_, tenants) = t.admin(reqwest::Method::GET, "/admin/tenants", None).await;
    assert!(!tenants.to_string().contains("TwoHeaders"));

    // Token endpoint with two Basic headers: AADSTS9002313 invalid_request, no token.
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", app.client_id, app.secret))
    );
    let resp = t
        .http
        .post(t.url(&format!("/{}/oauth2/token", app.tenant_id)))
        .headers(two(&basic))
        .form(&[("grant_type", "client_credentials"), ("resource", API)])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_aad_error(status, &body, 400, "invalid_request", 9002313);
}

#[tokio::test]
async fn every_401_carries_a_challenge() {
    let t = start().await;
    let app = t.app(&["Incident.Read.All"]).await;
    let mut seen = 0;
    let mut check = |what: &str, resp: &reqwest::Response, scheme: &str, error: Option<&str>| {
        assert_eq!(resp.status(), 401, "{what}");
        let c = challenge(resp);
        assert!(c.starts_with(scheme), "{what}: {c:?}");
        assert!(
            c.contains("realm=") || c.contains("authorization_uri="),
            "{what}: {c}"
        );
        match error {
            Some(e) => assert!(c.contains(&format!("error=\"{e}\"")), "{what}: {c}"),
            None => assert!(
                !c.contains("error="),
                "{what}: no error without credentials: {c}"
            ),
        }
        seen += 1;
    };

    let r = t.http.get(t.url("/api/incidents")).send().await.unwrap();
    check("defender, no token", &r, "Bearer ", Some("invalid_token"));
    let r = t
        .http
        .get(t.url("/api/incidents/1"))
        .bearer_auth("a.b.c")
        .send()
        .await
        .unwrap();
    check(
        "defender, garbage token",
        &r,
        "Bearer ",
        Some("invalid_token"),
    );
    let r = t
        .http
        .post(t.url("/api/advancedhunting/run"))
        .json(&json!({"Query": "DeviceInfo"}))
        .send()
        .await
        .unwrap();
    check("hunting, no token", &r, "Bearer ", Some("invalid_token"));
    let r = t
        .http
        .get(t.url("/api/v1.0/incidents"))
        .bearer_auth("x")
        .send()
        .await
        .unwrap();
    check("defender v1.0 alias", &r, "Bearer ", Some("invalid_token"));

    let r = t.http.get(t.url("/admin/tenants")).send().await.unwrap();
    check("admin, no key", &r, "Bearer ", None);
    let r = t
        .http
        .get(t.url("/admin/tenants"))
        .bearer_auth("pal_admin_wrong")
        .send()
        .await
        .unwrap();
    check("admin, wrong key", &r, "Bearer ", Some("invalid_token"));
    let r = t
        .http
        .post(t.url("/admin/keys/rotate"))
        .send()
        .await
        .unwrap();
    check("admin key rotation, no key", &r, "Bearer ", None);

    for (path, form) in [
        (
            format!("/{}/oauth2/token", app.tenant_id),
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", app.client_id.as_str()),
                ("client_secret", "wrong"),
                ("resource", API),
            ],
        ),
        (
            format!("/{}/oauth2/v2.0/token", app.tenant_id),
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", app.client_id.as_str()),
                ("scope", "https://api.security.microsoft.com/.default"),
            ],
        ),
    ] {
        let r = t.http.post(t.url(&path)).form(&form).send().await.unwrap();
        let c = challenge(&r);
        assert_eq!(r.status(), 401, "{path}");
        assert!(c.starts_with("Basic realm="), "{path}: {c:?}");
        seen += 1;
    }
    assert_eq!(seen, 9);
}

/// The server's active signing key, unsealed with the KEK file from the data directory.
async fn server_signing_key(t: &TestServer) -> (String, aws_lc_rs::signature::RsaKeyPair) {
    let data = t.dir.path().join("data");
    let kek = Kek::parse(&std::fs::read_to_string(data.join("kek")).unwrap()).unwrap();
    let kid = t.server.authority.keys().active_kid().unwrap();
    let row = t
        .server
        .store
        .list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.kid == kid)
        .unwrap();
    let der = kek.open(&row.kid, &row.private_key_der).unwrap();
    (
        kid,
        aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&der).unwrap(),
    )
}

fn sign(key: &aws_lc_rs::signature::RsaKeyPair, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(
        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

#[tokio::test]
async fn a_jwt_with_critical_header_extensions_is_refused() {
    let t = start().await;
    let app = t.app(&["Incident.Read.All"]).await;
    let (_, tok) = t.v1_token(&app, API).await;
    let (_, claims) = decode(tok["access_token"].as_str().unwrap());
    let (kid, key) = server_signing_key(&t).await;
    let get = |token: String| {
        let t = &t;
        async move {
            t.http
                .get(t.url("/api/incidents"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };

    // Control: the same claims re-signed by the server's own key, no `crit`, are accepted,
    // so every refusal below is the `crit` header's doing.
    let plain = json!({"typ": "JWT", "alg": "RS256", "kid": kid});
    assert_eq!(get(sign(&key, &plain, &claims)).await.status(), 200);

    for crit in [
        json!(["http://example.com/extension"]),
        json!(["exp"]),
        json!([]),
        json!("b64"),
        json!(null),
    ] {
        let mut header = plain.clone();
        header["crit"] = crit.clone();
        if crit.is_array() && crit.as_array().is_some_and(|a| !a.is_empty()) {
            header[crit[0].as_str().unwrap()] = json!(true);
        }
        let resp = get(sign(&key, &header, &claims)).await;
        assert_eq!(resp.status(), 401, "crit {crit}");
        let c = challenge(&resp);
        assert!(c.contains("critical extensions"), "crit {crit}: {c}");
    }
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn data_directory_and_database_files_are_private() {
    let t = start().await;
    t.app(&["Incident.Read.All"]).await; // writes, so the WAL has content
    let data = t.dir.path().join("data");
    assert_eq!(mode(&data), 0o700);
    for f in [
        "palisade.db",
        "palisade.db-wal",
        "palisade.db-shm",
        "kek",
        "admin-key",
        "ca-key.pem",
    ] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_database_left_world_readable_is_tightened_at_open() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("palisade.db");
    {
        let store = palisade_store::Store::open_sqlite(&db).await.unwrap();
        store.close().await;
    }
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = palisade_store::Store::open_sqlite(&db).await.unwrap();
    let row = palisade_authority::keys::generate_key(time::OffsetDateTime::now_utc()).unwrap();
    store.insert_signing_key(&row).await.unwrap(); // a write: the WAL exists
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&dir.path().join("palisade.db-wal")), 0o600);
}

fn db_bytes(data: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for f in ["palisade.db", "palisade.db-wal"] {
        if let Ok(b) = std::fs::read(data.join(f)) {
            all.extend(b);
        }
    }
    all
}

#[tokio::test]
async fn a_copy_of_the_database_alone_reveals_no_signing_key() {
    let t = start().await;
    t.server.authority.keys().rotate().await.unwrap(); // two keys
    let data = t.dir.path().join("data");
    let kek = Kek::parse(&std::fs::read_to_string(data.join("kek")).unwrap()).unwrap();
    let rows = t.server.store.list_signing_keys().await.unwrap();
    assert_eq!(rows.len(), 2);
    let bytes = db_bytes(&data);
    for row in &rows {
        assert!(is_sealed(&row.private_key_der), "{} is sealed", row.kid);
        assert!(
            aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&row.private_key_der).is_err(),
            "the stored bytes are no usable key"
        );
        let clear = kek.open(&row.kid, &row.private_key_der).unwrap();
        aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&clear).expect("the KEK opens it");
        // None of the private parts (d, p, q) is anywhere in the files, in any 32-byte
        // window (the modulus is public: it is in the certificate).
        use rsa::traits::PrivateKeyParts;
        let key =
            <rsa::RsaPrivateKey as rsa::pkcs8::DecodePrivateKey>::from_pkcs8_der(&clear).unwrap();
        let mut secrets = vec![key.d().to_bytes_be()];
        secrets.extend(key.primes().iter().map(|p| p.to_bytes_be()));
        for secret in &secrets {
            for window in secret.chunks(32).filter(|w| w.len() == 32) {
                assert!(
                    !bytes.windows(32).any(|w| w == window),
                    "private key material of {} found in the database files",
                    row.kid
                );
            }
        }
    }
}

async fn start_on(
    data: &Path,
    kek: palisade::kek::KekSource,
) -> anyhow::Result<palisade::server::RunningServer> {
    let config = palisade::server::ServerConfig {
        data_dir: data.to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        plain_http: false,
        hostnames: vec![],
        quotas: Default::default(),
        kek,
        geoip: None,
    };
    palisade::server::start(config, std::sync::Arc::new(palisade_clock::SystemClock)).await
}

#[tokio::test]
async fn a_wrong_or_missing_kek_fails_clearly_and_changes_nothing() {
    use palisade::kek::KekSource;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start_on(&data, KekSource::Default).await.unwrap();
    let kid = server.authority.keys().active_kid().unwrap();
    let right = Kek::parse(&std::fs::read_to_string(data.join("kek")).unwrap()).unwrap();
    server.drain().await.unwrap();
    let before = std::fs::read(data.join("palisade.db")).unwrap();

    let wrong = Kek::generate().unwrap();
    let err = start_on(&data, KekSource::Text(wrong.to_text()))
        .await
        .err()
        .expect("a wrong KEK must not start");
    let msg = format!("{err:#}");
    assert!(
        msg.contains(&format!(
            "signing key {kid} is sealed with key-encryption key {}",
            right.id()
        )) && msg.contains(&format!("configured key-encryption key is {}", wrong.id())),
        "{msg}"
    );

    let err = start_on(&data, KekSource::File(dir.path().join("nowhere/kek")))
        .await
        .err()
        .expect("a missing KEK must not start");
    let msg = format!("{err:#}");
    assert!(
        msg.contains("no key-encryption key at") && msg.contains(&right.id()),
        "{msg}"
    );
    assert!(
        !dir.path().join("nowhere/kek").exists(),
        "no new KEK is made for sealed keys"
    );
    assert_eq!(
        std::fs::read(data.join("palisade.db")).unwrap(),
        before,
        "failed starts change nothing stored"
    );

    // A bad KEK text is refused by its form.
    let err = start_on(&data, KekSource::Text("hunter2".into()))
        .await
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("palisade-kek-v1:"), "{err:#}");

    // The right one starts, with the same key.
    let server = start_on(&data, KekSource::Text(right.to_text()))
        .await
        .unwrap();
    assert_eq!(server.authority.keys().active_kid().unwrap(), kid);
}

#[tokio::test]
async fn keys_stored_in_clear_by_an_older_version_are_sealed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let store = palisade_store::Store::open_sqlite(&data.join("palisade.db"))
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let row = palisade_authority::keys::generate_key(now).unwrap();
    store.insert_signing_key(&row).await.unwrap();
    store
        .activate_signing_key(&row.kid, now.unix_timestamp(), now.unix_timestamp() + 60)
        .await
        .unwrap();
    store.close().await;

    let server = start_on(&data, palisade::kek::KekSource::Default)
        .await
        .unwrap();
    assert_eq!(server.authority.keys().active_kid().unwrap(), row.kid);
    let stored = server.store.list_signing_keys().await.unwrap();
    assert!(is_sealed(&stored[0].private_key_der));
    let kek = Kek::parse(&std::fs::read_to_string(data.join("kek")).unwrap()).unwrap();
    assert_eq!(
        kek.open(&row.kid, &stored[0].private_key_der).unwrap(),
        row.private_key_der
    );
}

async fn cli(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"));
    cmd.env("XDG_CONFIG_HOME", crate::common::isolated_config());
    cmd.args(args)
        .env_remove("PALISADE_KEK")
        .env_remove("PALISADE_KEK_FILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn kek_rotation_reseals_every_key_and_tokens_stay_valid() {
    use palisade::kek::KekSource;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let server = start_on(&data, KekSource::Default).await.unwrap();
    server.authority.keys().rotate().await.unwrap();
    let published = server.authority.keys().published_keys();
    let token = server
        .authority
        .keys()
        .sign(true, &json!({"probe": 1}))
        .unwrap();
    server.drain().await.unwrap();
    let old = Kek::parse(&std::fs::read_to_string(data.join("kek")).unwrap()).unwrap();

    // File-based rotation: the file is replaced, the old one kept as kek.old.
    let (ok, out) = cli(&["kek", "rotate", "--data-dir", d], &[]).await;
    assert!(ok, "{out}");
    let new = Kek::parse(&std::fs::read_to_string(data.join("kek")).unwrap()).unwrap();
    assert_ne!(new.id(), old.id());
    assert!(
        out.contains(&format!(
            "re-sealed 2 signing keys: key-encryption key {} -> {}",
            old.id(),
            new.id()
        )),
        "{out}"
    );
    assert_eq!(
        Kek::parse(&std::fs::read_to_string(data.join("kek.old")).unwrap())
            .unwrap()
            .id(),
        old.id()
    );
    let (ok, out) = cli(&["kek", "status", "--data-dir", d], &[]).await;
    assert!(ok, "{out}");
    assert_eq!(
        out.matches(&format!("sealed with {}", new.id())).count(),
        2,
        "{out}"
    );
    assert!(!out.contains("NOT the configured"), "{out}");

    // The old KEK no longer opens anything; the new one starts the same keys.
    assert!(start_on(&data, KekSource::Text(old.to_text()))
        .await
        .is_err());
    let server = start_on(&data, KekSource::Default).await.unwrap();
    assert_eq!(server.authority.keys().published_keys(), published);
    let again = server
        .authority
        .keys()
        .sign(true, &json!({"probe": 1}))
        .unwrap();
    assert_eq!(again, token, "same key, same deterministic RS256 signature");
    server.drain().await.unwrap();

    // Environment-based rotation: the new KEK goes to --new-kek-file.
    let next_file = dir.path().join("next-kek");
    let (ok, out) = cli(
        &["kek", "rotate", "--data-dir", d],
        &[("PALISADE_KEK", &new.to_text())],
    )
    .await;
    assert!(!ok && out.contains("--new-kek-file"), "{out}");
    let (ok, out) = cli(
        &[
            "kek",
            "rotate",
            "--data-dir",
            d,
            "--new-kek-file",
            next_file.to_str().unwrap(),
        ],
        &[("PALISADE_KEK", &new.to_text())],
    )
    .await;
    assert!(ok, "{out}");
    let next = Kek::parse(&std::fs::read_to_string(&next_file).unwrap()).unwrap();
    let server = start_on(&data, KekSource::Text(next.to_text()))
        .await
        .unwrap();
    assert_eq!(server.authority.keys().published_keys(), published);

    // Rotating with the wrong current KEK fails and changes nothing.
    server.drain().await.unwrap();
    let before = db_bytes(&data);
    let (ok, out) = cli(
        &[
            "kek",
            "rotate",
            "--data-dir",
            d,
            "--new-kek-file",
            dir.path().join("x").to_str().unwrap(),
        ],
        &[("PALISADE_KEK", &old.to_text())],
    )
    .await;
    assert!(
        !ok && out.contains("is sealed with key-encryption key"),
        "{out}"
    );
    assert_eq!(db_bytes(&data), before);
}

#[tokio::test]
async fn an_interrupted_kek_rotation_is_finished_at_the_next_start() {
    use palisade::kek::KekSource;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start_on(&data, KekSource::Default).await.unwrap();
    let kid = server.authority.keys().active_kid().unwrap();
    // Simulate a crash after the database commit but before the file rename.
    let next = Kek::generate().unwrap();
    std::fs::write(data.join("kek.new"), next.to_text()).unwrap();
    assert_eq!(server.authority.keys().reseal_all(&next).await.unwrap(), 1);
    server.drain().await.unwrap();

    let server = start_on(&data, KekSource::Default).await.unwrap();
    assert_eq!(server.authority.keys().active_kid().unwrap(), kid);
    assert_eq!(
        Kek::parse(&std::fs::read_to_string(data.join("kek")).unwrap())
            .unwrap()
            .id(),
        next.id()
    );
    assert!(!data.join("kek.new").exists());
    assert!(data.join("kek.old").exists());
}

/// TLS client trusting the server's CA, for a hand-written HTTP/1.1 request.
fn tls_connector(ca_pem: &[u8]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &ca_pem[..]) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_drains_the_request_in_flight_before_exit() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .env("XDG_CONFIG_HOME", crate::common::isolated_config())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env_remove("PALISADE_KEK")
        .env_remove("PALISADE_KEK_FILE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines.next_line().await.unwrap().expect("server output");
        if let Some(url) = line.strip_prefix("Palisade listening on https://localhost:") {
            break url.trim().parse().unwrap();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let key = std::fs::read_to_string(data.join("admin-key")).unwrap();
    let connector = tls_connector(&std::fs::read(data.join("ca.pem")).unwrap());
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut tls = connector
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();

    // Headers and half the body; then SIGTERM while the server waits for the rest.
    let body = br#"{"displayName": "Drained"}"#;
    let head = format!(
        "POST /admin/tenants HTTP/1.1\r\nHost: localhost:{port}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        key.trim(),
        body.len()
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.write_all(&body[..10]).await.unwrap();
    tls.flush().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());

    // The listener closes at once: no new connections while draining.
    let mut refused = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            refused = true;
            break;
        }
    }
    assert!(refused, "new connections are refused after SIGTERM");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server waits for the request in flight"
    );

    // The rest of the body arrives late; the request is still answered in full.
    tls.write_all(&body[10..]).await.unwrap();
    tls.flush().await.unwrap();
    let mut response = Vec::new();
    tls.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(
        response.contains("\"displayName\":\"Drained\""),
        "{response}"
    );

    let status = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .expect("exits after draining")
        .unwrap();
    assert!(status.success(), "{status}");

    // The answered write is stored.
    let store = palisade_store::Store::open_sqlite(&data.join("palisade.db"))
        .await
        .unwrap();
    let tenants = store.list_tenants().await.unwrap();
    assert_eq!(
        tenants
            .iter()
            .filter(|t| t.display_name == "Drained")
            .count(),
        1
    );
}
