//! Query strings: a typed extractor whose errors are JSON, and the parameters of each list.

use crate::error::HttpError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// `Query<T>` answering a malformed query string with a JSON 400.
pub(crate) struct Q<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Q(q.0))
            .map_err(|e| HttpError::bad(e.body_text()))
    }
}

/// `limit` and `offset`, for the lists held in memory (bots, positions).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OffsetPage {
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    /// Bots: keep ids containing this.
    pub q: Option<String>,
    /// Positions: only this bot's.
    pub bot: Option<String>,
}

/// `limit` and `cursor`, for the ledger's lists.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrdersParams {
    pub status: Option<String>,
    pub bot: Option<String>,
    pub cursor: Option<i64>,
    pub limit: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FillsParams {
    pub bot: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub cursor: Option<i64>,
    pub limit: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EquityParams {
    pub bot: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub points: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AllocationParams {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub points: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerdictParams {
    pub bot: Option<String>,
    pub reason: Option<String>,
    pub verdict: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub cursor: Option<i64>,
    pub limit: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventParams {
    pub kind: Option<String>,
    pub bot: Option<String>,
    pub cursor: Option<i64>,
    pub limit: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CursorParams {
    pub cursor: Option<i64>,
    pub limit: Option<usize>,
}

/// Most points an equity curve or allocation history returns.
pub(crate) const MAX_POINTS: usize = 2000;

/// Points when the caller does not say.
pub(crate) const DEFAULT_POINTS: usize = 500;

/// Clamps `points` to `2..=MAX_POINTS`.
pub(crate) fn points(p: Option<usize>) -> usize {
    p.unwrap_or(DEFAULT_POINTS).clamp(2, MAX_POINTS)
}
