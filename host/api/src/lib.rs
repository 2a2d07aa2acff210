//! The fleet's HTTP server: the JSON API under `/api/v1`, the event stream (SSE),
//! `/metrics` and the dashboard.
//!
//! Every route but `/healthz` and the dashboard's static page needs
//! `Authorization: Bearer <token>` ([`Tokens`]); a control acts on behalf of the token's
//! name, and the fleet audits it in the ledger under that name. Reads go to the ledger
//! through read-only connections ([`flotilla_ledger::LedgerReader`]) on blocking threads,
//! and to the fleet's live view through [`FleetPort`]. CORS is off unless origins are
//! listed. The fleet does not depend on this crate: it hands over a [`FleetPort`].

#![warn(missing_docs)]

mod auth;
mod controls;
mod dashboard;
mod error;
pub mod openapi;
mod query;
mod readers;
mod routes;
mod stream;
mod tokens;
mod views;

pub use error::ApiError;
pub use routes::route_paths;
pub use tokens::{TOKEN_BYTES, Tokens, default_path as default_token_path};
pub use views::{BotView, FleetView, PositionView, StateView};

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, header};
use flotilla_telemetry::FleetPort;
use readers::Readers;
use std::future::Future;
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Read-only ledger connections kept for the API's queries.
const READERS: usize = 2;

/// What every handler needs: the fleet, the tokens, the CORS origins and the ledger readers.
#[derive(Clone)]
pub struct ApiState {
    inner: Arc<Inner>,
}

struct Inner {
    port: Arc<dyn FleetPort>,
    tokens: Tokens,
    cors: Vec<HeaderValue>,
    readers: Readers,
    /// Set when the server shuts down, so open event streams end.
    closing: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("tokens", &self.inner.tokens)
            .field("cors", &self.inner.cors)
            .finish_non_exhaustive()
    }
}

impl ApiState {
    /// The state for a fleet, its tokens and the origins CORS allows (empty: CORS off).
    /// An origin that is not a valid header value, or `*`, is refused.
    pub fn new(
        port: Arc<dyn FleetPort>,
        tokens: Tokens,
        cors_origins: &[String],
    ) -> Result<ApiState, ApiError> {
        let mut cors = Vec::new();
        for o in cors_origins {
            if o.trim() == "*" {
                return Err(ApiError::Cors(o.clone()));
            }
            cors.push(HeaderValue::from_str(o).map_err(|_| ApiError::Cors(o.clone()))?);
        }
        let readers = Readers::new(port.ledger_path().to_path_buf(), READERS);
        Ok(ApiState {
            inner: Arc::new(Inner {
                port,
                tokens,
                cors,
                readers,
                closing: tokio::sync::watch::Sender::new(false),
            }),
        })
    }

    /// The fleet.
    pub(crate) fn port(&self) -> &Arc<dyn FleetPort> {
        &self.inner.port
    }

    /// Runs `f` on a ledger reader on a blocking thread.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut flotilla_ledger::LedgerReader) -> Result<T, flotilla_ledger::LedgerError>
        + Send
        + 'static,
    ) -> Result<T, error::HttpError> {
        self.inner.readers.run(f).await
    }
}

/// The whole application: the API (behind the token), `/metrics` (behind the token),
/// `/healthz`, and CORS when origins are listed.
pub fn router(state: ApiState) -> Router {
    let protected = routes::api_routes()
        .router
        .route("/metrics", axum::routing::get(routes::metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    let app = Router::new()
        .route("/healthz", axum::routing::get(routes::healthz))
        .merge(protected)
        // The dashboard's page and assets: they carry no data, so no token.
        .merge(dashboard::routes())
        .fallback(routes::not_found);
    let cors = state.inner.cors.clone();
    let app = app.with_state(state);
    if cors.is_empty() {
        return app;
    }
    app.layer(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(cors))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("last-event-id"),
            ]),
    )
}

/// Serves the API on `listener` until the server fails.
pub async fn serve(listener: tokio::net::TcpListener, state: ApiState) -> Result<(), ApiError> {
    serve_until(listener, state, std::future::pending()).await
}

/// Serves the API on `listener` until `shutdown` completes (open event streams are
/// closed then; requests in flight finish).
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ApiError> {
    state.inner.readers.warm();
    let closing = state.inner.closing.clone();
    let shutdown = async move {
        shutdown.await;
        closing.send_replace(true);
    };
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ApiError::Serve)
}
