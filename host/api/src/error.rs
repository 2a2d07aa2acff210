//! The crate's errors, and the JSON error answers of the HTTP API.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::path::PathBuf;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The token file could not be read or created.
    #[error("token file {path}: {source}")]
    TokenIo {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The token file is readable by others than its owner.
    #[error(
        "token file {path} has mode {mode:o}: it must be readable by its owner only (chmod 600 {path})"
    )]
    TokenPermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A line of the token file is malformed (the token itself is never shown).
    #[error("token file {path}, line {line}: {problem}")]
    TokenFormat {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// The system's random source failed.
    #[error("cannot draw a random token: {0}")]
    Random(String),
    /// A CORS origin is not usable (`*`, or not a valid header value).
    #[error(
        "CORS origin {0:?} is not allowed (list exact origins such as https://ops.example.com)"
    )]
    Cors(String),
    /// The HTTP server failed.
    #[error("HTTP server: {0}")]
    Serve(#[source] std::io::Error),
}

/// An HTTP error answer: a status and `{"error": "..."}`.
#[derive(Debug)]
pub(crate) struct HttpError(pub StatusCode, pub String);

impl HttpError {
    /// 400 with a message.
    pub(crate) fn bad(msg: impl Into<String>) -> Self {
        Self(StatusCode::BAD_REQUEST, msg.into())
    }

    /// 404 with a message.
    pub(crate) fn not_found(msg: impl Into<String>) -> Self {
        Self(StatusCode::NOT_FOUND, msg.into())
    }

    /// 500 with a message.
    pub(crate) fn internal(msg: impl Into<String>) -> Self {
        Self(StatusCode::INTERNAL_SERVER_ERROR, msg.into())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<flotilla_ledger::LedgerError> for HttpError {
    fn from(e: flotilla_ledger::LedgerError) -> Self {
        tracing::warn!("API ledger query failed: {e}");
        Self::internal(format!("ledger: {e}"))
    }
}
