//! A small closed-loop HTTP load generator for Palisade's load benchmarks
//! (`scripts/bench-load.sh` drives it). Bounded in time; loopback targets only.
//!
//! ```text
//! load tokens --url URL --form 'grant_type=…&…' [--ca FILE] [--seconds 10] [--concurrency 16]
//! load get    --url URL [--bearer TOKEN] [--ca FILE] [--seconds 10] [--concurrency 16]
//! load rsa    [--seconds 10] [--threads 2]          raw RSA-2048 (RS256) signatures per second
//! load serve-bare --data-dir DIR --body FILE        a bare axum handler serving FILE over the same TLS
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

async fn closed_loop(
    seconds: u64,
    concurrency: u64,
    make: Arc<dyn Fn() -> reqwest::RequestBuilder + Send + Sync>,
) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let stop = stop.clone();
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                match make().send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t0.elapsed().as_micros() as u64);
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    println!(
        "requests={} errors={} seconds={:.1} rps={:.0} p50_ms={:.2} p99_ms={:.2}",
        all.len(),
        errors,
        elapsed,
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
    Ok(())
}

fn rsa(seconds: u64, threads: u64) -> Result<()> {
    let key = palisade_authority::keys::generate_key(time::OffsetDateTime::now_utc())?;
    let rsa =
        <rsa::RsaPrivateKey as rsa::pkcs8::DecodePrivateKey>::from_pkcs8_der(&key.private_key_der)?;
    let der = <rsa::RsaPrivateKey as rsa::pkcs1::EncodeRsaPrivateKey>::to_pkcs1_der(&rsa)?;
    let enc = Arc::new(jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes()));
    let input = "x".repeat(900);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let enc = enc.clone();
            let input = input.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let _ = jsonwebtoken::crypto::sign(
                        input.as_bytes(),
                        &enc,
                        jsonwebtoken::Algorithm::RS256,
                    );
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    println!(
        "rsa2048_signatures={total} threads={threads} seconds={seconds} per_second={:.0}",
        total as f64 / seconds as f64
    );
    Ok(())
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
        bail!("usage: load tokens|get|rsa|serve-bare …")
    };
    let o = Opts { args };
    let seconds = o.num("--seconds", 10)?.min(120);
    let concurrency = o.num("--concurrency", 16)?.clamp(1, 256);
    match mode.as_str() {
        "rsa" => rsa(seconds, o.num("--threads", 2)?.clamp(1, 64)),
        "serve-bare" => {
            serve_bare(
                &o.get("--data-dir").context("--data-dir")?,
                &o.get("--body").context("--body")?,
            )
            .await
        }
        "tokens" | "get" => {
            let url = o.get("--url").context("--url")?;
            if !is_loopback(&url) {
                bail!("load targets must be on this machine (localhost / 127.0.0.0/8)");
            }
            let http = client(o.get("--ca"))?;
            let make: Arc<dyn Fn() -> reqwest::RequestBuilder + Send + Sync> = if mode == "tokens" {
                let form = o.get("--form").context("--form")?;
                Arc::new(move || {
                    http.post(&url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(form.clone())
                })
            } else {
                let bearer = o.get("--bearer");
                Arc::new(move || {
                    let r = http.get(&url);
                    match &bearer {
                        Some(b) => r.bearer_auth(b),
                        None => r,
                    }
                })
            };
            closed_loop(seconds, concurrency, make).await
        }
        other => bail!("unknown mode {other}"),
    }
}
