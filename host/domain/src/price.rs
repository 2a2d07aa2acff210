//! Market prices (f64, as bars carry them) to ledger prices (decimal).

use rust_decimal::Decimal;

/// Decimals a ledger price keeps.
pub const PRICE_DECIMALS: u32 = 6;

/// A market price as a ledger price: its exact binary value rounded to 6 decimals (half to
/// even), `None` for NaN and infinities.
///
/// A replay converts every close, and the exact conversion (`from_f64_retain`, then
/// `round_dp`) walks the binary expansion digit by digit. For ordinary prices one
/// multiplication decides the same result: `p * 1e6` is within a quarter of a unit of the
/// exact product, so when it is not near a half the rounding cannot differ. Values that
/// are exact with few binary digits (scale below 6 in the exact form) and near-halves take
/// the exact path.
pub fn to_price(p: f64) -> Option<Decimal> {
    // Truncations through i64, not `fract` and `round`: without SSE4.1 (the baseline
    // x86-64 target) those are library calls, and this runs for every replayed bar. In
    // this range both products are below 2^53, so the truncations and differences are
    // exact.
    if (1e-3..1e9).contains(&p) {
        let y = p * 64.0;
        if y as i64 as f64 != y {
            let x = p * 1e6;
            let t = x as i64;
            // `x.round()`: half away from zero, and `x` is positive.
            let n = if x - t as f64 >= 0.5 { t + 1 } else { t };
            if (x - n as f64).abs() <= 0.49 {
                return Some(Decimal::new(n, PRICE_DECIMALS));
            }
        }
    }
    exact(p)
}

/// The reference conversion.
fn exact(p: f64) -> Option<Decimal> {
    Decimal::from_f64_retain(p).map(|d| d.round_dp(PRICE_DECIMALS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn agrees_with_the_exact_conversion_on_awkward_values() {
        for p in [
            100.0,
            100.5,
            0.015625,
            0.0078125,
            123.4567895,
            0.1,
            0.3,
            1e-7,
            5e-7,
            1.0000005,
            99_999.999_999_5,
            999_999_999.0,
            1e9,
            2e12,
            f64::MIN_POSITIVE,
            -3.25,
            0.0,
            -0.0,
        ] {
            assert_eq!(
                to_price(p).map(|d| d.to_string()),
                exact(p).map(|d| d.to_string()),
                "{p}"
            );
        }
        assert_eq!(to_price(f64::NAN), None);
        assert_eq!(to_price(f64::INFINITY), None);
    }

    proptest! {
        /// Same value and same scale (so the same text in the ledger and reports).
        #[test]
        fn agrees_with_the_exact_conversion(p in 1e-7f64..2e9, cents in 0u64..100_000_000_000) {
            for q in [p, cents as f64 / 100.0, cents as f64 / 1e6, cents as f64 / 1e7] {
                prop_assert_eq!(to_price(q).map(|d| d.to_string()), exact(q).map(|d| d.to_string()), "{}", q);
            }
        }
    }
}
