//! The CLI commands: `run`, `check`, `status`.

use crate::clock::{ScaledClock, SchedClock};
use crate::fleet::{Fleet, FleetOptions, default_registry_path};
use crate::slot::{BotSlot, SlotSpec};
use crate::{report, scheduler};
use anyhow::{Context, Result, bail};
use flotilla_config::Registry;
use flotilla_domain::Timestamp;
use flotilla_ledger::Ledger;
use flotilla_runtime::{Runtime, RuntimeConfig};
use flotilla_telemetry::FleetPort;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Options of `flotilla run`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Registry file (default: ./config/fleet.toml, else the bundled one).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Simulated seconds per real second (default: 2880 with the simulator, a day in
    /// 30 s; 1 with a live market source, or the rehearsal fake's own speed).
    #[arg(long)]
    pub speed: Option<f64>,
    /// Opt in to real money, with `mode = "live"` in the registry (also `FLOTILLA_LIVE=1`).
    #[arg(long)]
    pub live: bool,
    /// Simulated time to run, e.g. `1d`, `6h 30m`.
    #[arg(long, default_value = "1d")]
    pub duration: String,
    /// Ledger file.
    #[arg(long, default_value = "flotilla.db")]
    pub db: PathBuf,
    /// Compiled-component cache directory.
    #[arg(long, default_value = ".flotilla/cache")]
    pub cache_dir: PathBuf,
    /// Do not watch the registry and components for changes (reload with `flotilla reload`).
    #[arg(long)]
    pub no_watch: bool,
    /// Serve the HTTP API, dashboard and metrics here instead of the registry's
    /// `[fleet.api] listen` (e.g. `127.0.0.1:0` for any free port).
    #[arg(long)]
    pub api_listen: Option<String>,
    /// Do not print the live one-line summary while running.
    #[arg(long)]
    pub quiet: bool,
}

/// Reloads everything on SIGHUP, like `flotilla reload`.
async fn reload_on_sighup(fleet: Arc<Fleet>) -> Result<()> {
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    while hup.recv().await.is_some() {
        let f = fleet.clone();
        let out = tokio::task::spawn_blocking(move || crate::control::reload_all(&f)).await?;
        tracing::info!("SIGHUP reload:\n{out}");
    }
    Ok(())
}

/// `flotilla halt|reduce|resume`: sets the running fleet's trading state (audited).
pub fn set_state(db: &Path, state: &str, reason: &str) -> Result<()> {
    let answer = crate::control::send(db, &format!("state {state} {reason}"))?;
    print!("{answer}");
    if answer.starts_with("error:") {
        bail!("the fleet refused the change");
    }
    Ok(())
}

/// `flotilla allocations`: the latest capital allocation and why, from the ledger.
pub fn allocations(db: &Path, json: bool) -> Result<()> {
    if !db.exists() {
        bail!(
            "no ledger at {} (run `flotilla run` first, or pass --db)",
            db.display()
        );
    }
    let ledger = Ledger::open(db).with_context(|| format!("opening ledger {}", db.display()))?;
    let rows = ledger.latest_allocation()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("no allocation recorded yet");
        return Ok(());
    }
    println!(
        "rebalance #{} at {}\n{:<20} {:>8} {:>8} {:>12} {:>8} {:>10} {:>9}  why",
        rows[0].sequence,
        report::fmt_time(rows[0].time),
        "bot",
        "trades",
        "win rate",
        "mean ret",
        "P(best)",
        "weight",
        "budget"
    );
    for r in &rows {
        let p = &r.posterior;
        println!(
            "{:<20} {:>8} {:>8.3} {:>12.6} {:>8.3} {:>10.4} {:>9}  {}",
            r.bot.as_str(),
            p["trades"].as_u64().unwrap_or(0),
            p["win_rate"].as_f64().unwrap_or(f64::NAN),
            p["mean_return"].as_f64().unwrap_or(f64::NAN),
            r.p_best,
            r.weight,
            r.budget.round_dp(2),
            r.why
        );
    }
    Ok(())
}

/// `flotilla reload`: asks the fleet running on `db` to reload its registry and bots.
pub fn reload(db: &Path) -> Result<()> {
    let answer = crate::control::send(db, "reload")?;
    print!("{answer}");
    if answer.lines().any(|l| l.starts_with("error:")) {
        bail!("reload finished with errors; the bots concerned keep their running version");
    }
    Ok(())
}

fn load_registry(config: Option<PathBuf>) -> Result<Registry> {
    let path = config.unwrap_or_else(default_registry_path);
    Registry::load(&path)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("loading registry {}", path.display()))
}

/// `flotilla run`: the fleet on simulated time until the duration ends or Ctrl-C.
pub fn run(args: RunArgs) -> Result<()> {
    let registry = load_registry(args.config.clone())?;
    let span = humantime::parse_duration(&args.duration).with_context(|| {
        format!(
            "--duration {:?} is not a duration like 1d or 6h",
            args.duration
        )
    })?;
    let spec = registry.fleet_spec().map_err(|e| anyhow::anyhow!("{e}"))?;
    let live_source = spec.market.source != flotilla_config::MarketSourceKind::Sim;
    let speed = args.speed.unwrap_or(if live_source { 1.0 } else { 2880.0 });
    if !(speed.is_finite() && speed > 0.0) {
        bail!("--speed must be a positive number, got {speed}");
    }
    // Created first, so the venue's requests are counted from the first one.
    let telemetry = Arc::new(flotilla_telemetry::Telemetry::default());
    flotilla_venues::observe_requests(Arc::new(crate::serve::VenueMetrics(telemetry.clone())));
    // The venue and the market source first: a real venue's clock is the run's.
    // Kept to the end of the run: a data-only feed's runtime lives in it.
    let mut conn = crate::connect::connect(&spec, args.live, speed)?;
    for l in &conn.lines {
        eprintln!("flotilla: {l}");
    }
    let mut options = FleetOptions::new(args.db.clone(), Some(args.cache_dir.clone()));
    let venue = conn.venue.take();
    if let Some((m, now)) = conn.live.take() {
        options.live = Some((Arc::new(std::sync::Mutex::new(Some(m))), now));
    }
    let fleet = Arc::new(Fleet::build(&registry, &options)?);
    if fleet.handles().is_empty() {
        bail!("no bot could be loaded; see the errors above (`flotilla check` lists them)");
    }
    // Orders go to the venue off the tick path (by default the paper venue's account
    // beside the ledger); working orders are reconciled before any bot ticks.
    let (rec, where_) = match venue {
        Some(v) => {
            let name = v.info().venue;
            (fleet.start_execution_on(v, None)?, name)
        }
        None => {
            let path = crate::execution::venue_path(&args.db);
            (
                fleet.start_execution(&path)?,
                format!("paper venue {}", path.display()),
            )
        }
    };
    eprintln!(
        "flotilla: {where_}: {} missed venue events booked, {} orders sent again, {} working, {} in doubt{}",
        rec.events_booked,
        rec.resent,
        rec.working,
        rec.in_doubt,
        if rec.differences.is_empty() {
            String::new()
        } else {
            format!("; differences: {}", rec.differences.join("; "))
        }
    );
    let start = fleet.start();
    let until = Timestamp(start.0 + span.as_millis() as i64);
    let clock: Arc<dyn SchedClock> = Arc::new(ScaledClock::new(start, speed));
    eprintln!(
        "flotilla: {} bots, {} {} at {}x (about {:.0} s), ledger {}",
        fleet.handles().len(),
        args.duration,
        if live_source { "live" } else { "simulated" },
        speed,
        clock.to_real(until.0 - start.0).as_secs_f64(),
        args.db.display()
    );
    let wall = Instant::now();
    let _watch = if args.no_watch {
        None
    } else {
        Some(crate::watch::watch(fleet.clone())?)
    };
    // From here on the fleet's decisions are published and counted (API, alerts, metrics).
    let port = crate::port::Port::attach(fleet.clone(), telemetry.clone(), &args.db);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let socket = crate::control::socket_path(&args.db);
    let stats = rt.block_on(async {
        let (_tx, rx) = scheduler::shutdown_on_ctrl_c();
        let control = tokio::spawn(crate::control::serve(port.clone(), socket.clone()));
        let hup = tokio::spawn(reload_on_sighup(fleet.clone()));
        let served =
            crate::serve::start(&spec, port.clone(), &args.db, args.api_listen.as_deref()).await?;
        let summary = (!args.quiet)
            .then(|| tokio::spawn(crate::summary::run(port.clone() as Arc<dyn FleetPort>)));
        let stats = scheduler::run(fleet.clone(), clock.clone(), until, rx).await;
        control.abort();
        hup.abort();
        if let Some(s) = summary {
            s.abort();
            eprintln!();
        }
        served.shutdown().await;
        stats
    })?;
    let _ = std::fs::remove_file(&socket);
    let end = Timestamp(clock.now().0.min(until.0));
    fleet.stop_execution();
    fleet.save_states()?;
    fleet.save_host_state(end)?;
    fleet.record_equity(end)?;
    let core = fleet.core();
    println!("\n{}", report::bot_table(&core.ledger.bot_summaries()?));
    print!(
        "{}",
        report::equity_line(core.ledger.latest_equity()?.as_ref())
    );
    let skipped: u64 = stats.values().map(|s| s.skipped).sum();
    println!(
        "ran {} ticks ({} skipped for overrun) in {:.1} s wall time; `flotilla status --db {}` for details",
        stats.values().map(|s| s.ticks).sum::<u64>(),
        skipped,
        wall.elapsed().as_secs_f64(),
        args.db.display()
    );
    Ok(())
}

/// `flotilla check`: validates the registry and loads every bot; lists every problem.
pub fn check(config: Option<PathBuf>, cache_dir: PathBuf) -> Result<()> {
    let registry = load_registry(config)?;
    let mut problems: Vec<String> = Vec::new();
    if let Err(errors) = registry.validate() {
        problems.extend(errors.to_string().lines().map(str::to_string));
    }
    if let Ok(spec) = registry.fleet_spec() {
        let (ok, venue_problems) = crate::connect::check(&spec);
        for l in ok {
            println!("ok   {l}");
        }
        problems.extend(venue_problems);
    }
    if let Ok(specs) = registry.bots() {
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: Some(cache_dir),
            ..Default::default()
        })?;
        let market: Arc<dyn flotilla_domain::MarketData> =
            Arc::new(flotilla_market::SharedBars::default());
        for spec in specs.iter().filter(|s| s.component.exists()) {
            let result = (|| -> Result<String> {
                let comp = runtime.load_file(&spec.component)?;
                let slot = BotSlot::start(
                    &runtime,
                    SlotSpec::from_bot(spec, 0),
                    comp,
                    market.clone(),
                    Default::default(),
                    None,
                )?;
                let d = slot.description();
                Ok(format!("{} {}", d.name, d.version))
            })();
            match result {
                Ok(what) => println!("ok   {:<20} {what}", spec.id.as_str()),
                Err(e) => problems.push(format!("bot \"{}\": {e:#}", spec.id)),
            }
        }
    }
    if problems.is_empty() {
        println!("registry {} is valid", registry.origin().display());
        return Ok(());
    }
    for p in &problems {
        println!("error: {p}");
    }
    bail!(
        "{} problem(s) in {}",
        problems.len(),
        registry.origin().display()
    )
}

fn open_existing(db: &Path) -> Result<Ledger> {
    if !db.exists() {
        bail!(
            "no ledger at {} (run `flotilla run` first, or pass --db)",
            db.display()
        );
    }
    Ledger::open(db).with_context(|| format!("opening ledger {}", db.display()))
}

/// `flotilla orders`: orders with their state history, from the ledger.
pub fn orders(
    db: &Path,
    working_only: bool,
    bot: Option<String>,
    limit: usize,
    json: bool,
) -> Result<()> {
    let ledger = open_existing(db)?;
    let filter = flotilla_ledger::OrderFilter {
        working_only,
        bot: bot.map(flotilla_domain::BotId::new),
        limit,
    };
    let rows = ledger.orders(&filter)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", report::orders_table(&rows, true));
    }
    Ok(())
}

/// `flotilla status`: what the ledger says, per bot.
pub fn status(db: &Path, json: bool) -> Result<()> {
    if !db.exists() {
        bail!(
            "no ledger at {} (run `flotilla run` first, or pass --db)",
            db.display()
        );
    }
    let ledger = open_existing(db)?;
    // The HTTP API's queries, so status and the dashboard can never disagree.
    let mut reader = flotilla_ledger::LedgerReader::open(db)
        .with_context(|| format!("reading ledger {}", db.display()))?;
    let bots: Vec<_> = reader
        .bot_stats(None)?
        .iter()
        .map(report::summary_of)
        .collect();
    let working = reader
        .orders_page(&flotilla_ledger::query::OrderQuery {
            status: flotilla_ledger::query::OrderStatusFilter::Working,
            limit: flotilla_ledger::query::MAX_LIMIT,
            ..Default::default()
        })?
        .items;
    let trading_state = reader.trading_state(5)?;
    let audit = reader.audit_page(None, 10)?.items;
    let positions = ledger.positions()?;
    let refusals = ledger.recent_refusals(10)?;
    let equity = ledger.latest_equity()?;
    let events = ledger.events(10)?;
    // What the latest start's reconciliation with the venue found (newest first).
    let mut reconciliation = Vec::new();
    for e in ledger.events(2_000)? {
        if e.kind.starts_with("reconcil") {
            let last = e.kind == "reconciled";
            reconciliation.push(e);
            if last {
                break;
            }
        }
    }
    if json {
        let v = serde_json::json!({
            "trading_state": trading_state, "audit": audit,
            "reconciliation": reconciliation,
            "bots": bots, "positions": positions, "recent_refusals": refusals,
            "equity": equity, "events": events, "working_orders": working,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    print!("{}", report::trading_state_line(&trading_state));
    println!("{}", report::bot_table(&bots));
    print!("{}", report::equity_line(equity.as_ref()));
    println!("\nopen positions:\n{}", report::positions_table(&positions));
    println!("working orders:\n{}", report::orders_table(&working, false));
    if !reconciliation.is_empty() {
        println!(
            "reconciliation with the venue at the last start:\n{}",
            report::events_table(&reconciliation)
        );
    }
    println!("recent refusals:\n{}", report::refusals_table(&refusals));
    println!("recent controls:\n{}", report::audit_table(&audit));
    println!("recent events:\n{}", report::events_table(&events));
    Ok(())
}
