//! Test bot: every tick, asks the host's `indicator` import for each configured indicator
//! and stores the answer in its key-value store, so a test can compare it with its own
//! calculation. Never trades.
//!
//! Params: `symbol` (the first granted), `timeframe` (1m), `count` (5), `specs`: indicators
//! separated by `;`, e.g. `sma(5); macd(12, 26, 9); bollinger(20, 2)`; they are sent to
//! the host as written, invalid or not.
//!
//! Key `<spec as written>` holds the values: one line per output (MACD: macd, signal,
//! histogram; Bollinger: upper, middle, lower), each value in Rust's shortest exact form,
//! comma-separated. A refusal is stored as `error: <message>` and logged at warn level.

use flotilla_sdk::{Bot, Config, Indicator, IndicatorValues, Tick, Timeframe};

struct IndicatorProbe {
    symbol: Option<String>,
    timeframe: Timeframe,
    count: u32,
    specs: Vec<(String, Indicator)>,
}

fn line(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl Bot for IndicatorProbe {
    const NAME: &'static str = "indicator_probe";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn init(cfg: &Config) -> Result<Self, String> {
        let text: String = cfg.get("specs", "rsi(14)".to_string())?;
        let specs = text
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Ok((s.to_string(), s.parse::<Indicator>()?)))
            .collect::<Result<_, String>>()?;
        Ok(IndicatorProbe {
            symbol: cfg.get_opt("symbol")?,
            timeframe: cfg.get("timeframe", Timeframe::M1)?,
            count: cfg.get("count", 5)?,
            specs,
        })
    }

    fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
        let symbol = match &self.symbol {
            Some(s) => s.clone(),
            None => ctx.symbols().first().cloned().ok_or("no symbol granted")?,
        };
        for (key, spec) in &self.specs {
            let text = match ctx.indicator_values(&symbol, self.timeframe, *spec, self.count) {
                Ok(IndicatorValues::Line(v)) => line(&v),
                Ok(IndicatorValues::Macd(m)) => {
                    [line(&m.macd), line(&m.signal), line(&m.histogram)].join("\n")
                }
                Ok(IndicatorValues::Bands(b)) => {
                    [line(&b.upper), line(&b.middle), line(&b.lower)].join("\n")
                }
                Err(e) => {
                    ctx.warn(format!("{key}: {e}"));
                    format!("error: {e}")
                }
            };
            ctx.kv_set(key, text);
        }
        Ok(())
    }
}

flotilla_sdk::export_bot!(IndicatorProbe);

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_sdk::testing::{Harness, reset, set_closes};

    #[test]
    fn stores_what_the_host_answers() {
        reset();
        set_closes("AAA", Timeframe::M1, &[1.0, 2.0, 3.0, 4.0]);
        let params = [("specs", "sma(2); macd(3, 2, 1)"), ("count", "2")];
        let mut h = Harness::<IndicatorProbe>::init("p", &["AAA"], &params).unwrap();
        h.tick(0, 0.0).unwrap();
        let kv = |k: &str| String::from_utf8(flotilla_sdk::host::kv_get(k).unwrap()).unwrap();
        assert_eq!(kv("sma(2)"), "2.5,3.5");
        assert!(kv("macd(3, 2, 1)").starts_with("error: invalid indicator: macd: fast"));
    }
}
