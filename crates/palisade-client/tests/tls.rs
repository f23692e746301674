//! The SDK trusts a private CA (as Palisade exports it) only when told to.

use std::sync::Arc;

use palisade_client::{
    reqwest, ClientSecretCredential, CredentialError, HttpConfig, TokenCredential,
    TokenEndpointVersion,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Starts a TLS server for `localhost` whose certificate is issued by a fresh CA; every
/// connection gets one v2 token response. Returns the CA PEM and the port.
async fn tls_token_server() -> (String, u16) {
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Palisade Test CA");
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .expect("leaf params")
        .signed_by(&leaf_key, &ca, &ca_key)
        .expect("leaf");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = vec![0u8; 8192];
                let mut read = 0;
                // Read the head and the (small) form body.
                loop {
                    let Ok(n) = tls.read(&mut buf[read..]).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    read += n;
                    let text = String::from_utf8_lossy(&buf[..read]).to_string();
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let len = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())
                                    .flatten()
                            })
                            .unwrap_or(0);
                        if read >= head_end + 4 + len {
                            break;
                        }
                    }
                }
                let body = r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"tls-token"}"#;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (ca.pem(), port)
}

fn credential(port: u16, http: reqwest::Client) -> ClientSecretCredential {
    ClientSecretCredential::builder("contoso.onmicrosoft.com", "app", "secret")
        .authority_host(format!("https://localhost:{port}"))
        .endpoint_version(TokenEndpointVersion::V2)
        .http_client(http)
        .build()
        .expect("credential")
}

#[tokio::test]
async fn private_ca_is_trusted_only_when_added() {
    let (ca_pem, port) = tls_token_server().await;

    // Public roots only: the handshake fails.
    let plain = HttpConfig::new().build().expect("client");
    match credential(port, plain)
        .get_token("https://api.security.microsoft.com")
        .await
    {
        Err(CredentialError::Http(_)) => {}
        other => panic!("expected a TLS failure, got {other:?}"),
    }

    // CA from PEM bytes.
    let http = HttpConfig::new()
        .add_root_certificate_pem(ca_pem.as_bytes())
        .expect("pem")
        .build()
        .expect("client");
    let token = credential(port, http)
        .get_token("https://api.security.microsoft.com")
        .await
        .expect("token over TLS");
    assert_eq!(token.token, "tls-token");

    // CA from a file.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, &ca_pem).expect("write");
    let http = HttpConfig::new()
        .add_root_certificate_file(&path)
        .expect("file")
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("client");
    let token = credential(port, http)
        .get_token("https://api.security.microsoft.com")
        .await
        .expect("token over TLS");
    assert_eq!(token.token, "tls-token");
}
