//! The control routes: each calls [`FleetPort::control`] on a blocking thread, on behalf
//! of the token's name (the fleet audits it in the ledger under that name).

use crate::ApiState;
use crate::auth::Actor;
use crate::error::HttpError;
use crate::routes::{blocking, control_status};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use flotilla_telemetry::Control;
use serde::Deserialize;
use serde_json::json;

/// The optional body of the fleet controls.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: Option<String>,
}

/// The reason in an optional `{"reason": "..."}` body (default: `via the HTTP API`).
fn reason(body: &Bytes) -> Result<String, HttpError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok("via the HTTP API".into());
    }
    let b: ReasonBody = serde_json::from_slice(body)
        .map_err(|e| HttpError::bad(format!("body: expected {{\"reason\": \"...\"}}: {e}")))?;
    Ok(b.reason
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| "via the HTTP API".into()))
}

/// Applies `control` for `actor` and answers `{ok, control, result}` or an error status.
async fn apply(st: &ApiState, actor: Actor, control: Control) -> Response {
    let port = st.port().clone();
    let name = control.name();
    let by = actor.0;
    tracing::info!(control = name, by = %by, "API control");
    match blocking(move || port.control(&control, &by)).await {
        Ok(Ok(result)) => {
            Json(json!({ "ok": true, "control": name, "result": result })).into_response()
        }
        Ok(Err(e)) => (
            control_status(&e),
            Json(json!({ "ok": false, "control": name, "error": e.to_string() })),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/v1/fleet/halt`.
pub(crate) async fn halt(
    State(st): State<ApiState>,
    Extension(actor): Extension<Actor>,
    body: Bytes,
) -> Result<Response, HttpError> {
    let reason = reason(&body)?;
    Ok(apply(&st, actor, Control::Halt { reason }).await)
}

/// `POST /api/v1/fleet/reduce`.
pub(crate) async fn reduce(
    State(st): State<ApiState>,
    Extension(actor): Extension<Actor>,
    body: Bytes,
) -> Result<Response, HttpError> {
    let reason = reason(&body)?;
    Ok(apply(&st, actor, Control::Reduce { reason }).await)
}

/// `POST /api/v1/fleet/resume`.
pub(crate) async fn resume(
    State(st): State<ApiState>,
    Extension(actor): Extension<Actor>,
    body: Bytes,
) -> Result<Response, HttpError> {
    let reason = reason(&body)?;
    Ok(apply(&st, actor, Control::Resume { reason }).await)
}

/// `POST /api/v1/bots/{id}/pause`.
pub(crate) async fn pause_bot(
    State(st): State<ApiState>,
    Extension(actor): Extension<Actor>,
    Path(bot): Path<String>,
) -> Response {
    apply(&st, actor, Control::PauseBot { bot }).await
}

/// `POST /api/v1/bots/{id}/resume`.
pub(crate) async fn resume_bot(
    State(st): State<ApiState>,
    Extension(actor): Extension<Actor>,
    Path(bot): Path<String>,
) -> Response {
    apply(&st, actor, Control::ResumeBot { bot }).await
}

/// `POST /api/v1/bots/{id}/flatten`.
pub(crate) async fn flatten_bot(
    State(st): State<ApiState>,
    Extension(actor): Extension<Actor>,
    Path(bot): Path<String>,
) -> Response {
    apply(&st, actor, Control::FlattenBot { bot }).await
}

/// `POST /api/v1/orders/{id}/cancel`.
pub(crate) async fn cancel_order(
    State(st): State<ApiState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let order_id: u64 = id
        .parse()
        .map_err(|_| HttpError::bad(format!("order id {id:?} is not a number")))?;
    Ok(apply(&st, actor, Control::CancelOrder { order_id }).await)
}

/// `POST /api/v1/reload`.
pub(crate) async fn reload(
    State(st): State<ApiState>,
    Extension(actor): Extension<Actor>,
) -> Response {
    apply(&st, actor, Control::Reload).await
}
