//! Glue between the generated `Guest` trait and a [`Bot`]: state, conversions, errors.

use crate::Bot;
use crate::bindings::exports::flotilla::bot::replay_strategy;
use crate::bindings::exports::flotilla::bot::strategy as wit;
use crate::bindings::flotilla::bot::types as wt;
use crate::config::Config;
use crate::host;
use crate::tick::{SeriesKey, Tick};
use crate::types::{
    Action, Bar, Fill, Intent, OrderEvent, OrderUpdate, Side, TimeInForce, Timeframe, Timestamp,
    Trail,
};
use core::any::Any;
use core::marker::PhantomData;
use std::cell::RefCell;

/// A live bot plus what the runner keeps for it between calls.
pub(crate) struct Slot<B> {
    pub bot: B,
    pub symbols: Vec<String>,
}

impl<B: Bot> Slot<B> {
    /// Runs `Bot::init`; the config's symbols are kept for later ticks.
    pub fn init(config: Config) -> Result<Self, String> {
        let bot = B::init(&config)?;
        Ok(Slot {
            bot,
            symbols: config.into_symbols(),
        })
    }

    /// Runs one tick and returns the intents it produced.
    pub fn tick(
        &mut self,
        time: Timestamp,
        tick: u64,
        capital: f64,
    ) -> Result<Vec<Intent>, String> {
        Ok(self.tick_with(time, tick, capital, None)?.0)
    }

    /// Runs one tick with a series' newest bar in hand; returns the intents and the series
    /// to watch next.
    fn tick_with(
        &mut self,
        time: Timestamp,
        tick: u64,
        capital: f64,
        newest: Option<(SeriesKey, Bar)>,
    ) -> Result<(Vec<Intent>, Option<SeriesKey>), String> {
        let mut ctx = Tick::new(time, tick, capital, &self.symbols).with_newest(newest);
        self.bot.on_tick(&mut ctx)?;
        Ok(ctx.into_parts())
    }

    /// Runs ticks from `first` on while they have no intents, each next one from the host
    /// with the newest bar of the series the last one read: several at once (a batch)
    /// while nothing else can change, or one at a time.
    fn run(&mut self, first: (Timestamp, u64, f64)) -> Result<Vec<Intent>, String> {
        let ((mut time, mut tick, mut capital), mut newest) = (first, None);
        // The batch being run, the series its bars belong to, and how many ticks of it
        // have started (0: no batch).
        let (mut batch, mut key, mut ran) = (Vec::new(), (0, Timeframe::M1), 0usize);
        loop {
            let (intents, watch) = match self.tick_with(time, tick, capital, newest) {
                Ok(out) => out,
                Err(e) => {
                    // The error belongs to this tick: the host catches up with it first.
                    host::sync();
                    host::leave_batch();
                    return Err(e);
                }
            };
            // Intents go back to the host at once: they belong to this tick.
            if !intents.is_empty() {
                host::sync();
                host::leave_batch();
                return Ok(intents);
            }
            // On through the batch while the bot made no host call this tick: a call may
            // have left something the host must record before moving on.
            if ran > 0 && ran < batch.len() && !host::caught_up_now() {
                let (t, bar): (Timestamp, Option<Bar>) = batch[ran];
                ran += 1;
                host::enter_batch_tick(ran as u32);
                (time, tick) = (t, tick + 1);
                newest = bar.map(|b| (key, b));
                continue;
            }
            let watch = watch.map(|(index, timeframe)| host::Watch {
                index,
                symbol: &self.symbols[index as usize],
                timeframe,
            });
            let Some(w) = watch else {
                // Catches up with the batch's ticks that ran, then drops the rest.
                let Some(next) = host::next_tick(None) else {
                    return Ok(Vec::new());
                };
                (time, tick, capital, newest) = (next.time, next.tick, next.capital, None);
                ran = 0;
                continue;
            };
            let Some(next) = host::next_ticks(w, BATCH, ran as u32) else {
                return Ok(Vec::new());
            };
            key = (w.index, w.timeframe);
            let (t, bar) = next.ticks[0];
            (time, tick, capital) = (t, tick + 1, next.capital);
            newest = bar.map(|b| (key, b));
            if next.moved {
                ran = 0;
            } else {
                batch = next.ticks;
                ran = 1;
                host::enter_batch_tick(1);
            }
        }
    }
}

/// Most ticks a run asks the host for at once.
const BATCH: u32 = 1_024;

// One bot per component instance, so one untyped slot is enough; `Runner<B>` downcasts.
thread_local! {
    static SLOT: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// Runs `f` on the initialised bot, or fails with a message naming `call`.
fn with_slot<B: Bot, R>(call: &str, f: impl FnOnce(&mut Slot<B>) -> R) -> Result<R, String> {
    SLOT.with(|cell| {
        let mut guard = cell
            .try_borrow_mut()
            .map_err(|_| format!("{call}: re-entered while the bot is busy"))?;
        let slot = guard
            .as_mut()
            .and_then(|s| s.downcast_mut::<Slot<B>>())
            .ok_or_else(|| format!("{call} called before init succeeded"))?;
        Ok(f(slot))
    })
}

/// Implements the generated `Guest` trait for any [`Bot`]; used by [`export_bot!`](crate::export_bot).
#[doc(hidden)]
pub struct Runner<B>(PhantomData<B>);

impl<B: Bot> wit::Guest for Runner<B> {
    fn describe() -> wit::Description {
        wit::Description {
            name: B::NAME.to_owned(),
            version: B::VERSION.to_owned(),
            symbols: B::symbols(),
            timeframes: B::timeframes().into_iter().map(wit_timeframe).collect(),
        }
    }

    fn init(config: wit::BotConfig) -> Result<(), String> {
        let config = Config::new(
            config.bot_id,
            config.symbols,
            config.params.into_iter().map(|p| (p.key, p.value)),
        );
        // A failed init leaves no bot behind: later calls report "before init".
        let slot = Slot::<B>::init(config);
        SLOT.with(|cell| {
            let mut guard = cell
                .try_borrow_mut()
                .map_err(|_| "init: re-entered while the bot is busy".to_owned())?;
            *guard = None;
            let slot = slot?;
            *guard = Some(Box::new(slot));
            Ok(())
        })
    }

    fn on_tick(ctx: wit::TickContext) -> Result<Vec<wit::OrderIntent>, String> {
        let intents = with_slot::<B, _>("on-tick", |s| s.tick(ctx.time, ctx.tick, ctx.capital))??;
        Ok(intents.into_iter().map(wit_intent).collect())
    }

    fn on_fill(fill: wit::Fill) {
        let fill = Fill {
            order_id: fill.order_id,
            symbol: fill.symbol,
            side: match fill.side {
                wt::Side::Buy => Side::Buy,
                wt::Side::Sell => Side::Sell,
            },
            quantity: fill.quantity,
            price: fill.price,
            fee: fill.fee,
            time: fill.time,
            tag: fill.tag,
        };
        // A fill before init has no bot to tell; the WIT gives no way to report it.
        let _ = with_slot::<B, _>("on-fill", |s| s.bot.on_fill(&fill));
    }

    fn on_order(update: wit::OrderUpdate) {
        let update = OrderUpdate {
            order_id: update.order_id,
            symbol: update.symbol,
            event: match update.event {
                wt::OrderEvent::Accepted => OrderEvent::Accepted,
                wt::OrderEvent::Rejected(why) => OrderEvent::Rejected(why),
                wt::OrderEvent::Canceled => OrderEvent::Canceled,
                wt::OrderEvent::Expired => OrderEvent::Expired,
                wt::OrderEvent::PartialFill(q) => OrderEvent::PartialFill(q),
                wt::OrderEvent::Filled => OrderEvent::Filled,
            },
            time: update.time,
            tag: update.tag,
        };
        // As for fills: before init there is no bot to tell.
        let _ = with_slot::<B, _>("on-order", |s| s.bot.on_order(&update));
    }

    fn snapshot() -> Vec<u8> {
        with_slot::<B, _>("snapshot", |s| s.bot.snapshot()).unwrap_or_default()
    }

    fn restore(state: Vec<u8>) -> Result<(), String> {
        with_slot::<B, _>("restore", |s| s.bot.restore(&state))?
    }
}

// Backtests only: the SDK runs the ticks itself, so no bot implements this.
impl<B: Bot> replay_strategy::Guest for Runner<B> {
    fn on_ticks(ctx: wit::TickContext) -> Result<Vec<wit::OrderIntent>, String> {
        let intents = with_slot::<B, _>("on-ticks", |s| s.run((ctx.time, ctx.tick, ctx.capital)))??;
        Ok(intents.into_iter().map(wit_intent).collect())
    }
}

/// Converts a generated time in force to the SDK's.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) fn time_in_force(t: wt::TimeInForce) -> TimeInForce {
    match t {
        wt::TimeInForce::Day => TimeInForce::Day,
        wt::TimeInForce::Gtc => TimeInForce::Gtc,
        wt::TimeInForce::Ioc => TimeInForce::Ioc,
        wt::TimeInForce::Fok => TimeInForce::Fok,
    }
}

/// Converts an SDK timeframe to the generated one.
pub(crate) fn wit_timeframe(tf: Timeframe) -> wt::Timeframe {
    match tf {
        Timeframe::M1 => wt::Timeframe::M1,
        Timeframe::M5 => wt::Timeframe::M5,
        Timeframe::M15 => wt::Timeframe::M15,
        Timeframe::H1 => wt::Timeframe::H1,
        Timeframe::D1 => wt::Timeframe::D1,
    }
}

fn wit_intent(i: Intent) -> wit::OrderIntent {
    wit::OrderIntent {
        symbol: i.symbol,
        action: match i.action {
            Action::Buy(q) => wt::OrderAction::Buy(q),
            Action::Sell(q) => wt::OrderAction::Sell(q),
            Action::Target(q) => wt::OrderAction::Target(q),
        },
        confidence: i.confidence,
        stop_loss: i.stop_loss,
        take_profit: i.take_profit,
        trailing: i.trailing.map(|t| wt::TrailingStop {
            distance: match t.distance {
                Trail::Atr(k) => wt::TrailDistance::Atr(k),
                Trail::Percent(p) => wt::TrailDistance::Percent(p),
                Trail::Absolute(d) => wt::TrailDistance::Absolute(d),
            },
            activate_at_r: t.activate_at_r,
        }),
        scale_outs: i
            .scale_outs
            .iter()
            .map(|s| wt::ScaleOut {
                at_r: s.at_r,
                fraction: s.fraction,
            })
            .collect(),
        limit_price: i.limit_price,
        time_in_force: i.time_in_force.map(|t| match t {
            TimeInForce::Day => wt::TimeInForce::Day,
            TimeInForce::Gtc => wt::TimeInForce::Gtc,
            TimeInForce::Ioc => wt::TimeInForce::Ioc,
            TimeInForce::Fok => wt::TimeInForce::Fok,
        }),
        tag: i.tag,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::exports::flotilla::bot::replay_strategy::Guest as _;
    use crate::bindings::exports::flotilla::bot::strategy::Guest;

    struct Counter {
        n: u64,
    }

    impl Bot for Counter {
        const NAME: &'static str = "counter";
        const VERSION: &'static str = "1.0.0";
        fn init(cfg: &Config) -> Result<Self, String> {
            if cfg.get("fail", false)? {
                return Err("asked to fail".into());
            }
            Ok(Counter { n: 0 })
        }
        fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
            self.n += 1;
            let sym = ctx.symbols()[0].clone();
            ctx.buy(sym, self.n as f64).tag("t");
            Ok(())
        }
        fn snapshot(&self) -> Vec<u8> {
            self.n.to_le_bytes().to_vec()
        }
        fn restore(&mut self, state: &[u8]) -> Result<(), String> {
            self.n = u64::from_le_bytes(state.try_into().map_err(|_| "bad state")?);
            Ok(())
        }
    }

    type R = Runner<Counter>;

    fn config(fail: bool) -> wit::BotConfig {
        wit::BotConfig {
            bot_id: "c1".into(),
            symbols: vec!["AAA".into()],
            params: vec![wt::Param {
                key: "fail".into(),
                value: fail.to_string(),
            }],
        }
    }

    fn ctx(tick: u64) -> wit::TickContext {
        wit::TickContext {
            time: 0,
            tick,
            capital: 1.0,
        }
    }

    #[test]
    fn calls_before_init_are_errors_not_panics() {
        let e = R::on_tick(ctx(1)).unwrap_err();
        assert!(e.contains("before init"), "{e}");
        assert!(R::restore(vec![]).unwrap_err().contains("before init"));
        assert!(R::snapshot().is_empty());
        R::on_fill(wit::Fill {
            order_id: 1,
            symbol: "AAA".into(),
            side: wt::Side::Buy,
            quantity: 1.0,
            price: 1.0,
            fee: 0.0,
            time: 0,
            tag: String::new(),
        });
    }

    #[test]
    fn describe_init_tick_snapshot_restore() {
        let d = R::describe();
        assert_eq!((d.name.as_str(), d.version.as_str()), ("counter", "1.0.0"));
        assert_eq!(d.timeframes, vec![wt::Timeframe::M1]);
        R::init(config(false)).unwrap();
        R::on_tick(ctx(1)).unwrap();
        let out = R::on_tick(ctx(2)).unwrap();
        assert!(matches!(out[0].action, wt::OrderAction::Buy(q) if q == 2.0));
        let snap = R::snapshot();
        R::init(config(false)).unwrap();
        R::restore(snap).unwrap();
        let out = R::on_tick(ctx(1)).unwrap();
        assert!(matches!(out[0].action, wt::OrderAction::Buy(q) if q == 3.0));
        assert!(R::restore(vec![1]).is_err());
    }

    #[test]
    fn a_batch_runs_without_calls_and_catches_the_host_up_before_calls_and_intents() {
        use crate::types::Timeframe;
        // Reads the newest bar each tick; logs at a close of 3, buys at a close of 5.
        struct Watcher;
        impl Bot for Watcher {
            const NAME: &'static str = "watcher";
            const VERSION: &'static str = "1.0.0";
            fn init(_: &Config) -> Result<Self, String> {
                Ok(Watcher)
            }
            fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
                let bar = ctx.bar_at("AAA", Timeframe::M1, 0)?.expect("a bar");
                if bar.close == 3.0 {
                    ctx.info("three");
                }
                if bar.close == 5.0 {
                    let tag = format!("{}@{}", ctx.tick(), ctx.time());
                    ctx.buy("AAA", 1.0).tag(tag);
                }
                Ok(())
            }
        }
        let bar = |c: f64| crate::types::Bar {
            time: c as i64 * 60_000,
            open: c,
            high: c,
            low: c,
            close: c,
            volume: 1.0,
        };
        crate::testing::reset();
        crate::testing::set_closes("AAA", Timeframe::M1, &[1.0]);
        type E = Runner<Watcher>;
        E::init(config(false)).unwrap();
        crate::host::imp::with(|m| {
            m.batches = [
                vec![
                    (20, Some(bar(2.0))),
                    (30, Some(bar(3.0))),
                    (40, Some(bar(9.0))),
                ],
                vec![
                    (40, Some(bar(4.0))),
                    (50, Some(bar(5.0))),
                    (60, Some(bar(6.0))),
                ],
            ]
            .into();
        });
        let out = E::on_ticks(ctx(1)).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].tag, "5@50",
            "the intent of the batch's tick 5, at its time"
        );
        let (calls, bar_at_calls, logs) =
            crate::host::imp::with(|m| (m.batch_calls.clone(), m.bar_at_calls, m.logs.len()));
        // A batch; the log at its 2nd tick catches the host up and ends it after that
        // tick (its 3rd, a close of 9, never runs); the next batch's 2nd tick has the
        // intent, caught up with before it goes back.
        assert_eq!(calls, vec![0, -2, 2, -2]);
        assert_eq!(
            (bar_at_calls, logs),
            (1, 1),
            "batch bars came with the batch"
        );
    }

    #[test]
    fn on_ticks_runs_handed_out_ticks_until_intents() {
        struct Every3;
        impl Bot for Every3 {
            const NAME: &'static str = "every3";
            const VERSION: &'static str = "1.0.0";
            fn init(_: &Config) -> Result<Self, String> {
                Ok(Every3)
            }
            fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
                if ctx.tick().is_multiple_of(3) {
                    let (qty, tag) = (ctx.capital(), ctx.time().to_string());
                    ctx.buy("AAA", qty).tag(tag);
                }
                Ok(())
            }
        }
        type E = Runner<Every3>;
        E::init(config(false)).unwrap();
        let queue = |ticks: &[u64]| {
            crate::host::imp::with(|m| {
                m.next_ticks = ticks
                    .iter()
                    .map(|&t| (t as i64 * 10, t, t as f64))
                    .collect()
            })
        };
        queue(&[2, 3, 4]);
        let out = E::on_ticks(ctx(1)).unwrap();
        assert_eq!(out.len(), 1, "stops at tick 3's intent");
        assert_eq!(out[0].tag, "30");
        assert!(matches!(out[0].action, wt::OrderAction::Buy(q) if q == 3.0));
        assert_eq!(
            crate::host::imp::with(|m| m.next_ticks.len()),
            1,
            "tick 4 not taken"
        );
        // The source runs dry: no intents, every tick handled.
        queue(&[4, 5]);
        assert!(E::on_ticks(ctx(3 + 1)).unwrap().is_empty());
        assert!(crate::host::imp::with(|m| m.next_ticks.is_empty()));
        // The first tick alone can have intents.
        assert_eq!(E::on_ticks(ctx(6)).unwrap().len(), 1);
    }

    #[test]
    fn a_run_hands_in_the_newest_bar_of_the_series_the_last_tick_read() {
        use crate::testing::{reset, set_closes};
        thread_local! {
            static SEEN: RefCell<Vec<(Option<f64>, Option<f64>)>> = const { RefCell::new(Vec::new()) };
        }
        struct Reader;
        impl Bot for Reader {
            const NAME: &'static str = "reader";
            const VERSION: &'static str = "1.0.0";
            fn init(_: &Config) -> Result<Self, String> {
                Ok(Reader)
            }
            fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
                let close = |tf, back| ctx.bar_at("AAA", tf, back).map(|b| b.map(|b| b.close));
                // The newest M1 bar (watched), one back (always a call), a second series.
                let seen = (close(Timeframe::M1, 0)?, close(Timeframe::M1, 1)?);
                assert_eq!(close(Timeframe::M5, 0)?, None);
                SEEN.with(|s| s.borrow_mut().push(seen));
                Ok(())
            }
        }
        type Rd = Runner<Reader>;
        reset();
        set_closes("AAA", Timeframe::M1, &[1.0, 2.0, 3.0]);
        set_closes("AAA", Timeframe::M5, &[]);
        Rd::init(config(false)).unwrap();
        crate::host::imp::with(|m| m.next_ticks = [(1, 2, 1.0), (2, 3, 1.0)].into());
        assert!(Rd::on_ticks(ctx(1)).unwrap().is_empty());
        let seen = SEEN.with(|s| s.take());
        assert_eq!(
            seen,
            vec![(Some(3.0), Some(2.0)); 3],
            "what the calls would answer"
        );
        // Tick 1: M1 newest, M1 one back, M5 newest. Ticks 2 and 3: the M1 newest came
        // with the tick; M5 (no bar) is never watched, so it is still asked.
        assert_eq!(crate::host::imp::with(|m| m.bar_at_calls), 3 + 2 + 2);
    }

    #[test]
    fn order_updates_and_limit_entries_cross_the_boundary() {
        thread_local! {
            static HEARD: RefCell<Vec<OrderUpdate>> = const { RefCell::new(Vec::new()) };
        }
        struct Limit;
        impl Bot for Limit {
            const NAME: &'static str = "limit";
            const VERSION: &'static str = "1.0.0";
            fn init(_: &Config) -> Result<Self, String> {
                Ok(Limit)
            }
            fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
                ctx.buy("AAA", 1.0)
                    .limit(9.5)
                    .time_in_force(TimeInForce::Ioc);
                Ok(())
            }
            fn on_order(&mut self, update: &OrderUpdate) {
                HEARD.with(|h| h.borrow_mut().push(update.clone()));
            }
        }
        type L = Runner<Limit>;
        let update = |event| wit::OrderUpdate {
            order_id: 4,
            symbol: "AAA".into(),
            event,
            time: 60_000,
            tag: "t".into(),
        };
        L::on_order(update(wt::OrderEvent::Filled));
        assert!(
            HEARD.with(|h| h.borrow().is_empty()),
            "before init: nobody to tell"
        );
        L::init(config(false)).unwrap();
        L::on_order(update(wt::OrderEvent::PartialFill(0.5)));
        L::on_order(update(wt::OrderEvent::Rejected("no".into())));
        let heard: Vec<OrderEvent> = HEARD
            .with(|h| h.take())
            .into_iter()
            .map(|u| u.event)
            .collect();
        assert_eq!(
            heard,
            [
                OrderEvent::PartialFill(0.5),
                OrderEvent::Rejected("no".into())
            ]
        );
        let out = L::on_tick(ctx(1)).unwrap();
        assert_eq!(
            (out[0].limit_price, out[0].time_in_force),
            (Some(9.5), Some(wt::TimeInForce::Ioc))
        );
    }

    #[test]
    fn failed_init_leaves_no_bot() {
        R::init(config(false)).unwrap();
        assert_eq!(R::init(config(true)).unwrap_err(), "asked to fail");
        assert!(R::on_tick(ctx(1)).unwrap_err().contains("before init"));
    }
}
