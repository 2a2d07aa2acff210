//! Binance's errors, typed: the body `{"code":-2010,"msg":"..."}`, HTTP statuses, transport.

use std::time::Duration;

/// What went wrong with one request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BinanceError {
    /// -2010: the order was refused (insufficient balance, market closed, …). Definite.
    #[error("order rejected (-2010): {0}")]
    OrderRejected(String),
    /// -1013: a filter refused the order; the message names the filter. Definite.
    #[error("filter failure (-1013): {0}")]
    FilterFailure(String),
    /// -2011: the cancel was refused (the order is done, or unknown).
    #[error("cancel rejected (-2011): {0}")]
    CancelRejected(String),
    /// -2013: no such order (reads lag writes: trusted only after a grace period).
    #[error("order does not exist (-2013)")]
    NoSuchOrder,
    /// -1007: the venue timed out; whether it executed is unknown. Ambiguous.
    #[error("venue timeout, execution status unknown (-1007): {0}")]
    ExecutionUnknown(String),
    /// -1021: the timestamp is outside recvWindow: the request was refused.
    #[error("timestamp outside recvWindow (-1021): {0}")]
    Timestamp(String),
    /// -1022: the signature is not valid.
    #[error("invalid signature (-1022)")]
    Signature,
    /// -2015: bad API key, IP or permissions.
    #[error("API key, IP or permissions refused (-2015)")]
    Key,
    /// 429 / 418 (or -1003): rate limited or banned; nothing was done. Send nothing before
    /// `retry_after`.
    #[error("rate limited (HTTP {status}), retry after {retry_after:?}")]
    RateLimited {
        /// 429 or 418.
        status: u16,
        /// The venue's Retry-After.
        retry_after: Duration,
    },
    /// Another `{code,msg}` error (a 4xx): refused.
    #[error("venue error {code} (HTTP {status}): {msg}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Binance's code.
        code: i64,
        /// Binance's message.
        msg: String,
    },
    /// 5xx: the outcome is unknown (a POST may have executed).
    #[error("venue server error (HTTP {0})")]
    Server(u16),
    /// The request did not reach the venue (connect failed): nothing was done.
    #[error("could not connect: {0}")]
    Connect(String),
    /// Sent, but no answer (timeout, reset): the outcome is unknown.
    #[error("no answer: {0}")]
    NoAnswer(String),
    /// The answer could not be read.
    #[error("unreadable answer: {0}")]
    Decode(String),
}

impl BinanceError {
    /// From an error body and its HTTP status.
    pub fn from_body(status: u16, code: i64, msg: String) -> Self {
        match code {
            -2010 => Self::OrderRejected(msg),
            -1013 => Self::FilterFailure(msg),
            -2011 => Self::CancelRejected(msg),
            -2013 => Self::NoSuchOrder,
            -1007 => Self::ExecutionUnknown(msg),
            -1021 => Self::Timestamp(msg),
            -1022 => Self::Signature,
            -2015 => Self::Key,
            -1003 => Self::RateLimited {
                status,
                retry_after: Duration::from_secs(60),
            },
            _ if status >= 500 => Self::Server(status),
            _ => Self::Api { status, code, msg },
        }
    }

    /// Whether a request this ended may have executed (a POST's outcome is unknown).
    pub fn is_ambiguous(&self) -> bool {
        matches!(
            self,
            Self::ExecutionUnknown(_) | Self::Server(_) | Self::NoAnswer(_) | Self::Decode(_)
        ) || self.is_duplicate()
    }

    /// -2010 "Duplicate order sent.": an open order already has this client id, so the
    /// order is at the venue: ask for it instead of calling it rejected.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, Self::OrderRejected(m) if m.to_ascii_lowercase().contains("duplicate"))
    }

    /// Whether this counts against the venue's health (circuit breaker): the venue or the
    /// path to it failed; a definite answer about an order does not.
    pub fn is_venue_failure(&self) -> bool {
        matches!(
            self,
            Self::ExecutionUnknown(_)
                | Self::RateLimited { .. }
                | Self::Server(_)
                | Self::Connect(_)
                | Self::NoAnswer(_)
                | Self::Decode(_)
                | Self::Signature
                | Self::Key
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        let e = |code| BinanceError::from_body(400, code, "m".into());
        assert_eq!(e(-2010), BinanceError::OrderRejected("m".into()));
        assert_eq!(e(-1013), BinanceError::FilterFailure("m".into()));
        assert_eq!(e(-2011), BinanceError::CancelRejected("m".into()));
        assert_eq!(e(-2013), BinanceError::NoSuchOrder);
        assert!(e(-1007).is_ambiguous());
        assert_eq!(e(-1022), BinanceError::Signature);
        assert_eq!(e(-2015), BinanceError::Key);
        assert!(matches!(e(-1021), BinanceError::Timestamp(_)));
        assert!(matches!(e(-1003), BinanceError::RateLimited { .. }));
        assert!(matches!(e(-1100), BinanceError::Api { code: -1100, .. }));
        assert!(BinanceError::OrderRejected("Duplicate order sent.".into()).is_ambiguous());
        assert!(!e(-2010).is_ambiguous() && !e(-2010).is_venue_failure());
        assert!(BinanceError::from_body(503, 0, String::new()).is_ambiguous());
    }
}
