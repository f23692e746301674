//! `palisade serve`: the server with its quotas, and the demo's printout.

use super::DataDirArg;
use super::KekArg;
use crate::demo;
use crate::server::{self, ServerConfig, ADMIN_KEY_FILE};
use anyhow::Result;
use clap::Args;
use palisade_clock::SystemClock;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    data: DataDirArg,
    /// Address to listen on.
    #[arg(long, env = "PALISADE_LISTEN", default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Serve plain HTTP instead of HTTPS (only for trusted local setups).
    #[arg(long)]
    plain_http: bool,
    /// Extra host names for the server certificate (repeatable), e.g. login.microsoftonline.com.
    #[arg(long = "host", value_name = "NAME")]
    hosts: Vec<String>,
    /// Create (once) and print a demo tenant with an app granted the Defender permissions,
    /// and seed its incident history.
    #[arg(long)]
    demo: bool,
    /// With --demo: do not create the `demo` context in the config file, nor make it current.
    #[arg(long, requires = "demo")]
    no_context: bool,
    /// Switch the Defender API quotas off (load tests, query corpora).
    #[arg(long, conflicts_with = "quotas")]
    no_quotas: bool,
    /// Replace an operation's quotas, e.g. `--quota list=100/min --quota list=3000/h`
    /// (operations: list, get, update, hunting, and Graph's directory-units and
    /// directory-writes; windows: min, h). Repeatable; operations
    /// not named keep the documented defaults.
    #[arg(long = "quota", value_name = "OP=N/WINDOW", value_parser = parse_quota)]
    quotas: Vec<(String, palisade_defender::QuotaLimit)>,
    /// A MaxMind City database (GeoLite2-City or GeoIP2-City, `.mmdb`) for the hunting
    /// function `geo_info_from_ip_address`; without one it answers null and the response's
    /// stats say so. An unreadable or invalid file stops the start.
    #[arg(long, env = "PALISADE_GEOIP", value_name = "FILE")]
    geoip: Option<std::path::PathBuf>,
    #[command(flatten)]
    kek: KekArg,
}

/// The operations `--quota` sets: the Defender API's, and the Graph directory's resource
/// units and writes.
const QUOTA_OPS: [&str; 6] = [
    "list",
    "get",
    "update",
    "hunting",
    "directory-units",
    "directory-writes",
];

/// Parses `OP=N/WINDOW` for `--quota`.
fn parse_quota(s: &str) -> Result<(String, palisade_defender::QuotaLimit), String> {
    let (op, rest) = s
        .split_once('=')
        .ok_or("expected OP=N/WINDOW, e.g. list=50/min")?;
    let op = op.trim().to_ascii_lowercase();
    if !QUOTA_OPS.contains(&op.as_str()) {
        return Err(format!(
            "unknown operation '{op}': use {}",
            QUOTA_OPS.join(", ")
        ));
    }
    let (n, window) = rest
        .split_once('/')
        .ok_or("expected N/WINDOW, e.g. 50/min")?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("'{n}' is not a whole number"))?;
    let limit = match window.trim() {
        "min" | "m" | "minute" => palisade_defender::QuotaLimit::per_minute(n),
        "h" | "hour" => palisade_defender::QuotaLimit::per_hour(n),
        other => return Err(format!("unknown window '{other}': use min or h")),
    };
    Ok((op, limit))
}

/// The documented quotas with the operator's replacements.
fn quota_config(
    no_quotas: bool,
    overrides: &[(String, palisade_defender::QuotaLimit)],
) -> palisade_defender::QuotaConfig {
    if no_quotas {
        return palisade_defender::QuotaConfig::disabled();
    }
    let mut config = palisade_defender::QuotaConfig::default();
    for op in QUOTA_OPS {
        let limits: Vec<_> = overrides
            .iter()
            .filter(|(o, _)| o == op)
            .map(|(_, l)| *l)
            .collect();
        if limits.is_empty() {
            continue;
        }
        match op {
            "list" => config.list_incidents = limits,
            "get" => config.get_incident = limits,
            "update" => config.update_incident = limits,
            "directory-units" => config.directory_units = limits,
            "directory-writes" => config.directory_writes = limits,
            _ => config.hunting = limits,
        }
    }
    config
}

pub(crate) async fn serve(args: ServeArgs) -> Result<()> {
    let config = ServerConfig {
        data_dir: args.data.data_dir.clone(),
        listen: args.listen,
        plain_http: args.plain_http,
        hostnames: args.hosts,
        quotas: quota_config(args.no_quotas, &args.quotas),
        kek: crate::kek::KekSource::from_args(args.kek.kek_file),
        geoip: args.geoip,
    };
    let running = server::start(config, Arc::new(SystemClock)).await?;
    println!("Palisade listening on {}", running.base_url);
    if let Some(ca) = &running.ca_path {
        let ca = std::fs::canonicalize(ca).unwrap_or(ca.clone());
        println!(
            "CA certificate: {}  (curl --cacert, REQUESTS_CA_BUNDLE for Python, or: palisade ca install)",
            ca.display()
        );
    }
    if running.new_admin_key.is_some() {
        println!(
            "Admin key written to {}",
            args.data.data_dir.join(ADMIN_KEY_FILE).display()
        );
    }
    if args.demo {
        let demo = demo::ensure(&running, &args.data.data_dir).await?;
        let config = std::fs::canonicalize(args.data.data_dir.join(demo::CLIENT_CONFIG_FILE))?;
        println!();
        println!("Demo tenant:   {} ({})", demo.tenant_id, demo.domain);
        println!("Client id:     {}", demo.client_id);
        println!("Client secret: {}", demo.client_secret);
        println!(
            "Public client: {}  (delegated: {}, admin consent)",
            demo.public_client_id,
            demo::DEMO_DELEGATED.join(" ")
        );
        println!("Users:");
        for u in &demo.users {
            let scope = if u.device_groups.is_empty() {
                String::new()
            } else {
                format!(", device groups: {}", u.device_groups.join(", "))
            };
            println!("  {:<48} {}  ({}{scope})", u.upn, u.password, u.role);
        }
        println!("Incidents:     {} in the demo tenant", demo.incidents);
        if demo.events > 0 {
            println!("Events:        {} advanced-hunting events seeded (palisade seed --events N for more)", demo.events);
        }
        let partner = crate::demo_partner::ensure(&running, &args.data.data_dir).await?;
        println!();
        crate::demo_partner::print(&partner, &running.base_url);
        println!();
        println!(
            "Hello world:   palisade hello --config {}",
            config.display()
        );
        println!(
            "          or:  cargo run -q -p palisade -- hello --config {}",
            config.display()
        );
        println!(
            "Sign in:       palisade login --config {}   (then: palisade whoami, palisade incidents list)",
            config.display()
        );
        if !args.no_context {
            match demo_context(&running, &args.data.data_dir, &demo) {
                Ok(path) => println!(
                    "Context:       demo (current; {}) — palisade incidents list, palisade hunt, palisade doctor",
                    path.display()
                ),
                Err(e) => eprintln!("warning: the demo context was not saved: {e:#}"),
            }
        }
    }
    running.run_until(shutdown_signal()).await
}

/// SIGTERM or Ctrl-C: the server then drains in-flight requests before exiting.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Creates (or refreshes) the `demo` context — this server, its CA, the demo tenant and app,
/// the app's secret in the 0600 secrets file — and makes it current. Returns the config file.
fn demo_context(
    running: &server::RunningServer,
    data_dir: &std::path::Path,
    demo: &demo::Demo,
) -> Result<std::path::PathBuf> {
    use crate::config::{Config, ContextSettings};
    let mut config = Config::load_default(None)?;
    config.put_context(
        DEMO_CONTEXT,
        ContextSettings {
            server: Some(running.base_url.clone()),
            ca_file: running
                .ca_path
                .as_deref()
                .and_then(|p| std::fs::canonicalize(p).ok()),
            tenant_id: Some(demo.tenant_id.clone()),
            client_id: Some(demo.client_id.clone()),
            client_secret: Some(demo.client_secret.clone()),
            public_client_id: Some(demo.public_client_id.clone()),
            data_dir: std::fs::canonicalize(data_dir).ok(),
            ..ContextSettings::default()
        },
    );
    config.use_context(DEMO_CONTEXT)?;
    config.save()?;
    Ok(config.path)
}

/// The context `serve --demo` creates.
pub(crate) const DEMO_CONTEXT: &str = "demo";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_flags_replace_only_the_named_operations() {
        let overrides = vec![
            parse_quota("list=100/min").unwrap(),
            parse_quota("list=3000/h").unwrap(),
            parse_quota("hunting=10/min").unwrap(),
        ];
        let c = quota_config(false, &overrides);
        assert_eq!(
            c.list_incidents,
            vec![
                palisade_defender::QuotaLimit::per_minute(100),
                palisade_defender::QuotaLimit::per_hour(3000)
            ]
        );
        assert_eq!(
            c.hunting,
            vec![palisade_defender::QuotaLimit::per_minute(10)]
        );
        assert_eq!(
            c.get_incident,
            palisade_defender::QuotaConfig::default().get_incident
        );
        assert!(c.enabled);
        assert!(!quota_config(true, &overrides).enabled);
        for bad in [
            "list",
            "list=x/min",
            "delete=1/min",
            "get=5/day",
            "get=-1/min",
        ] {
            assert!(parse_quota(bad).is_err(), "{bad}");
        }
    }
}
