//! The human summary printed on the terminal: aligned plain-text tables.

use super::BacktestReport;
use super::format::{NONE, metric_rows, pct, ratio};
use crate::time::fmt_short;
use std::fmt::Write;

/// Bots per metrics table, so the table stays readable in a terminal.
const BOTS_PER_TABLE: usize = 6;

/// Renders `rows` under `headers`, the first column left-aligned, the others right-aligned,
/// columns two spaces apart, with a rule under the header.
pub fn table(headers: &[String], rows: &[Vec<String>]) -> String {
    let cols = headers.len();
    let mut width = vec![0; cols];
    for row in std::iter::once(headers).chain(rows.iter().map(Vec::as_slice)) {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: &[String]| {
        let cells: Vec<String> = row
            .iter()
            .zip(&width)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        cells.join("  ").trim_end().to_string()
    };
    let mut out = line(headers);
    out.push('\n');
    out.push_str(&"-".repeat(width.iter().sum::<usize>() + 2 * (cols - 1)));
    out.push('\n');
    for row in rows {
        out.push_str(&line(row));
        out.push('\n');
    }
    out
}

/// The terminal summary: run parameters, the metrics of the fleet and every bot, folds,
/// Monte Carlo percentiles, and trade and refusal counts.
pub fn to_terminal(report: &BacktestReport) -> String {
    let mut out = String::new();
    let p = &report.params;
    let _ = writeln!(out, "Backtest report");
    for d in &p.data {
        let range = match (d.first, d.last) {
            (Some(a), Some(b)) => format!("{} .. {}", fmt_short(a), fmt_short(b)),
            _ => NONE.to_string(),
        };
        let skipped = if d.skipped_rows > 0 {
            format!(", {} bad rows skipped", d.skipped_rows)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  data  {} ({} {}, {} bars, {range}{skipped})",
            d.path, d.symbol, d.timeframe, d.bars
        );
    }
    let _ = writeln!(
        out,
        "  fill {}, fees {} bps, slippage {} bps, seed {}, {} periods/year",
        p.fill, p.fees_bps, p.slippage_bps, p.seed, p.periods_per_year
    );
    out.push('\n');

    let chunks: Vec<&[super::BotReport]> = if report.bots.is_empty() {
        vec![&[]]
    } else {
        report.bots.chunks(BOTS_PER_TABLE).collect()
    };
    for (i, chunk) in chunks.iter().enumerate() {
        let mut headers = vec!["metric".to_string()];
        let mut ms = Vec::new();
        if i == 0 {
            headers.push("fleet".to_string());
            ms.push(&report.fleet);
        }
        for b in chunk.iter() {
            headers.push(b.bot.to_string());
            ms.push(&b.metrics);
        }
        let rows: Vec<Vec<String>> = metric_rows(&ms)
            .into_iter()
            .map(|(label, cells)| std::iter::once(label.to_string()).chain(cells).collect())
            .collect();
        out.push_str(&table(&headers, &rows));
        out.push('\n');
    }

    if let Some(folds) = &report.walk_forward {
        let _ = writeln!(out, "Walk-forward ({} folds, fleet)", folds.len());
        let headers = [
            "fold", "from", "to", "return", "Sharpe", "max DD", "trades", "win rate",
        ]
        .map(String::from);
        let rows: Vec<Vec<String>> = folds
            .iter()
            .map(|f| {
                vec![
                    f.index.to_string(),
                    fmt_short(f.span.from),
                    fmt_short(f.span.to),
                    pct(f.fleet.total_return),
                    ratio(f.fleet.sharpe),
                    pct(f.fleet.max_drawdown),
                    f.fleet.trades.to_string(),
                    pct(f.fleet.win_rate),
                ]
            })
            .collect();
        out.push_str(&table(&headers, &rows));
        out.push('\n');
    }

    if let Some(mc) = &report.monte_carlo {
        let _ = writeln!(out, "Monte Carlo ({} runs, seed {})", mc.runs, mc.seed);
        let headers = [
            "who", "measure", "p5", "p25", "p50", "p75", "p95", "P(loss)",
        ]
        .map(String::from);
        let mut rows = Vec::new();
        let entries = std::iter::once(("fleet".to_string(), mc.fleet.as_ref())).chain(
            mc.bots
                .iter()
                .map(|b| (b.bot.to_string(), b.result.as_ref())),
        );
        for (who, r) in entries {
            let Some(r) = r else {
                rows.push(vec![who, "no trades".to_string()]);
                continue;
            };
            for (name, ps, loss) in [
                ("final return", &r.final_return, pct(Some(r.prob_loss))),
                ("max drawdown", &r.max_drawdown, String::new()),
            ] {
                let mut row = vec![who.clone(), name.to_string()];
                row.extend(ps.values().iter().map(|v| pct(Some(*v))));
                row.push(loss);
                rows.push(row);
            }
        }
        out.push_str(&table(&headers, &rows));
        out.push('\n');
    }

    let _ = writeln!(out, "Trades: {}", report.trades.len());
    let counts: Vec<String> = report
        .refusal_counts
        .iter()
        .map(|(code, n)| format!("{code} {n}"))
        .collect();
    if counts.is_empty() {
        let _ = writeln!(out, "Risk refusals: 0");
    } else {
        let _ = writeln!(
            out,
            "Risk refusals: {} ({})",
            report.refusals.len(),
            counts.join(", ")
        );
    }
    out
}
