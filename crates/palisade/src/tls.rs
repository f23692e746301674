//! TLS: a local certificate authority created on first start, and a server certificate it
//! signs for `localhost`, `127.0.0.1`, `::1` and the configured host names.
//!
//! The CA certificate (`ca.pem`) is what clients trust (`SSL_CERT_FILE`,
//! `REQUESTS_CA_BUNDLE`, `--cacert`); its key (`ca-key.pem`, mode 0600) never leaves the
//! data directory. The server certificate is issued afresh at every start.

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// File name of the CA certificate in the data directory.
pub const CA_CERT_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca-key.pem";

/// The path of the CA certificate in `data_dir`.
pub fn ca_path(data_dir: &Path) -> PathBuf {
    data_dir.join(CA_CERT_FILE)
}

fn ca_params() -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Palisade Local CA");
    dn.push(DnType::OrganizationName, "Palisade");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(10 * 365);
    Ok(params)
}

/// Writes `contents` to `path` readable by the owner only.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut f = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(contents)?;
    Ok(())
}

/// The local CA: loads it from `data_dir`, creating it on first start.
pub struct LocalCa {
    key: KeyPair,
    cert: rcgen::Certificate,
    /// Path of the CA certificate.
    pub cert_path: PathBuf,
}

impl LocalCa {
    /// Loads or creates the CA in `data_dir`.
    pub fn load_or_create(data_dir: &Path) -> Result<Self> {
        let cert_path = ca_path(data_dir);
        let key_path = data_dir.join(CA_KEY_FILE);
        if key_path.exists() && cert_path.exists() {
            let key = KeyPair::from_pem(&std::fs::read_to_string(&key_path)?)
                .context("reading the CA key")?;
            // Re-issuing with the same name and key gives an issuer identical for signing
            // purposes to the stored certificate, which is what clients trust.
            let cert = ca_params()?.self_signed(&key)?;
            return Ok(Self {
                key,
                cert,
                cert_path,
            });
        }
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let cert = ca_params()?.self_signed(&key)?;
        write_private(&key_path, key.serialize_pem().as_bytes())?;
        std::fs::write(&cert_path, cert.pem())?;
        Ok(Self {
            key,
            cert,
            cert_path,
        })
    }

    /// Issues a server certificate for the given names plus the loopback ones, and returns
    /// a rustls server configuration with it (HTTP/2 and HTTP/1.1).
    pub fn server_config(&self, hostnames: &[String]) -> Result<Arc<rustls::ServerConfig>> {
        let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
        for h in hostnames {
            if !names.iter().any(|n| n.eq_ignore_ascii_case(h)) {
                names.push(h.to_ascii_lowercase());
            }
        }
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].clone());
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse::<std::net::IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => Ok(SanType::DnsName(n.clone().try_into()?)),
            })
            .collect::<Result<_, rcgen::Error>>()?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(397);
        let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let leaf = params.signed_by(&leaf_key, &self.cert, &self.key)?;
        let chain = vec![leaf.der().clone()];
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}
