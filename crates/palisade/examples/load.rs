//! A small HTTP load generator for Palisade's load benchmarks and soak test
//! (`scripts/bench-load.sh`, `scripts/soak.sh` drive it). Bounded in time; loopback
//! targets only.
//!
//! ```text
//! load tokens --url URL --form 'grant_type=…&…' [--ca FILE] [COMMON]
//! load get    --url URL [--bearer TOKEN] [--ca FILE] [COMMON]
//! load hunt   --base URL --bearer TOKEN --query KQL [--ca FILE] [COMMON]
//!             POST /api/advancedhunting/run with that query
//! load mix    --base URL --tenant TID --form 'grant_type=…&…' [--ca FILE] [COMMON]
//!             token 20 %, incident list ($top=100) 30 %, get 25 %, PATCH (assignedTo) 15 %,
//!             hunting 10 %; one line per operation and a total
//! load serve-bare --data-dir DIR --body FILE        a bare axum handler serving FILE over the same TLS
//!
//! COMMON: [--seconds 10] [--concurrency 16] [--rate R] [--pid PID]
//!   --rate R   open loop at R requests/s in total (latency counted from each request's
//!              scheduled time, so a stalled server is not hidden); default: closed loop
//!   --pid PID  samples that process's resident memory every second while loading
//! ```

use anyhow::{bail, Context, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Opts {
    args: Vec<String>,
}

impl Opts {
    fn get(&self, name: &str) -> Option<String> {
        self.args
            .iter()
            .position(|a| a == name)
            .and_then(|i| self.args.get(i + 1))
            .cloned()
    }
    fn num(&self, name: &str, default: u64) -> Result<u64> {
        Ok(match self.get(name) {
            Some(v) => v
                .parse()
                .with_context(|| format!("{name} takes a number"))?,
            None => default,
        })
    }
}

fn client(ca: Option<String>) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder().pool_max_idle_per_host(256);
    if let Some(ca) = ca {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ca)?)?);
    }
    Ok(b.build()?)
}

fn is_loopback(url: &str) -> bool {
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

/// The hunting query of the `mix` load.
const MIX_HUNT_QUERY: &str =
    "DeviceProcessEvents | summarize n = count() by DeviceName | top 5 by n";

/// One kind of request in a load.
#[derive(Clone)]
enum Op {
    Token {
        url: String,
        form: String,
    },
    Get {
        url: String,
        bearer: Option<String>,
    },
    List {
        base: String,
        bearer: String,
    },
    GetIncident {
        base: String,
        bearer: String,
        ids: Arc<Vec<i64>>,
    },
    Patch {
        base: String,
        bearer: String,
        ids: Arc<Vec<i64>>,
    },
    Hunt {
        base: String,
        bearer: String,
        query: String,
    },
}

impl Op {
    fn name(&self) -> &'static str {
        match self {
            Op::Token { .. } => "token",
            Op::Get { .. } => "get",
            Op::List { .. } => "list",
            Op::GetIncident { .. } => "get-incident",
            Op::Patch { .. } => "patch",
            Op::Hunt { .. } => "hunting",
        }
    }

    fn request(&self, http: &reqwest::Client, n: u64) -> reqwest::RequestBuilder {
        let pick = |ids: &Arc<Vec<i64>>| ids[(n as usize * 7919) % ids.len()];
        match self {
            Op::Token { url, form } => http
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.clone()),
            Op::Get { url, bearer } => {
                let r = http.get(url);
                match bearer {
                    Some(b) => r.bearer_auth(b),
                    None => r,
                }
            }
            Op::List { base, bearer } => http
                .get(format!("{base}/api/incidents?$top=100"))
                .bearer_auth(bearer),
            Op::GetIncident { base, bearer, ids } => http
                .get(format!("{base}/api/incidents/{}", pick(ids)))
                .bearer_auth(bearer),
            Op::Patch { base, bearer, ids } => http
                .patch(format!("{base}/api/incidents/{}", pick(ids)))
                .bearer_auth(bearer)
                .json(&serde_json::json!({"assignedTo": format!("soak{}@palisadedemo.onmicrosoft.com", n % 50)})),
            Op::Hunt {
                base,
                bearer,
                query,
            } => http
                .post(format!("{base}/api/advancedhunting/run"))
                .bearer_auth(bearer)
                .json(&serde_json::json!({ "Query": query })),
        }
    }
}

#[derive(Default)]
struct Tally {
    lat: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

fn resident_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 - 1.0) * p) as usize)
        .copied()
        .unwrap_or(0) as f64
        / 1000.0
}

/// Runs `ops` (weighted) for `seconds` on `concurrency` connections, closed loop or at
/// `rate` requests/s; prints one line per operation (when there are several) and a total.
async fn run_load(
    http: reqwest::Client,
    seconds: u64,
    concurrency: u64,
    rate: Option<f64>,
    ops: Vec<(u32, Op)>,
    pid: Option<u32>,
) -> Result<()> {
    let wheel: Arc<Vec<usize>> = Arc::new(
        ops.iter()
            .enumerate()
            .flat_map(|(i, (w, _))| std::iter::repeat_n(i, *w as usize))
            .collect(),
    );
    let ops = Arc::new(ops);
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let interval = rate.map(|r| Duration::from_secs_f64(concurrency as f64 / r.max(0.001)));
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (stop, ops, wheel, http) = (stop.clone(), ops.clone(), wheel.clone(), http.clone());
        tasks.push(tokio::spawn(async move {
            let mut tallies: Vec<Tally> = (0..ops.len()).map(|_| Tally::default()).collect();
            let mut n = worker;
            let mut due = interval.map(|i| start + i.mul_f64(worker as f64 / concurrency as f64));
            while !stop.load(Ordering::Relaxed) {
                if let (Some(d), Some(i)) = (due, interval) {
                    tokio::time::sleep_until(d.into()).await;
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    due = Some(d + i);
                }
                let k = wheel[(n as usize * 2654435761) % wheel.len()];
                let t0 = due
                    .map(|d| d - interval.unwrap_or_default())
                    .unwrap_or_else(Instant::now);
                let outcome = ops[k].1.request(&http, n).send().await;
                let tally = &mut tallies[k];
                match outcome {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        tally.lat.push(t0.elapsed().as_micros() as u64);
                    }
                    Ok(r) => {
                        tally.errors += 1;
                        if tally.first_error.is_none() {
                            let status = r.status();
                            let body = r.text().await.unwrap_or_default();
                            tally.first_error =
                                Some(format!("{status} {}", &body[..body.len().min(200)]));
                        }
                    }
                    Err(e) => {
                        tally.errors += 1;
                        tally.first_error.get_or_insert_with(|| e.to_string());
                    }
                }
                n += concurrency;
            }
            tallies
        }));
    }
    let sampler = pid.map(|pid| {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let Some(mb) = resident_mb(pid) {
                    samples.push(mb);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            samples
        })
    });
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut merged: Vec<Tally> = (0..ops.len()).map(|_| Tally::default()).collect();
    for t in tasks {
        for (m, t) in merged.iter_mut().zip(t.await?) {
            m.lat.extend(t.lat);
            m.errors += t.errors;
            if m.first_error.is_none() {
                m.first_error = t.first_error;
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut all = Vec::new();
    let mut errors = 0;
    for (tally, (_, op)) in merged.iter_mut().zip(ops.iter()) {
        tally.lat.sort_unstable();
        if ops.len() > 1 {
            println!(
                "op={} requests={} errors={} rps={:.0} p50_ms={:.2} p99_ms={:.2}",
                op.name(),
                tally.lat.len(),
                tally.errors,
                tally.lat.len() as f64 / elapsed,
                percentile(&tally.lat, 0.50),
                percentile(&tally.lat, 0.99)
            );
        }
        if let Some(e) = &tally.first_error {
            eprintln!("first {} error: {e}", op.name());
        }
        all.extend_from_slice(&tally.lat);
        errors += tally.errors;
    }
    all.sort_unstable();
    println!(
        "requests={} errors={} seconds={:.1} rps={:.0} p50_ms={:.2} p99_ms={:.2}",
        all.len(),
        errors,
        elapsed,
        all.len() as f64 / elapsed,
        percentile(&all, 0.50),
        percentile(&all, 0.99)
    );
    if let Some(s) = sampler {
        let samples = s.await?;
        if !samples.is_empty() {
            let max = samples.iter().cloned().fold(0.0, f64::max);
            println!(
                "rss_mb_first={:.1} rss_mb_last={:.1} rss_mb_max={max:.1} rss_mb_samples={}",
                samples[0],
                samples[samples.len() - 1],
                samples
                    .iter()
                    .map(|m| format!("{m:.0}"))
                    .collect::<Vec<_>>()
                    .join(",")
            );
        }
    }
    Ok(())
}

/// The mix of the soak test: gets a token, the demo incident ids, then builds the ops.
async fn mix_ops(http: &reqwest::Client, o: &Opts) -> Result<Vec<(u32, Op)>> {
    let base = o.get("--base").context("--base")?;
    let tenant = o.get("--tenant").context("--tenant")?;
    let form = o.get("--form").context("--form")?;
    let token_url = format!("{base}/{tenant}/oauth2/token");
    let token: serde_json::Value = http
        .post(&token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.clone())
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let bearer = token["access_token"]
        .as_str()
        .context("no access_token")?
        .to_string();
    let page: serde_json::Value = http
        .get(format!("{base}/api/incidents?$top=100"))
        .bearer_auth(&bearer)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let ids: Vec<i64> = page["value"]
        .as_array()
        .context("no incidents")?
        .iter()
        .filter_map(|i| i["incidentId"].as_i64())
        .collect();
    if ids.is_empty() {
        bail!("the tenant has no incidents");
    }
    let ids = Arc::new(ids);
    Ok(vec![
        (
            20,
            Op::Token {
                url: token_url,
                form,
            },
        ),
        (
            30,
            Op::List {
                base: base.clone(),
                bearer: bearer.clone(),
            },
        ),
        (
            25,
            Op::GetIncident {
                base: base.clone(),
                bearer: bearer.clone(),
                ids: ids.clone(),
            },
        ),
        (
            15,
            Op::Patch {
                base: base.clone(),
                bearer: bearer.clone(),
                ids,
            },
        ),
        (
            10,
            Op::Hunt {
                base,
                bearer,
                query: MIX_HUNT_QUERY.to_string(),
            },
        ),
    ])
}

async fn serve_bare(data_dir: &str, body: &str) -> Result<()> {
    let body = Arc::new(std::fs::read(body)?);
    let ca = palisade::tls::LocalCa::load_or_create(std::path::Path::new(data_dir))?;
    let tls = tokio_rustls::TlsAcceptor::from(ca.server_config(&[])?);
    let app = axum::Router::new().route(
        "/api/incidents",
        axum::routing::get(move || {
            let body = body.clone();
            async move {
                (
                    [("content-type", "application/json; charset=utf-8")],
                    body.as_ref().clone(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!(
        "bare listening on https://localhost:{}",
        listener.local_addr()?.port()
    );
    palisade::server::serve_tls(listener, tls, app).await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first().cloned() else {
        bail!("usage: load tokens|get|hunt|mix|serve-bare … (raw signing: palisade-authority's rsa_rate example)")
    };
    let o = Opts { args };
    let seconds = o.num("--seconds", 10)?.min(3600);
    let concurrency = o.num("--concurrency", 16)?.clamp(1, 256);
    match mode.as_str() {
        "serve-bare" => {
            serve_bare(
                &o.get("--data-dir").context("--data-dir")?,
                &o.get("--body").context("--body")?,
            )
            .await
        }
        "tokens" | "get" | "hunt" | "mix" => {
            let target = o
                .get("--url")
                .or_else(|| o.get("--base"))
                .context("--url")?;
            if !is_loopback(&target) {
                bail!("load targets must be on this machine (localhost / 127.0.0.0/8)");
            }
            let http = client(o.get("--ca"))?;
            let ops = match mode.as_str() {
                "tokens" => vec![(
                    1,
                    Op::Token {
                        url: target,
                        form: o.get("--form").context("--form")?,
                    },
                )],
                "get" => vec![(
                    1,
                    Op::Get {
                        url: target,
                        bearer: o.get("--bearer"),
                    },
                )],
                "hunt" => vec![(
                    1,
                    Op::Hunt {
                        base: target,
                        bearer: o.get("--bearer").context("--bearer")?,
                        query: o.get("--query").context("--query")?,
                    },
                )],
                _ => mix_ops(&http, &o).await?,
            };
            let rate = o
                .get("--rate")
                .map(|r| r.parse::<f64>().context("--rate takes a number"))
                .transpose()?;
            let pid = o
                .get("--pid")
                .map(|p| p.parse::<u32>().context("--pid takes a number"))
                .transpose()?;
            run_load(http, seconds, concurrency, rate, ops, pid).await
        }
        other => bail!("unknown mode {other}"),
    }
}
