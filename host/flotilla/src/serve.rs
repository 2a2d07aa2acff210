//! What `flotilla run` serves besides the fleet: the HTTP API (with the dashboard and
//! `/metrics`) and the alert channels. Both hold the fleet only as a [`FleetPort`]; the
//! fleet knows neither.

use crate::port::Port;
use anyhow::{Context, Result, bail};
use flotilla_config::FleetSpec;
use flotilla_telemetry::FleetPort;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// Venue requests and rate-limit headroom into the fleet's metrics.
pub struct VenueMetrics(pub Arc<flotilla_telemetry::Telemetry>);

impl flotilla_venues::RequestObserver for VenueMetrics {
    fn request(&self, venue: &str, endpoint: &str, status: Option<u16>) {
        self.0.metrics.venue_request(venue, endpoint, status);
    }
    fn headroom(&self, venue: &str, left: u64) {
        self.0
            .metrics
            .rate_headroom
            .get_or_create(&flotilla_telemetry::metrics::VenueLabel {
                venue: venue.into(),
            })
            .set(left as f64);
    }
}

/// The running servers; dropping it stops the alerts, [`Served::shutdown`] the API.
pub struct Served {
    _alerts: Option<flotilla_alerts::Alerts>,
    api: Option<(
        tokio::task::JoinHandle<()>,
        tokio::sync::oneshot::Sender<()>,
    )>,
    /// Where the API listens, if it does.
    pub api_addr: Option<SocketAddr>,
}

impl Served {
    /// Stops the API (open event streams end, requests in flight finish).
    pub async fn shutdown(self) {
        if let Some((task, stop)) = self.api {
            let _ = stop.send(());
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
        }
    }
}

/// Starts the alert channels and the API the registry asks for (`api_listen` overrides
/// `[fleet.api] listen`); prints where the API is and where its tokens are.
pub async fn start(
    spec: &FleetSpec,
    port: Arc<Port>,
    db: &Path,
    api_listen: Option<&str>,
) -> Result<Served> {
    let dyn_port: Arc<dyn FleetPort> = port.clone();
    let alerts = if spec.alerts.telegram.is_some()
        || spec.alerts.discord.is_some()
        || spec.alerts.webhook.is_some()
    {
        let a = flotilla_alerts::start(&spec.alerts, dyn_port.clone(), &|k| std::env::var(k).ok())
            .context("starting the alert channels")?;
        eprintln!("flotilla: alerts to {}", a.channels().join(", "));
        Some(a)
    } else {
        None
    };
    let mut served = Served {
        _alerts: alerts,
        api: None,
        api_addr: None,
    };
    let api = &spec.api;
    if !api.enabled && api_listen.is_none() {
        return Ok(served);
    }
    let listen = api_listen.unwrap_or(&api.listen);
    let addr: SocketAddr = listen
        .parse()
        .with_context(|| format!("API address {listen:?} is not an address:port"))?;
    if !addr.ip().is_loopback() && !api.allow_non_loopback {
        bail!(
            "API address {addr} is not a loopback address; set [fleet.api] allow_non_loopback = true to serve a network"
        );
    }
    let token_path = match &api.token_file {
        Some(p) => std::path::PathBuf::from(p),
        None => flotilla_api::default_token_path(db),
    };
    let (tokens, created) = flotilla_api::Tokens::load_or_create(&token_path)
        .with_context(|| format!("API tokens {}", token_path.display()))?;
    if created {
        eprintln!(
            "flotilla: created an API token named admin in {} (readable by you only)",
            token_path.display()
        );
    }
    let state =
        flotilla_api::ApiState::new(dyn_port, tokens, &api.cors_origins).context("API settings")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the API to {addr}"))?;
    let local = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let until = async move {
            let _ = stopped.await;
        };
        if let Err(e) = flotilla_api::serve_until(listener, state, until).await {
            tracing::error!(error = %e, "the API server stopped");
        }
    });
    eprintln!(
        "flotilla: API on http://{local} (tokens in {})",
        token_path.display()
    );
    served.api = Some((task, stop));
    served.api_addr = Some(local);
    Ok(served)
}
