//! `palisade serve`: one process, one listener, every HTTP surface.

use crate::tls::{write_private, LocalCa};
use anyhow::{Context, Result};
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use palisade_admin::{bootstrap_admin_key, AdminState};
use palisade_authority::{Authority, AuthoritySettings, KeyManager};
use palisade_clock::SharedClock;
use palisade_defender::{DefenderState, QuotaConfig, SigningKeySource};
use palisade_directory::Directory;
use palisade_store::Store;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use crate::data_dir::{open_store, ADMIN_KEY_FILE, DATABASE_FILE};

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where the database, keys and CA live.
    pub data_dir: PathBuf,
    /// Address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// Serve plain HTTP instead of HTTPS (explicit opt-in).
    pub plain_http: bool,
    /// Extra host names for the server certificate and instance discovery.
    pub hostnames: Vec<String>,
    /// Defender API quotas (the documented ones by default).
    pub quotas: QuotaConfig,
    /// Where the key-encryption key that seals the signing keys comes from.
    pub kek: crate::kek::KekSource,
    /// The MaxMind City database `geo_info_from_ip_address` answers from (none: it answers
    /// null and the hunting response's stats say so). A file that cannot be read or is not
    /// a City database fails the start.
    pub geoip: Option<PathBuf>,
}

/// A running server.
pub struct RunningServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// `https://localhost:port` (or `http://…`).
    pub base_url: String,
    /// The CA certificate clients should trust (HTTPS only).
    pub ca_path: Option<PathBuf>,
    /// The admin key created at this start (first start only).
    pub new_admin_key: Option<String>,
    /// The directory, for in-process seeding and tests.
    pub directory: Directory,
    /// The token service.
    pub authority: Authority,
    /// The store.
    pub store: Store,
    task: JoinHandle<()>,
    stop: tokio::sync::watch::Sender<bool>,
}

/// How long a graceful stop waits for in-flight requests before closing connections.
pub const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl RunningServer {
    /// Stops accepting connections and drops open ones at once.
    pub fn shutdown(&self) {
        self.task.abort();
    }

    /// Stops gracefully: no new connections; requests in flight are answered (for up to
    /// [`DRAIN_TIMEOUT`]) and each connection is closed after its current response; then the
    /// database is closed (its WAL checkpointed).
    pub async fn drain(mut self) -> Result<()> {
        let _ = self.stop.send(true);
        let result = match (&mut self.task).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_cancelled() => Ok(()),
            Err(e) => Err(e.into()),
        };
        self.store.close().await;
        result
    }

    /// Serves until `signal` completes, then [drains](RunningServer::drain).
    pub async fn run_until(mut self, signal: impl std::future::Future<Output = ()>) -> Result<()> {
        tokio::select! {
            r = &mut self.task => match r {
                Ok(()) => Ok(()),
                Err(e) if e.is_cancelled() => Ok(()),
                Err(e) => Err(e.into()),
            },
            () = signal => self.drain().await,
        }
    }

    /// Waits until the server stops (it runs until the process ends or `shutdown`).
    pub async fn wait(mut self) -> Result<()> {
        match (&mut self.task).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_cancelled() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Every 401 carries a challenge (RFC 7235 §3.1). The surfaces set their own, in their
/// protocol's form; this adds a generic one to any 401 that has none.
async fn ensure_challenge(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if response.status() == axum::http::StatusCode::UNAUTHORIZED
        && !response
            .headers()
            .contains_key(axum::http::header::WWW_AUTHENTICATE)
    {
        response.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"palisade\""),
        );
    }
    response
}

/// HTTP/2 requests carry the host in `:authority`; give handlers a `Host` header either way.
async fn host_from_authority(mut request: Request, next: Next) -> Response {
    if !request.headers().contains_key(axum::http::header::HOST) {
        if let Some(value) = request
            .uri()
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        {
            request
                .headers_mut()
                .insert(axum::http::header::HOST, value);
        }
    }
    next.run(request).await
}

/// Opens the data directory (creating what is missing) and starts serving.
pub async fn start(config: ServerConfig, clock: SharedClock) -> Result<RunningServer> {
    // The operator's files first: a start refused for a bad GeoIP database writes nothing.
    let geoip = config
        .geoip
        .as_deref()
        .map(crate::hunting::open_geoip)
        .transpose()?;
    let store = open_store(&config.data_dir).await?;
    let directory = Directory::new(store.clone(), clock.clone());
    // The keys first: a start refused for its key-encryption key writes nothing.
    let kek = crate::kek::resolve(&config.kek, &config.data_dir, &store).await?;
    let keys = Arc::new(
        KeyManager::open(store.clone(), clock.clone(), kek)
            .await
            .context("loading the signing keys")?,
    );
    directory.ensure_builtins().await?;
    // The token endpoint's directory in memory is built by the first token request.

    let new_admin_key = bootstrap_admin_key(&store, clock.now().unix_timestamp()).await?;
    if let Some(key) = &new_admin_key {
        write_private(&config.data_dir.join(ADMIN_KEY_FILE), key.as_bytes())?;
    }

    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let mut known_hosts = vec![
        format!("localhost:{}", addr.port()),
        format!("127.0.0.1:{}", addr.port()),
    ];
    known_hosts.extend(config.hostnames.iter().cloned());
    known_hosts.extend(
        config
            .hostnames
            .iter()
            .map(|h| format!("{h}:{}", addr.port())),
    );
    let settings = AuthoritySettings {
        scheme: if config.plain_http { "http" } else { "https" },
        known_hosts,
    };
    let authority = Authority::new(directory.clone(), keys.clone(), settings);
    let admin = palisade_admin::router(AdminState {
        directory: directory.clone(),
        keys: keys.clone(),
    });
    let defender_state = DefenderState::new(
        store.clone(),
        clock.clone(),
        Arc::new(PublishedKeys::new(keys.clone())),
    )
    .with_quotas(config.quotas.clone())
    .with_hunting(Arc::new(crate::hunting::EngineService {
        engine: crate::hunting::engine_with_geoip(&config.data_dir, geoip)?,
        store: store.clone(),
    }));
    // The Graph security API: the same store and engine, Graph's own limits (off when the
    // Defender quotas are off; the directory's from the operator's quotas).
    let graph_quotas = palisade_defender::graph::graph_quotas(&config.quotas);
    let graph_directory = palisade_admin::directory_router(AdminState {
        directory: directory.clone(),
        keys: keys.clone(),
    });
    let graph = palisade_defender::graph_router(
        defender_state.clone(),
        graph_quotas,
        Some(graph_directory),
    );
    let defender = palisade_defender::router(defender_state);

    let app: Router = authority
        .router()
        .merge(admin)
        .merge(defender)
        .merge(graph)
        .layer(axum::middleware::from_fn(ensure_challenge))
        .layer(axum::middleware::from_fn(host_from_authority));

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = async move {
        let mut stopped = stopped;
        let _ = stopped.wait_for(|s| *s).await;
    };
    let (base_url, ca_path, task) = if config.plain_http {
        let task = tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            // No Nagle delay here either (see serve_tls_until).
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %e, "TCP_NODELAY not set");
                }
            });
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(until_stopped)
                .await
            {
                tracing::error!(error = %e, "server stopped");
            }
        });
        (format!("http://localhost:{}", addr.port()), None, task)
    } else {
        let ca = LocalCa::load_or_create(&config.data_dir)?;
        let tls = ca.server_config(&config.hostnames)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        let task = tokio::spawn(serve_tls_until(listener, acceptor, app, until_stopped));
        (
            format!("https://localhost:{}", addr.port()),
            Some(ca.cert_path),
            task,
        )
    };
    tracing::info!(%addr, %base_url, "palisade listening");
    Ok(RunningServer {
        addr,
        base_url,
        ca_path,
        new_admin_key,
        directory,
        authority,
        store,
        task,
        stop,
    })
}

/// The authority's published keys as the resource server reads them: in process, the same
/// set the JWKS endpoints serve. The JWK set is rebuilt only when the keys were reloaded or
/// a rotated key's retirement time has passed; otherwise every request gets the same `Arc`.
struct PublishedKeys {
    keys: Arc<KeyManager>,
    cache: std::sync::RwLock<CachedJwks>,
}

struct CachedJwks {
    generation: u64,
    /// The set is valid until this unix time (the next retirement), if any.
    valid_until: Option<i64>,
    set: Arc<jsonwebtoken::jwk::JwkSet>,
}

impl PublishedKeys {
    fn new(keys: Arc<KeyManager>) -> Self {
        let cache = Self::build(&keys);
        Self {
            keys,
            cache: std::sync::RwLock::new(cache),
        }
    }

    fn build(keys: &KeyManager) -> CachedJwks {
        // Read the generation first: a reload racing with this build bumps it and forces
        // the next call to rebuild.
        let generation = keys.generation();
        let valid_until = keys.next_retirement();
        CachedJwks {
            generation,
            valid_until,
            set: Arc::new(to_jwk_set(&keys.published_keys())),
        }
    }
}

fn to_jwk_set(keys: &[palisade_authority::PublishedKey]) -> jsonwebtoken::jwk::JwkSet {
    let value = serde_json::json!({ "keys": keys.iter().map(|k| serde_json::json!({
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid, "x5t": k.kid, "n": k.n, "e": k.e, "x5c": [k.x5c]
    })).collect::<Vec<_>>() });
    serde_json::from_value(value).unwrap_or(jsonwebtoken::jwk::JwkSet { keys: Vec::new() })
}

impl SigningKeySource for PublishedKeys {
    fn published_keys(&self) -> Arc<jsonwebtoken::jwk::JwkSet> {
        let now = self.keys.clock().now().unix_timestamp();
        {
            let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
            if cache.generation == self.keys.generation()
                && cache.valid_until.is_none_or(|t| now < t)
            {
                return Arc::clone(&cache.set);
            }
        }
        let fresh = Self::build(&self.keys);
        let set = Arc::clone(&fresh.set);
        *self.cache.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        set
    }
}

/// Serves `app` over TLS on `listener` until the task is dropped: HTTP/1.1 and HTTP/2,
/// a 10-second handshake limit, one task per connection, `TCP_NODELAY` on every connection.
pub async fn serve_tls(listener: TcpListener, acceptor: tokio_rustls::TlsAcceptor, app: Router) {
    serve_tls_until(listener, acceptor, app, std::future::pending()).await
}

/// [`serve_tls`] until `stop` completes; then stops accepting, lets every connection finish
/// the request it is serving (HTTP/1.1 closes after that response, HTTP/2 sends GOAWAY) and
/// returns when all are closed or after [`DRAIN_TIMEOUT`].
pub async fn serve_tls_until(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    app: Router,
    stop: impl std::future::Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // No Nagle delay: a response's last small segment would otherwise wait for the
        // client's delayed ACK (40 ms on Linux), which set the p99 of every page size
        // (BENCHMARKS.md, "Issue 13, fourth pass").
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "TCP_NODELAY not set");
        }
        let acceptor = acceptor.clone();
        let app = app.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(
                std::time::Duration::from_secs(10),
                acceptor.accept(stream),
            )
            .await
            {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            // The peer address, for the token service's `ipaddr` claim.
            let app = tower::ServiceExt::map_request(
                app,
                move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    req
                },
            );
            let service = hyper_util::service::TowerToHyperService::new(app);
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout; closing them");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_clock::ManualClock;

    #[tokio::test]
    async fn published_keys_are_shared_until_they_change() {
        let clock = ManualClock::starting_now();
        let shared: SharedClock = Arc::new(clock.clone());
        let store = Store::open_in_memory().await.expect("store");
        let keys = Arc::new(
            KeyManager::load_or_create(store, shared)
                .await
                .expect("keys"),
        );
        let source = PublishedKeys::new(keys.clone());
        let first = source.published_keys();
        assert!(
            Arc::ptr_eq(&first, &source.published_keys()),
            "unchanged set: same Arc"
        );
        assert_eq!(first.keys.len(), 1);

        keys.rotate().await.expect("rotate");
        let rotated = source.published_keys();
        assert_eq!(rotated.keys.len(), 2, "a rotation is seen at once");

        clock.advance(palisade_authority::keys::RETIRE_AFTER + time::Duration::seconds(1));
        let retired = source.published_keys();
        assert_eq!(
            retired.keys.len(),
            1,
            "the retired key drops out when its time passes"
        );
        assert_eq!(retired.keys[0].common.key_id, keys.active_kid());
    }
}
