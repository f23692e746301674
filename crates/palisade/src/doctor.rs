//! `palisade doctor`: checks the current settings (context, flags, environment) end to
//! end and prints one line per check with its fix: the server answers, its certificate is
//! trusted by this CLI, by `curl` and by Python (the real tools, when installed), the tenant
//! exists, the credential gets a token, and the token allows incidents and hunting.
//! Failures of the CLI's own path exit non-zero; curl and Python are warnings.

use crate::client_cmds::DEFENDER_RESOURCE;
use crate::settings::{ClientArgs, Settings};
use anyhow::{bail, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::process::{Command, Stdio};

/// A check's outcome.
enum Outcome {
    Ok(String),
    Warn(String, String),
    Fail(String, String),
    Skip(String),
}

struct Report {
    failures: usize,
}

impl Report {
    fn line(&mut self, check: &str, outcome: Outcome) {
        match outcome {
            Outcome::Ok(detail) => println!("ok    {check:<34} {detail}"),
            Outcome::Skip(why) => println!("skip  {check:<34} {why}"),
            Outcome::Warn(what, fix) => println!("warn  {check:<34} {what} — fix: {fix}"),
            Outcome::Fail(what, fix) => {
                self.failures += 1;
                println!("FAIL  {check:<34} {what} — fix: {fix}");
            }
        }
    }
}

/// Runs `palisade doctor`.
pub async fn doctor(args: &ClientArgs) -> Result<()> {
    let settings = args.resolve()?;
    let mut report = Report { failures: 0 };
    report.line(
        "settings",
        Outcome::Ok(format!(
            "context {}; authority {}; API {}",
            settings
                .context
                .as_deref()
                .unwrap_or("(none: flags/environment)"),
            settings.authority,
            settings.api
        )),
    );
    let tenant = settings.tenant_id.clone();
    let discovery = format!(
        "{}/{}/v2.0/.well-known/openid-configuration",
        settings.authority.trim_end_matches('/'),
        tenant.as_deref().unwrap_or("common")
    );
    let ca_hint = ca_hint(&settings);
    let http = settings.http()?;
    let answer = http.get(&discovery).send().await;
    let answer = match answer {
        Ok(r) => {
            report.line("server answers", Outcome::Ok(settings.authority.clone()));
            report.line(
                "this CLI trusts its certificate",
                Outcome::Ok(settings.trust.describe()),
            );
            Some(r)
        }
        Err(e) => {
            let e = anyhow::Error::from(e);
            if crate::trust::explain_tls_failure(&e).is_some() {
                report.line("server answers", Outcome::Ok(settings.authority.clone()));
                report.line(
                    "this CLI trusts its certificate",
                    Outcome::Fail(
                        format!("not with {}", settings.trust.describe()),
                        format!("--ca-file {ca_hint} (or PALISADE_CA_FILE, or palisade context set --ca-file …)"),
                    ),
                );
            } else {
                report.line(
                    "server answers",
                    Outcome::Fail(
                        format!("{e:#}"),
                        "start it (palisade serve --demo) or set the server: palisade context set --server URL".into(),
                    ),
                );
            }
            None
        }
    };
    let url = settings.authority.trim_end_matches('/').to_string() + "/common/discovery/instance";
    report.line("curl trusts its certificate", curl(&url, &ca_hint));
    report.line("Python trusts its certificate", python(&url, &ca_hint));
    let Some(tenant) = tenant else {
        report.line(
            "tenant",
            Outcome::Fail(
                "no tenant set".into(),
                "--tenant-id, PALISADE_TENANT_ID, or palisade context set --tenant …".into(),
            ),
        );
        return finish(report);
    };
    if let Some(r) = answer {
        if r.status().is_success() {
            report.line("tenant exists", Outcome::Ok(tenant));
        } else {
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            let what = body["error_description"]
                .as_str()
                .and_then(|d| d.lines().next())
                .unwrap_or("not found")
                .to_string();
            report.line(
                "tenant exists",
                Outcome::Fail(
                    format!("{tenant}: {what}"),
                    "palisade admin tenant list; palisade context set --tenant ID".into(),
                ),
            );
            return finish(report);
        }
    }
    let token = match settings.credential() {
        Ok(c) => c
            .get_token(DEFENDER_RESOURCE)
            .await
            .map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    match token {
        Ok(t) => {
            report.line(
                "the credential gets a token",
                Outcome::Ok("for the Defender API".into()),
            );
            permissions(&mut report, &t.token);
        }
        Err(e) => report.line(
            "the credential gets a token",
            Outcome::Fail(
                format!("{e:#}"),
                "palisade context set --client-id ID --client-secret-stdin (or palisade login)"
                    .into(),
            ),
        ),
    }
    finish(report)
}

fn finish(report: Report) -> Result<()> {
    if report.failures > 0 {
        bail!("{} check(s) failed", report.failures);
    }
    Ok(())
}

/// The CA path to suggest: the one in force, else `$(palisade ca path)`.
fn ca_hint(settings: &Settings) -> String {
    settings
        .trust
        .path
        .as_deref()
        .map(|p| format!("\"{}\"", p.display()))
        .unwrap_or_else(|| "\"$(palisade ca path)\"".into())
}

/// The outcome of running `tool`; on failure, its first line of error output that starts
/// with `prefix` (curl's `curl: (60) …`), else its last line (Python's exception).
fn tool_outcome(
    tool: &str,
    prefix: &str,
    output: std::io::Result<std::process::Output>,
    fix: String,
) -> Outcome {
    match output {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Outcome::Skip(format!("{tool} is not installed"))
        }
        Err(e) => Outcome::Warn(format!("{tool} did not run: {e}"), fix),
        Ok(o) if o.status.success() => Outcome::Ok(format!("{tool}, with no extra option")),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let line = err
                .lines()
                .find(|l| !prefix.is_empty() && l.starts_with(prefix))
                .or_else(|| err.lines().rev().find(|l| !l.trim().is_empty()))
                .unwrap_or("failed");
            Outcome::Warn(line.trim().to_string(), fix)
        }
    }
}

/// The real curl, without `--cacert`.
fn curl(url: &str, ca: &str) -> Outcome {
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "--max-time", "10", url])
        .stdin(Stdio::null())
        .output();
    tool_outcome(
        "curl",
        "curl:",
        out,
        format!("curl --cacert {ca} …, or trust it system-wide: palisade ca install"),
    )
}

/// The real Python (`urllib`, the standard library's default trust).
fn python(url: &str, ca: &str) -> Outcome {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)",
            url,
        ])
        .stdin(Stdio::null())
        .output();
    tool_outcome(
        "python3",
        "",
        out,
        format!(
            "export SSL_CERT_FILE={ca} (urllib) / REQUESTS_CA_BUNDLE={ca} (requests, MSAL), or palisade ca install"
        ),
    )
}

/// Whether the token's `roles` (app) or `scp` (user) allow incidents and hunting.
fn permissions(report: &mut Report, token: &str) {
    let claims: serde_json::Value = token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut granted: Vec<String> = claims["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect();
    if let Some(scp) = claims["scp"].as_str() {
        granted.extend(scp.split(' ').map(str::to_string));
    }
    let app = claims["scp"].is_null();
    for (what, accepted, needed) in [
        (
            "token allows incidents",
            [
                "Incident.Read.All",
                "Incident.ReadWrite.All",
                "Incident.Read",
                "Incident.ReadWrite",
            ],
            if app {
                "Incident.Read.All"
            } else {
                "Incident.Read"
            },
        ),
        (
            "token allows hunting",
            ["AdvancedHunting.Read.All", "AdvancedHunting.Read", "", ""],
            if app {
                "AdvancedHunting.Read.All"
            } else {
                "AdvancedHunting.Read"
            },
        ),
    ] {
        match granted
            .iter()
            .find(|g| !g.is_empty() && accepted.contains(&g.as_str()))
        {
            Some(g) => report.line(what, Outcome::Ok(g.clone())),
            None => report.line(
                what,
                Outcome::Fail(
                    format!(
                        "the token has {}",
                        if granted.is_empty() {
                            "no permission".to_string()
                        } else {
                            granted.join(" ")
                        }
                    ),
                    format!(
                        "palisade admin grant APP {needed}{}",
                        if app { "" } else { " --delegated" }
                    ),
                ),
            ),
        }
    }
}
