//! The routes under `/api/v1` and the read handlers.

use crate::error::HttpError;
use crate::query::*;
use crate::views::{bot_views, fleet_view, is_flat, state_view};
use crate::{ApiState, controls, openapi, stream};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use flotilla_ledger::query::{
    AllocationQuery, EventQuery, FillQuery, OrderQuery, OrderStatusFilter, VerdictQuery,
    clamp_limit,
};
use serde_json::{Value, json};

/// The API's routes, and their methods and paths (for the OpenAPI check).
pub(crate) struct RouteTable {
    pub router: Router<ApiState>,
    pub paths: Vec<(&'static str, &'static str)>,
}

impl RouteTable {
    fn add(mut self, method: &'static str, path: &'static str, mr: MethodRouter<ApiState>) -> Self {
        self.paths.push((method, path));
        self.router = self.router.route(path, mr);
        self
    }
}

/// Every route that needs a token (`/metrics` aside).
pub(crate) fn api_routes() -> RouteTable {
    let t = RouteTable {
        router: Router::new(),
        paths: Vec::new(),
    };
    t.add("get", "/api/v1/fleet", get(fleet))
        .add("get", "/api/v1/bots", get(bots))
        .add("get", "/api/v1/bots/{id}", get(bot))
        .add("get", "/api/v1/positions", get(positions))
        .add("get", "/api/v1/orders", get(orders))
        .add("get", "/api/v1/orders/{id}", get(order))
        .add("get", "/api/v1/fills", get(fills))
        .add("get", "/api/v1/equity", get(equity))
        .add("get", "/api/v1/allocations", get(allocations))
        .add("get", "/api/v1/verdicts", get(verdicts))
        .add("get", "/api/v1/verdicts/reasons", get(reasons))
        .add("get", "/api/v1/events", get(events))
        .add("get", "/api/v1/state", get(state))
        .add("get", "/api/v1/audit", get(audit))
        .add("get", "/api/v1/stream", get(stream::stream))
        .add("get", "/api/v1/openapi.json", get(openapi_doc))
        .add("post", "/api/v1/fleet/halt", post(controls::halt))
        .add("post", "/api/v1/fleet/reduce", post(controls::reduce))
        .add("post", "/api/v1/fleet/resume", post(controls::resume))
        .add("post", "/api/v1/bots/{id}/pause", post(controls::pause_bot))
        .add(
            "post",
            "/api/v1/bots/{id}/resume",
            post(controls::resume_bot),
        )
        .add(
            "post",
            "/api/v1/bots/{id}/flatten",
            post(controls::flatten_bot),
        )
        .add(
            "post",
            "/api/v1/orders/{id}/cancel",
            post(controls::cancel_order),
        )
        .add("post", "/api/v1/reload", post(controls::reload))
}

/// Every routed method and path, `/metrics` and `/healthz` included.
pub fn route_paths() -> Vec<(&'static str, &'static str)> {
    let mut p = api_routes().paths;
    p.push(("get", "/metrics"));
    p.push(("get", "/healthz"));
    p
}

type Answer = Result<Response, HttpError>;

fn ok(v: impl serde::Serialize) -> Answer {
    Ok(Json(v).into_response())
}

/// Slices an in-memory list into a page.
fn offset_page<T: serde::Serialize>(items: Vec<T>, p: &OffsetPage) -> Answer {
    let limit = clamp_limit(p.limit);
    let offset = p.offset.unwrap_or(0);
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(offset).take(limit).collect();
    ok(json!({ "items": page, "total": total, "offset": offset, "limit": limit }))
}

/// `/healthz`: the process serves (no data, no token).
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// Anything else.
pub(crate) async fn not_found() -> HttpError {
    HttpError::not_found("no such route (see /api/v1/openapi.json)")
}

/// `/metrics`: the Prometheus exposition.
pub(crate) async fn metrics(State(st): State<ApiState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            flotilla_telemetry::metrics::CONTENT_TYPE,
        )],
        st.port().metrics().encode(),
    )
        .into_response()
}

async fn openapi_doc() -> Json<Value> {
    Json(openapi::document())
}

/// Runs a blocking call to the fleet off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HttpError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| HttpError::internal(format!("task: {e}")))
}

async fn fleet(State(st): State<ApiState>) -> Answer {
    let port = st.port().clone();
    let (snap, now) = blocking(move || (port.snapshot(), port.now_ms())).await?;
    let (state, eq, working) = st
        .read(|r| {
            Ok((
                r.trading_state(1)?,
                r.equity_stats()?,
                r.working_order_count()?,
            ))
        })
        .await?;
    ok(fleet_view(snap, &state, &eq, working, now))
}

async fn bots(State(st): State<ApiState>, Q(p): Q<OffsetPage>) -> Answer {
    let port = st.port().clone();
    let (live, positions) = blocking(move || (port.bots(), port.snapshot().positions)).await?;
    let q = p.q.clone();
    let stats = st.read(move |r| r.bot_stats(q.as_deref())).await?;
    let live = live
        .into_iter()
        .filter(|b| p.q.as_deref().is_none_or(|q| b.id.contains(q)))
        .collect();
    offset_page(bot_views(live, stats, &positions), &p)
}

async fn bot(State(st): State<ApiState>, Path(id): Path<String>) -> Answer {
    let port = st.port().clone();
    let (live, positions) = blocking(move || (port.bots(), port.snapshot().positions)).await?;
    let live: Vec<_> = live.into_iter().filter(|b| b.id == id).collect();
    let key = id.clone();
    let stats = st.read(move |r| r.bot(&key)).await?;
    if live.is_empty() && stats.is_none() {
        return Err(HttpError::not_found(format!("no bot {id:?}")));
    }
    let positions: Vec<_> = positions.into_iter().filter(|p| p.bot == id).collect();
    let view = bot_views(live, stats.into_iter().collect(), &positions)
        .pop()
        .expect("one bot");
    ok(json!({ "bot": view, "positions": positions }))
}

async fn positions(State(st): State<ApiState>, Q(p): Q<OffsetPage>) -> Answer {
    let port = st.port().clone();
    let mut all = blocking(move || port.snapshot().positions).await?;
    all.retain(|x| !is_flat(x) && p.bot.as_ref().is_none_or(|b| &x.bot == b));
    all.sort_by(|a, b| (&a.bot, &a.symbol).cmp(&(&b.bot, &b.symbol)));
    offset_page(all, &p)
}

async fn orders(State(st): State<ApiState>, Q(p): Q<OrdersParams>) -> Answer {
    let status = match p.status.as_deref() {
        None | Some("working") => OrderStatusFilter::Working,
        Some("done") => OrderStatusFilter::Done,
        Some("all") => OrderStatusFilter::All,
        Some(other) => {
            return Err(HttpError::bad(format!(
                "status {other:?}: expected working, done or all"
            )));
        }
    };
    let q = OrderQuery {
        status,
        bot: p.bot,
        cursor: p.cursor,
        limit: clamp_limit(p.limit),
    };
    ok(st.read(move |r| r.orders_page(&q)).await?)
}

async fn order(State(st): State<ApiState>, Path(id): Path<String>) -> Answer {
    let id: u64 = id
        .parse()
        .map_err(|_| HttpError::bad(format!("order id {id:?} is not a number")))?;
    match st.read(move |r| r.order_detail(id)).await? {
        Some((order, fills)) => ok(json!({ "order": order, "fills": fills })),
        None => Err(HttpError::not_found(format!("no order {id}"))),
    }
}

async fn fills(State(st): State<ApiState>, Q(p): Q<FillsParams>) -> Answer {
    let q = FillQuery {
        bot: p.bot,
        from: p.from,
        to: p.to,
        cursor: p.cursor,
        limit: clamp_limit(p.limit),
    };
    ok(st.read(move |r| r.fills_page(&q)).await?)
}

async fn equity(State(st): State<ApiState>, Q(p): Q<EquityParams>) -> Answer {
    let n = points(p.points);
    ok(st
        .read(move |r| r.equity_curve(p.bot.as_deref(), p.from, p.to, n))
        .await?)
}

async fn allocations(State(st): State<ApiState>, Q(p): Q<AllocationParams>) -> Answer {
    let q = AllocationQuery {
        from: p.from,
        to: p.to,
        points: points(p.points),
    };
    ok(json!({ "items": st.read(move |r| r.allocations(&q)).await? }))
}

fn verdict_query(p: VerdictParams) -> Result<VerdictQuery, HttpError> {
    if let Some(v) = &p.verdict
        && !matches!(v.as_str(), "approved" | "resized" | "refused")
    {
        return Err(HttpError::bad(format!(
            "verdict {v:?}: expected approved, resized or refused"
        )));
    }
    Ok(VerdictQuery {
        bot: p.bot,
        reason: p.reason,
        verdict: p.verdict,
        from: p.from,
        to: p.to,
        cursor: p.cursor,
        limit: clamp_limit(p.limit),
    })
}

async fn verdicts(State(st): State<ApiState>, Q(p): Q<VerdictParams>) -> Answer {
    let q = verdict_query(p)?;
    ok(st.read(move |r| r.verdicts_page(&q)).await?)
}

async fn reasons(State(st): State<ApiState>, Q(p): Q<VerdictParams>) -> Answer {
    let q = verdict_query(p)?;
    ok(json!({ "items": st.read(move |r| r.refusal_reasons(&q)).await? }))
}

async fn events(State(st): State<ApiState>, Q(p): Q<EventParams>) -> Answer {
    let q = EventQuery {
        kind: p.kind,
        bot: p.bot,
        cursor: p.cursor,
        limit: clamp_limit(p.limit),
    };
    ok(st.read(move |r| r.events_page(&q)).await?)
}

async fn state(State(st): State<ApiState>) -> Answer {
    let port = st.port().clone();
    let snap = blocking(move || port.snapshot()).await?;
    let ledger = st.read(|r| r.trading_state(20)).await?;
    ok(state_view(&snap, ledger))
}

async fn audit(State(st): State<ApiState>, Q(p): Q<CursorParams>) -> Answer {
    let limit = clamp_limit(p.limit);
    ok(st.read(move |r| r.audit_page(p.cursor, limit)).await?)
}

/// `StatusCode` for a control's error.
pub(crate) fn control_status(e: &flotilla_telemetry::ControlError) -> StatusCode {
    use flotilla_telemetry::ControlError as E;
    match e {
        E::UnknownBot(_) | E::UnknownOrder(_) => StatusCode::NOT_FOUND,
        E::Refused(_) => StatusCode::CONFLICT,
        E::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
