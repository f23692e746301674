//! `palisade admin cert …` (certificate credentials of an app registration) and
//! `palisade admin app remove-consent` (a customer tenant removing a partner's app).

use crate::admin_client::{find_app, AdminClient};
use crate::output::{emit, field, Format};
use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Subcommand;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// `palisade admin cert …`.
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Register a certificate (PEM or DER; a PEM that also holds the private key is fine:
    /// only the certificate is sent).
    Add {
        /// Client id, object id or display name.
        app: String,
        /// The certificate file.
        file: PathBuf,
        /// Description.
        #[arg(long)]
        name: Option<String>,
    },
    /// Make a self-signed certificate and key (RSA-2048, SHA-256), register the
    /// certificate, and write cert.pem, key.pem (0600) and cert-and-key.pem (0600) to DIR,
    /// like `az ad sp create-for-rbac --create-cert`.
    Create {
        /// Client id, object id or display name.
        app: String,
        /// Where to write the files.
        #[arg(long)]
        out: PathBuf,
        /// Years of validity.
        #[arg(long, default_value_t = 1)]
        years: i64,
    },
    /// List an application's certificates.
    List {
        /// Client id, object id or display name.
        app: String,
    },
    /// Remove a certificate.
    Remove {
        /// Client id, object id or display name.
        app: String,
        /// The credential's key id.
        key_id: String,
    },
}

fn cert_row(k: &Value) -> Vec<String> {
    vec![
        field(k, "/keyId"),
        field(k, "/customKeyIdentifier"),
        field(k, "/displayName"),
        field(k, "/startDateTime"),
        field(k, "/endDateTime"),
    ]
}

const HEADERS: [&str; 5] = ["KEY ID", "THUMBPRINT", "NAME", "START", "END"];

/// The DER certificate in a PEM or DER file.
pub fn certificate_der(bytes: &[u8]) -> Result<Vec<u8>> {
    if bytes.first() == Some(&0x30) {
        return Ok(bytes.to_vec());
    }
    let mut reader = std::io::BufReader::new(bytes);
    for item in rustls_pemfile::read_all(&mut reader) {
        if let rustls_pemfile::Item::X509Certificate(der) = item.context("reading PEM")? {
            return Ok(der.to_vec());
        }
    }
    bail!("no CERTIFICATE in the file (PEM or DER expected)")
}

/// Adds a certificate to the app's keyCredentials with PATCH (keeping the others) and
/// returns the new credential.
async fn add_certificate(
    client: &AdminClient,
    tenant: &str,
    app: &Value,
    der: &[u8],
    name: Option<&str>,
) -> Result<Value> {
    let id = field(app, "/id");
    let existing: Vec<String> = app["keyCredentials"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| field(k, "/keyId"))
        .collect();
    let mut entries: Vec<Value> = existing.iter().map(|k| json!({"keyId": k})).collect();
    entries.push(json!({
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
        "key": STANDARD.encode(der),
        "displayName": name,
    }));
    client
        .patch(
            &format!("/admin/{tenant}/v1.0/applications/{id}"),
            &json!({"keyCredentials": entries}),
        )
        .await?;
    let after = client
        .get(&format!("/admin/{tenant}/v1.0/applications/{id}"))
        .await?;
    after["keyCredentials"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| !existing.contains(&field(k, "/keyId")))
        .cloned()
        .context("the certificate was not registered")
}

/// A self-signed RSA-2048 certificate for `subject`: (certificate PEM, PKCS#8 key PEM).
pub fn self_signed(subject: &str, years: i64) -> Result<(String, String, Vec<u8>)> {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::RsaKeyPair;
    let key = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|e| anyhow::anyhow!("{e}"))?;
    let pkcs8 = key.as_der().map_err(|e| anyhow::anyhow!("{e}"))?;
    let pkcs8 = pkcs8.as_ref().to_vec();
    let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &pkcs8.as_slice().into(),
        &rcgen::PKCS_RSA_SHA256,
    )?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, subject);
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(365 * years.clamp(1, 10));
    let cert = params.self_signed(&key_pair)?;
    Ok((cert.pem(), key_pair.serialize_pem(), cert.der().to_vec()))
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

/// Runs `palisade admin cert …`.
pub async fn cert(
    client: &AdminClient,
    tenant: &str,
    out: Format,
    command: &CertCommand,
) -> Result<()> {
    match command {
        CertCommand::Add { app, file, name } => {
            let a = find_app(client, tenant, app).await?;
            let bytes =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let der = certificate_der(&bytes)?;
            let k = add_certificate(client, tenant, &a, &der, name.as_deref()).await?;
            emit(out, &k, &HEADERS, vec![cert_row(&k)]);
        }
        CertCommand::Create {
            app,
            out: dir,
            years,
        } => {
            let a = find_app(client, tenant, app).await?;
            let (cert_pem, key_pem, der) =
                self_signed(&format!("CN={}", field(&a, "/displayName")), *years)?;
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let k = add_certificate(client, tenant, &a, &der, Some("palisade admin cert create"))
                .await?;
            std::fs::write(dir.join("cert.pem"), &cert_pem)?;
            write_private(&dir.join("key.pem"), &key_pem)?;
            write_private(
                &dir.join("cert-and-key.pem"),
                &format!("{key_pem}{cert_pem}"),
            )?;
            let mut v = k.clone();
            v["files"] = json!({
                "certificate": dir.join("cert.pem"),
                "privateKey": dir.join("key.pem"),
                "certificateAndKey": dir.join("cert-and-key.pem"),
            });
            emit(out, &v, &HEADERS, vec![cert_row(&k)]);
            if matches!(out, Format::Table) {
                eprintln!(
                    "Wrote {} (use with --certificate), cert.pem and key.pem in {}",
                    dir.join("cert-and-key.pem").display(),
                    dir.display()
                );
            }
        }
        CertCommand::List { app } => {
            let a = find_app(client, tenant, app).await?;
            let keys = a["keyCredentials"].clone();
            let rows = keys
                .as_array()
                .map(|v| v.iter().map(cert_row).collect())
                .unwrap_or_default();
            emit(out, &json!({"value": keys}), &HEADERS, rows);
        }
        CertCommand::Remove { app, key_id } => {
            let a = find_app(client, tenant, app).await?;
            let kept: Vec<Value> = a["keyCredentials"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|k| field(k, "/keyId"))
                .filter(|k| !k.eq_ignore_ascii_case(key_id))
                .map(|k| json!({"keyId": k}))
                .collect();
            if kept.len() == a["keyCredentials"].as_array().map_or(0, Vec::len) {
                bail!(
                    "application {} has no certificate {key_id}",
                    field(&a, "/appId")
                );
            }
            client
                .patch(
                    &format!("/admin/{tenant}/v1.0/applications/{}", field(&a, "/id")),
                    &json!({"keyCredentials": kept}),
                )
                .await?;
            emit(
                out,
                &json!({"removed": key_id}),
                &["REMOVED"],
                vec![vec![key_id.clone()]],
            );
        }
    }
    Ok(())
}

/// `palisade admin -t CUSTOMER app remove-consent APP`: deletes the app's service principal
/// in the tenant, and with it every permission the tenant granted it.
pub async fn remove_consent(
    client: &AdminClient,
    tenant: &str,
    out: Format,
    app: &str,
) -> Result<()> {
    let sps = client
        .get(&format!("/admin/{tenant}/v1.0/servicePrincipals"))
        .await?;
    let matches: Vec<&Value> = sps["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|sp| {
            field(sp, "/appId").eq_ignore_ascii_case(app)
                || field(sp, "/id").eq_ignore_ascii_case(app)
                || field(sp, "/displayName") == app
        })
        .collect();
    let sp = match matches.as_slice() {
        [one] => *one,
        [] => bail!(
            "application '{app}' has no service principal in tenant {tenant}: nothing is consented"
        ),
        _ => bail!(
            "{} service principals match '{app}': use the client id",
            matches.len()
        ),
    };
    client
        .delete(&format!(
            "/admin/{tenant}/v1.0/servicePrincipals/{}",
            field(sp, "/id")
        ))
        .await?;
    emit(
        out,
        &json!({"removed": field(sp, "/appId"), "servicePrincipal": field(sp, "/id")}),
        &["REMOVED CONSENT FOR", "SERVICE PRINCIPAL"],
        vec![vec![field(sp, "/appId"), field(sp, "/id")]],
    );
    Ok(())
}
