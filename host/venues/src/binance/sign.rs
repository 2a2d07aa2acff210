//! Request signing and the server clock.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Mutex;
use std::time::Instant;

/// hex(HMAC-SHA256(secret, payload)): Binance's `signature` of a query string (followed by
/// the body, when there is one), exactly as sent.
pub fn sign(secret: &str, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(payload.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The venue's clock as last synced: server time at a local instant, running at `speed`.
#[derive(Debug)]
pub struct ServerClock {
    speed: f64,
    sync: Mutex<(Instant, i64)>,
}

impl ServerClock {
    /// A clock that reads the local wall clock until the first sync.
    pub fn new(speed: f64) -> Self {
        let local = chrono::Utc::now().timestamp_millis();
        Self {
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                1.0
            },
            sync: Mutex::new((Instant::now(), local)),
        }
    }

    /// Syncs to `server_ms`, observed between `sent` and now (the midpoint is taken).
    pub fn sync(&self, server_ms: i64, sent: Instant) {
        let mid = sent + sent.elapsed() / 2;
        *self.sync.lock().unwrap_or_else(|p| p.into_inner()) = (mid, server_ms);
    }

    /// The venue's time now, ms.
    pub fn now_ms(&self) -> i64 {
        let (at, ms) = *self.sync.lock().unwrap_or_else(|p| p.into_inner());
        ms + (at.elapsed().as_secs_f64() * 1000.0 * self.speed) as i64
    }

    /// Server time minus local wall-clock time, ms (for notices).
    pub fn offset_ms(&self) -> i64 {
        self.now_ms() - chrono::Utc::now().timestamp_millis()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binances_published_example() {
        let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
        let payload = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        assert_eq!(
            sign(secret, payload),
            "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
        );
    }

    #[test]
    fn the_clock_follows_the_sync() {
        let c = ServerClock::new(1.0);
        c.sync(1_000_000, Instant::now());
        let n = c.now_ms();
        assert!((1_000_000..1_000_100).contains(&n), "{n}");
    }
}
