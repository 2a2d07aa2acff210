//! Bearer-token authentication: the request carries the token's name on to the handler.

use crate::ApiState;
use crate::error::HttpError;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Who is asking: `token:<name>`, the actor a control is audited under.
#[derive(Clone, Debug)]
pub(crate) struct Actor(pub String);

/// Lets the request through only with `Authorization: Bearer <a known token>`.
pub(crate) async fn require_token(
    State(state): State<ApiState>,
    mut req: Request,
    next: Next,
) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(presented) = presented else {
        return unauthorized("missing bearer token (Authorization: Bearer <token>)");
    };
    let Some(name) = state.inner.tokens.check(presented.as_bytes()) else {
        tracing::info!(path = %req.uri().path(), "API request with an unknown token refused");
        return unauthorized("unknown token");
    };
    req.extensions_mut().insert(Actor(format!("token:{name}")));
    next.run(req).await
}

fn unauthorized(msg: &str) -> Response {
    let mut resp = HttpError(StatusCode::UNAUTHORIZED, msg.into()).into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer"),
    );
    resp
}
