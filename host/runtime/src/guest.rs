//! A bot's exports, whichever contract version it was built for: one enum over the
//! generated bindings, calls in host types.

use crate::bindings::{v06, v07};
use crate::host::BotState;
use crate::instance::Description;
use crate::intents::{RawAction, RawIntent, RawTrail, RawTrailing};
use crate::views::{FillView, OrderUpdateView};
use flotilla_domain::Timestamp;
use wasmtime::Store;
use wasmtime::component::InstancePre;

/// A contract version this host runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Contract {
    /// `flotilla:bot@0.6.0`: market intents, no order updates.
    V0_6,
    /// `flotilla:bot@0.7.0`: limit orders, working orders, cancels, order updates.
    V0_7,
}

impl Contract {
    /// Every version this host runs, newest first.
    pub const ALL: [Contract; 2] = [Contract::V0_7, Contract::V0_6];

    /// The package and version, e.g. `flotilla:bot@0.7.0`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Contract::V0_6 => crate::runtime::CONTRACT_0_6,
            Contract::V0_7 => crate::runtime::CONTRACT_0_7,
        }
    }

    /// The strategy export a component of this version has, e.g.
    /// `flotilla:bot/strategy@0.7.0`.
    pub fn strategy_export(self) -> String {
        self.as_str().replace('@', "/strategy@")
    }
}

impl std::fmt::Display for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A linked component of either version, ready to instantiate.
pub(crate) enum GuestPre {
    V06(v06::BotPre<BotState>),
    V07(v07::BotPre<BotState>),
}

impl GuestPre {
    /// Checks `pre` against the world of `contract`.
    pub(crate) fn new(contract: Contract, pre: InstancePre<BotState>) -> wasmtime::Result<Self> {
        Ok(match contract {
            Contract::V0_6 => GuestPre::V06(v06::BotPre::new(pre)?),
            Contract::V0_7 => GuestPre::V07(v07::BotPre::new(pre)?),
        })
    }

    /// The version it speaks.
    pub(crate) fn contract(&self) -> Contract {
        match self {
            GuestPre::V06(_) => Contract::V0_6,
            GuestPre::V07(_) => Contract::V0_7,
        }
    }

    /// A new instance in `store`.
    pub(crate) fn instantiate(&self, store: &mut Store<BotState>) -> wasmtime::Result<Guest> {
        Ok(match self {
            GuestPre::V06(p) => Guest::V06(p.instantiate(store)?),
            GuestPre::V07(p) => Guest::V07(p.instantiate(store)?),
        })
    }
}

/// A live instance of either version.
pub(crate) enum Guest {
    V06(v06::Bot),
    V07(v07::Bot),
}

/// A call's trap, or what it returned: a value or the bot's error.
type Call<T> = wasmtime::Result<Result<T, String>>;

/// A tick's intents, each converted.
fn intents<T>(r: Result<Vec<T>, String>, f: fn(T) -> RawIntent) -> Result<Vec<RawIntent>, String> {
    r.map(|v| v.into_iter().map(f).collect())
}

impl Guest {
    /// `describe`.
    pub(crate) fn describe(&self, s: &mut Store<BotState>) -> wasmtime::Result<Description> {
        Ok(match self {
            Guest::V06(b) => g06::describe(b.flotilla_bot_strategy().call_describe(s)?),
            Guest::V07(b) => g07::describe(b.flotilla_bot_strategy().call_describe(s)?),
        })
    }

    /// `init` with the bot id, the grant and the params.
    pub(crate) fn init(
        &self,
        s: &mut Store<BotState>,
        bot: String,
        symbols: Vec<String>,
        params: &[(String, String)],
    ) -> Call<()> {
        match self {
            Guest::V06(b) => {
                let c = g06::config(bot, symbols, params);
                b.flotilla_bot_strategy().call_init(s, &c)
            }
            Guest::V07(b) => {
                let c = g07::config(bot, symbols, params);
                b.flotilla_bot_strategy().call_init(s, &c)
            }
        }
    }

    /// `on-tick`, or with `run` `on-ticks`, at `time`; the intents as returned.
    pub(crate) fn on_tick(
        &self,
        s: &mut Store<BotState>,
        (time, tick, capital): (Timestamp, u64, f64),
        run: bool,
    ) -> Call<Vec<RawIntent>> {
        Ok(match self {
            Guest::V06(b) => {
                let ctx = v06::flotilla::bot::types::TickContext {
                    time: time.0,
                    tick,
                    capital,
                };
                let st = b.flotilla_bot_strategy();
                let r = if run {
                    st.call_on_ticks(s, ctx)?
                } else {
                    st.call_on_tick(s, ctx)?
                };
                intents(r, g06::raw_intent)
            }
            Guest::V07(b) => {
                let ctx = v07::flotilla::bot::types::TickContext {
                    time: time.0,
                    tick,
                    capital,
                };
                let r = if run {
                    b.flotilla_bot_replay_strategy().call_on_ticks(s, ctx)?
                } else {
                    b.flotilla_bot_strategy().call_on_tick(s, ctx)?
                };
                intents(r, g07::raw_intent)
            }
        })
    }

    /// `on-fill`.
    pub(crate) fn on_fill(&self, s: &mut Store<BotState>, fill: &FillView) -> wasmtime::Result<()> {
        match self {
            Guest::V06(b) => b.flotilla_bot_strategy().call_on_fill(s, &g06::fill(fill)),
            Guest::V07(b) => b.flotilla_bot_strategy().call_on_fill(s, &g07::fill(fill)),
        }
    }

    /// `on-order`; a 0.6.0 bot has none, so it hears nothing.
    pub(crate) fn on_order(
        &self,
        s: &mut Store<BotState>,
        update: &OrderUpdateView,
    ) -> wasmtime::Result<()> {
        match self {
            Guest::V06(_) => Ok(()),
            Guest::V07(b) => b
                .flotilla_bot_strategy()
                .call_on_order(s, &g07::order_update(update)),
        }
    }

    /// `snapshot`.
    pub(crate) fn snapshot(&self, s: &mut Store<BotState>) -> wasmtime::Result<Vec<u8>> {
        match self {
            Guest::V06(b) => b.flotilla_bot_strategy().call_snapshot(s),
            Guest::V07(b) => b.flotilla_bot_strategy().call_snapshot(s),
        }
    }

    /// `restore`.
    pub(crate) fn restore(&self, s: &mut Store<BotState>, state: &[u8]) -> Call<()> {
        match self {
            Guest::V06(b) => b.flotilla_bot_strategy().call_restore(s, state),
            Guest::V07(b) => b.flotilla_bot_strategy().call_restore(s, state),
        }
    }
}

/// Conversions of the export types both versions share, for the `types` in scope.
macro_rules! export_conversions {
    () => {
        pub(super) fn describe(d: types::Description) -> Description {
            Description {
                name: d.name,
                version: d.version,
                symbols: d.symbols,
                timeframes: d.timeframes.into_iter().map(tf_of).collect(),
            }
        }

        pub(super) fn config(
            bot_id: String,
            symbols: Vec<String>,
            params: &[(String, String)],
        ) -> types::BotConfig {
            types::BotConfig {
                bot_id,
                symbols,
                params: params
                    .iter()
                    .map(|(k, v)| types::Param {
                        key: k.clone(),
                        value: v.clone(),
                    })
                    .collect(),
            }
        }

        pub(super) fn fill(f: &FillView) -> types::Fill {
            types::Fill {
                order_id: f.order_id,
                symbol: f.symbol.clone(),
                side: if f.buy {
                    types::Side::Buy
                } else {
                    types::Side::Sell
                },
                quantity: f.quantity,
                price: f.price,
                fee: f.fee,
                time: f.time.0,
                tag: f.tag.clone(),
            }
        }

        /// The fields every version's intent has; newer ones are set by the caller.
        fn common_intent(i: types::OrderIntent) -> RawIntent {
            RawIntent {
                symbol: i.symbol,
                action: match i.action {
                    types::OrderAction::Buy(q) => RawAction::Buy(q),
                    types::OrderAction::Sell(q) => RawAction::Sell(q),
                    types::OrderAction::Target(q) => RawAction::Target(q),
                },
                confidence: i.confidence,
                stop_loss: i.stop_loss,
                take_profit: i.take_profit,
                trailing: i.trailing.map(|t| RawTrailing {
                    distance: match t.distance {
                        types::TrailDistance::Atr(k) => RawTrail::Atr(k),
                        types::TrailDistance::Percent(p) => RawTrail::Percent(p),
                        types::TrailDistance::Absolute(d) => RawTrail::Absolute(d),
                    },
                    activate_at_r: t.activate_at_r,
                }),
                scale_outs: i
                    .scale_outs
                    .into_iter()
                    .map(|s| flotilla_domain::ScaleOut {
                        at_r: s.at_r,
                        fraction: s.fraction,
                    })
                    .collect(),
                limit_price: None,
                time_in_force: None,
                tag: i.tag,
            }
        }
    };
}

/// 0.7.0's exports.
mod g07 {
    use super::*;
    use crate::adapters::v07::{tf_of, tif_of};
    use crate::bindings::v07::flotilla::bot::types;
    use crate::views::OrderUpdateKind;

    export_conversions!();

    /// An intent with its limit price and time in force.
    pub(super) fn raw_intent(i: types::OrderIntent) -> RawIntent {
        let (limit_price, time_in_force) = (i.limit_price, i.time_in_force.map(tif_of));
        RawIntent {
            limit_price,
            time_in_force,
            ..common_intent(i)
        }
    }

    pub(super) fn order_update(u: &OrderUpdateView) -> types::OrderUpdate {
        use types::OrderEvent as E;
        types::OrderUpdate {
            order_id: u.order_id.0,
            symbol: u.symbol.to_string(),
            event: match &u.event {
                OrderUpdateKind::Accepted => E::Accepted,
                OrderUpdateKind::Rejected(why) => E::Rejected(why.clone()),
                OrderUpdateKind::Canceled => E::Canceled,
                OrderUpdateKind::Expired => E::Expired,
                OrderUpdateKind::PartialFill { cumulative } => E::PartialFill(*cumulative),
                OrderUpdateKind::Filled => E::Filled,
            },
            time: u.time.0,
            tag: u.tag.clone(),
        }
    }
}

/// 0.6.0's exports: its intents are market orders, good for the day.
mod g06 {
    use super::*;
    use crate::adapters::v06::tf_of;
    use crate::bindings::v06::flotilla::bot::types;

    export_conversions!();

    pub(super) fn raw_intent(i: types::OrderIntent) -> RawIntent {
        common_intent(i)
    }
}
