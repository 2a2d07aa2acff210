//! Who hears of every venue request: the host's metrics count them by venue, endpoint and
//! status class, and watch the rate-limit headroom the venue reports. One observer per
//! process, set once by the host (like a default metrics registry); none in tests that do
//! not ask for one.

use std::sync::{Arc, OnceLock};

/// Hears of each request's outcome.
pub trait RequestObserver: Send + Sync {
    /// One request to `venue`'s `endpoint` (a fixed name, never a path with ids) ended
    /// with `status` (`None`: no answer).
    fn request(&self, venue: &str, endpoint: &str, status: Option<u16>);
    /// Requests (or weight) left in the venue's current rate-limit window.
    fn headroom(&self, venue: &str, left: u64);
}

static OBSERVER: OnceLock<Arc<dyn RequestObserver>> = OnceLock::new();

/// Sets the process's observer; false if one was already set.
pub fn observe_requests(observer: Arc<dyn RequestObserver>) -> bool {
    OBSERVER.set(observer).is_ok()
}

pub(crate) fn request(venue: &str, path: &str, status: Option<u16>) {
    if let Some(o) = OBSERVER.get() {
        o.request(venue, &endpoint(path), status);
    }
}

pub(crate) fn headroom(venue: &str, left: u64) {
    if let Some(o) = OBSERVER.get() {
        o.headroom(venue, left);
    }
}

/// The endpoint's fixed name: the first segment after the API version (`/v2/orders/ID`
/// → `orders`, `/api/v3/myTrades` → `myTrades`), `bars` for any bars path (whose
/// segments name symbols).
pub(crate) fn endpoint(path: &str) -> String {
    let path = path.split('?').next().unwrap_or("");
    if path.ends_with("/bars") || path.contains("/bars/") {
        return "bars".into();
    }
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    let is_version = |s: &str| {
        s == "api"
            || (s.starts_with('v') && s[1..].chars().next().is_some_and(|c| c.is_ascii_digit()))
    };
    let name = segs.find(|s| !is_version(s)).unwrap_or("root");
    // `orders:by_client_order_id` is the orders endpoint asked by client id.
    name.split(':').next().unwrap_or(name).to_string()
}

#[cfg(test)]
mod tests {
    use super::endpoint;

    #[test]
    fn endpoints_are_fixed_names_without_ids() {
        assert_eq!(endpoint("/v2/orders"), "orders");
        assert_eq!(
            endpoint("/v2/orders/61e69015-8549-4bfd-b9c3-01e75843f47d"),
            "orders"
        );
        assert_eq!(
            endpoint("/v2/orders:by_client_order_id?client_order_id=x"),
            "orders"
        );
        assert_eq!(endpoint("/v1beta3/crypto/us/bars"), "bars");
        assert_eq!(endpoint("/v2/stocks/AAPL/bars"), "bars");
        assert_eq!(endpoint("/api/v3/myTrades"), "myTrades");
        assert_eq!(endpoint("/api/v3/order"), "order");
        assert_eq!(endpoint("/v2/account"), "account");
    }
}
