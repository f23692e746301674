//! Certificate credentials (`keyCredentials`): the credential Microsoft recommends over
//! secrets. An application holds public X.509 certificates; a client proves possession of
//! the private key by signing a client assertion (checked in `palisade-authority`'s
//! `assertion` module, which asks this module for the key by thumbprint).
//!
//! Rules (Entra's, and [inferred] where marked):
//! - the certificate is given as PEM, DER, or base64 DER (Graph's `key` property);
//! - only RSA keys of at least 2,048 bits are accepted (Entra's AADSTS50032 "weak key");
//! - `startDateTime`/`endDateTime` default to the certificate's own validity and may not
//!   reach outside it [inferred: Entra refuses an end after the certificate's expiry];
//! - `customKeyIdentifier` is the SHA-1 thumbprint; an assertion may also name the key by
//!   its SHA-256 thumbprint (`x5t#S256`);
//! - the same certificate twice on one application is a conflict.

use crate::directory::{new_guid, now_secs, Directory};
use crate::error::DirectoryError;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use palisade_store::{KeyCredentialRow, Thumbprint};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::public_key::PublicKey;

type Result<T> = std::result::Result<T, DirectoryError>;

/// Entra's minimum RSA key size for certificate credentials.
pub const MIN_RSA_BITS: usize = 2048;

/// What a certificate says about itself.
#[derive(Debug, Clone)]
pub struct CertificateInfo {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// SHA-1 of the DER.
    pub sha1: [u8; 20],
    /// SHA-256 of the DER.
    pub sha256: [u8; 32],
    /// The RSA public key, PKCS#1 `RSAPublicKey` DER (what signature verification takes).
    pub rsa_public_key: Vec<u8>,
    /// Modulus size in bits.
    pub key_bits: usize,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    /// The subject, RFC 4514 style.
    pub subject: String,
}

/// Reads a certificate given as PEM (`-----BEGIN CERTIFICATE-----`), DER, or base64 DER.
///
/// Binary DER is taken byte for byte: only the text forms are trimmed of surrounding
/// whitespace. (A DER certificate ends in signature bytes, and one in about fifty ends in
/// a byte that is ASCII whitespace; trimming it cut the certificate short.)
pub fn parse_certificate(input: &[u8]) -> Result<CertificateInfo> {
    if input.first() == Some(&DER_SEQUENCE) {
        return parse_certificate_der(input);
    }
    let invalid = |why: String| DirectoryError::Invalid(format!("invalid certificate: {why}"));
    let trimmed = trim_ascii(input);
    let der: Vec<u8> = if trimmed.starts_with(b"-----BEGIN") {
        let (_, pem) =
            x509_parser::pem::parse_x509_pem(trimmed).map_err(|e| invalid(format!("PEM: {e}")))?;
        if pem.label != "CERTIFICATE" {
            return Err(invalid(format!(
                "expected a CERTIFICATE PEM block, found {}",
                pem.label
            )));
        }
        pem.contents
    } else {
        let text: String = String::from_utf8_lossy(trimmed)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        STANDARD
            .decode(&text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| invalid("neither PEM, DER nor base64 DER".into()))?
    };
    parse_certificate_der(&der)
}

/// The first byte of a DER certificate (a SEQUENCE).
const DER_SEQUENCE: u8 = 0x30;

/// Reads a DER certificate exactly as given (how stored certificates are read back).
pub fn parse_certificate_der(der: &[u8]) -> Result<CertificateInfo> {
    let invalid = |why: String| DirectoryError::Invalid(format!("invalid certificate: {why}"));
    let (rest, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| invalid(e.to_string()))?;
    if !rest.is_empty() {
        return Err(invalid("trailing bytes after the certificate".into()));
    }
    let spki = cert.public_key();
    let key_bits = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => rsa.key_size(),
        Ok(_) => {
            return Err(invalid(
                "only RSA keys are supported for certificate credentials".into(),
            ))
        }
        Err(e) => return Err(invalid(format!("public key: {e}"))),
    };
    if key_bits < MIN_RSA_BITS {
        return Err(invalid(format!(
            "the key has {key_bits} bits; at least {MIN_RSA_BITS} are required"
        )));
    }
    let rsa_public_key = spki.subject_public_key.data.to_vec();
    let validity = cert.validity();
    let info = CertificateInfo {
        sha1: Sha1::digest(der).into(),
        sha256: Sha256::digest(der).into(),
        rsa_public_key,
        key_bits,
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        subject: cert.subject().to_string(),
        der: der.to_vec(),
    };
    Ok(info)
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

/// The base64url SHA-1 thumbprint (the `x5t` a client puts in its assertion header).
pub fn x5t(info: &CertificateInfo) -> String {
    URL_SAFE_NO_PAD.encode(info.sha1)
}

/// Upper-case hex of a thumbprint (how the portal and `az` print it).
pub fn thumbprint_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A certificate to register.
#[derive(Debug, Clone, Default)]
pub struct NewKeyCredential {
    /// The certificate: PEM, DER or base64 DER.
    pub certificate: Vec<u8>,
    /// Description.
    pub display_name: Option<String>,
    /// Defaults to the certificate's notBefore.
    pub start: Option<OffsetDateTime>,
    /// Defaults to the certificate's notAfter.
    pub end: Option<OffsetDateTime>,
}

/// One entry of a PATCH of `keyCredentials`: a new certificate, or an existing one kept
/// by its key id.
#[derive(Debug, Clone)]
pub enum KeyCredentialPatch {
    /// Keep the registered credential with this key id.
    Keep(String),
    /// Register a new certificate.
    Add(NewKeyCredential),
}

impl Directory {
    fn key_row(
        &self,
        application_id: &str,
        new: NewKeyCredential,
        now: i64,
    ) -> Result<KeyCredentialRow> {
        let info = parse_certificate(&new.certificate)?;
        let start = new.start.map_or(info.not_before, |t| t.unix_timestamp());
        let end = new.end.map_or(info.not_after, |t| t.unix_timestamp());
        if end <= start {
            return Err(DirectoryError::Invalid(
                "endDateTime must be after startDateTime".into(),
            ));
        }
        if start < info.not_before || end > info.not_after {
            return Err(DirectoryError::Invalid(
                "startDateTime and endDateTime must lie within the certificate's validity".into(),
            ));
        }
        Ok(KeyCredentialRow {
            key_id: new_guid(),
            application_id: application_id.into(),
            display_name: new.display_name.or_else(|| Some(info.subject.clone())),
            key_type: "AsymmetricX509Cert".into(),
            key_usage: "Verify".into(),
            certificate_der: info.der,
            thumbprint_sha1: info.sha1.to_vec(),
            thumbprint_sha256: info.sha256.to_vec(),
            start_at: start,
            end_at: end,
            created_at: now,
        })
    }

    /// Registers a certificate on an application (`addKey`).
    pub async fn add_key(
        &self,
        tenant_id: &str,
        app: &str,
        new: NewKeyCredential,
    ) -> Result<KeyCredentialRow> {
        let app = self.get_application(tenant_id, app).await?;
        if app.is_public_client {
            return Err(DirectoryError::Invalid(
                "a public client application cannot have certificate credentials".into(),
            ));
        }
        let row = self.key_row(&app.id, new, now_secs(self.clock()))?;
        self.store().insert_key_credential(&row).await?;
        Ok(row)
    }

    /// Replaces an application's certificates (PATCH `keyCredentials`): entries naming an
    /// existing key id keep it, new certificates are added, the rest are removed, in one
    /// transaction.
    pub async fn replace_keys(
        &self,
        tenant_id: &str,
        app: &str,
        entries: Vec<KeyCredentialPatch>,
    ) -> Result<Vec<KeyCredentialRow>> {
        let app = self.get_application(tenant_id, app).await?;
        let existing = self.store().list_key_credentials(&app.id).await?;
        let now = now_secs(self.clock());
        let mut rows = Vec::new();
        for entry in entries {
            match entry {
                KeyCredentialPatch::Keep(key_id) => {
                    let kept = existing
                        .iter()
                        .find(|k| k.key_id.eq_ignore_ascii_case(&key_id))
                        .ok_or_else(|| {
                            DirectoryError::Invalid(format!(
                                "keyCredential {key_id} does not exist; give its 'key' to add a certificate"
                            ))
                        })?;
                    rows.push(kept.clone());
                }
                KeyCredentialPatch::Add(new) => {
                    if app.is_public_client {
                        return Err(DirectoryError::Invalid(
                            "a public client application cannot have certificate credentials"
                                .into(),
                        ));
                    }
                    rows.push(self.key_row(&app.id, new, now)?);
                }
            }
        }
        self.store().replace_key_credentials(&app.id, &rows).await?;
        Ok(rows)
    }

    /// The certificates of an application.
    pub async fn list_keys(&self, tenant_id: &str, app: &str) -> Result<Vec<KeyCredentialRow>> {
        let app = self.get_application(tenant_id, app).await?;
        Ok(self.store().list_key_credentials(&app.id).await?)
    }

    /// Removes a certificate (`removeKey`).
    pub async fn remove_key(&self, tenant_id: &str, app: &str, key_id: &str) -> Result<()> {
        let app = self.get_application(tenant_id, app).await?;
        if self.store().delete_key_credential(&app.id, key_id).await? {
            Ok(())
        } else {
            Err(DirectoryError::NotFound(format!("key credential {key_id}")))
        }
    }

    /// The certificate of an application (by object id) an assertion names, if registered.
    pub async fn find_assertion_key(
        &self,
        application_id: &str,
        thumbprint: Thumbprint<'_>,
    ) -> Result<Option<KeyCredentialRow>> {
        Ok(self
            .store()
            .find_key_credential(application_id, thumbprint)
            .await?)
    }

    /// Records a client assertion's `jti` for `app_id` until `expires_at`; false when it
    /// was already used (a replay).
    pub async fn record_assertion_jti(
        &self,
        app_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> Result<bool> {
        let hash = Sha256::digest(jti.as_bytes());
        Ok(self
            .store()
            .record_assertion_jti(
                &app_id.to_ascii_lowercase(),
                &hash,
                expires_at,
                now_secs(self.clock()),
            )
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::RsaKeyPair;

    /// A self-signed RSA-2048 certificate whose DER ends in `last` when `last` returns true:
    /// one key, certificates with successive serial numbers until one fits (PKCS#1 v1.5
    /// signatures are deterministic; about one certificate in fifty ends in whitespace).
    fn certificate_ending_in(last: impl Fn(u8) -> bool) -> Vec<u8> {
        let key = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let pkcs8 = key.as_der().unwrap().as_ref().to_vec();
        let kp = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
            &pkcs8.as_slice().into(),
            &rcgen::PKCS_RSA_SHA256,
        )
        .unwrap();
        for serial in 1u64..20_000 {
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            params.serial_number = Some(serial.into());
            let der = params.self_signed(&kp).unwrap().der().to_vec();
            if der.last().copied().is_some_and(&last) {
                return der;
            }
        }
        panic!("no certificate ending in the wanted byte");
    }

    #[test]
    fn der_ending_in_a_whitespace_byte_is_read_whole() {
        // The bug behind "Invalid proof: An internal error occurred": binary DER was trimmed
        // like text, so a certificate whose signature ended in 0x20/0x09/0x0A/0x0C/0x0D was
        // stored fine (from base64) but could not be read back to verify a signature.
        let der = certificate_ending_in(|b| b.is_ascii_whitespace());
        let info = parse_certificate(&der).expect("raw DER");
        assert_eq!(info.der, der);
        assert_eq!(parse_certificate_der(&der).expect("stored DER").der, der);
        let b64 = STANDARD.encode(&der);
        assert_eq!(parse_certificate(b64.as_bytes()).unwrap().der, der);
        let pem = format!("\n-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n\n");
        assert_eq!(parse_certificate(pem.as_bytes()).unwrap().sha1, info.sha1);
        // Text forms are still trimmed; DER with bytes after it is still refused.
        assert_eq!(
            parse_certificate(format!("  {b64}\r\n").as_bytes())
                .unwrap()
                .der,
            der
        );
        let mut longer = der.clone();
        longer.push(b' ');
        assert!(parse_certificate(&longer).is_err());
    }
}
