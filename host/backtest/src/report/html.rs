//! The HTML report: one self-contained page (inline CSS, inline SVG charts drawn here, no
//! script, font or anything else fetched), safe to mail or archive.

use super::format::{NONE, metric_rows, money_exact, pct, ratio};
use super::{BacktestReport, CurvePoint};
use crate::input::TradeRecord;
use crate::time::{fmt_short, fmt_time};
use rust_decimal::prelude::ToPrimitive;
use std::fmt::Write;

/// Rows a trade or refusal table shows at most; the JSON has them all.
pub const MAX_TABLE_ROWS: usize = 5_000;

const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;\
margin:2em auto;padding:0 1em;color:#222}h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;\
border-bottom:1px solid #ddd}table{border-collapse:collapse;font-size:.85em;margin:.5em 0}\
th,td{padding:.25em .6em;border-bottom:1px solid #eee;text-align:left;white-space:nowrap}\
th{background:#f4f4f4}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
.scroll{max-height:480px;overflow:auto}.wide{overflow-x:auto}.note{color:#666;font-size:.85em}\
svg{background:#fcfcfc;border:1px solid #eee}svg text{font-size:11px;fill:#555}";

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table; columns from `numeric_from` on are right-aligned.
fn table(headers: &[&str], rows: &[Vec<String>], numeric_from: usize) -> String {
    let class = |i: usize| {
        if i >= numeric_from {
            " class=\"n\""
        } else {
            ""
        }
    };
    let mut s = String::from("<table><thead><tr>");
    for (i, h) in headers.iter().enumerate() {
        let _ = write!(s, "<th{}>{}</th>", class(i), esc(h));
    }
    s.push_str("</tr></thead><tbody>\n");
    for row in rows {
        s.push_str("<tr>");
        for (i, c) in row.iter().enumerate() {
            let _ = write!(s, "<td{}>{}</td>", class(i), esc(c));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table>\n");
    s
}

/// One line of a chart.
struct Series {
    name: String,
    color: &'static str,
    points: Vec<(i64, f64)>,
}

const W: f64 = 1000.0;
const H: f64 = 260.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 28.0;

/// An SVG line chart of `series` on shared axes, y labels by `label`; with `area`, the
/// first series is filled down to zero (for drawdowns).
fn chart(series: &[Series], label: fn(f64) -> String, area: bool) -> String {
    let all = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (i64::MAX, i64::MIN, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in all {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        return "<p class=\"note\">No data.</p>\n".to_string();
    }
    if area {
        y1 = y1.max(0.0);
    }
    let pad = if y1 > y0 {
        (y1 - y0) * 0.05
    } else {
        y0.abs().max(1.0) * 0.01
    };
    if !area {
        y1 += pad;
    }
    y0 -= pad;
    let px = |x: i64| {
        let span = (x1 - x0).max(1) as f64;
        LEFT + (x - x0) as f64 / span * (W - LEFT - RIGHT)
    };
    let py = |y: f64| TOP + (y1 - y) / (y1 - y0) * (H - TOP - BOTTOM);
    let mut s = format!(
        "<svg viewBox=\"0 0 {W} {H}\" width=\"100%\" role=\"img\" preserveAspectRatio=\"none\">\n"
    );
    for i in 0..=4 {
        let v = y0 + (y1 - y0) * f64::from(i) / 4.0;
        let y = py(v);
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e4e4e4\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            esc(&label(v))
        );
    }
    for (x, anchor) in [(x0, "start"), ((x0 + x1) / 2, "middle"), (x1, "end")] {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
            px(x),
            H - 8.0,
            esc(&fmt_short(flotilla_domain::Timestamp(x)))
        );
    }
    for (i, ser) in series.iter().enumerate() {
        let pts: Vec<String> = ser
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        if area && i == 0 && !pts.is_empty() {
            let (first, last) = (ser.points[0].0, ser.points[ser.points.len() - 1].0);
            let _ = writeln!(
                s,
                "<polygon fill=\"{}\" fill-opacity=\"0.25\" stroke=\"none\" points=\"{:.1},{:.1} {} {:.1},{:.1}\"/>",
                ser.color,
                px(first),
                py(0.0),
                pts.join(" "),
                px(last),
                py(0.0)
            );
        }
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>",
            ser.color,
            pts.join(" ")
        );
        if series.len() > 1 {
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"14\" style=\"fill:{}\">{}</text>",
                LEFT + 8.0 + 110.0 * i as f64,
                ser.color,
                esc(&ser.name)
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

fn equity_of(points: &[CurvePoint]) -> Vec<(i64, f64)> {
    points
        .iter()
        .map(|p| (p.time.0, p.equity.to_f64().unwrap_or(f64::NAN)))
        .collect()
}

/// Cumulative return from the first point, for comparing curves of different sizes.
fn rebased(points: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let Some(&(_, base)) = points.first().filter(|p| p.1 > 0.0) else {
        return Vec::new();
    };
    points.iter().map(|&(t, e)| (t, e / base - 1.0)).collect()
}

fn money_label(v: f64) -> String {
    format!("{v:.0}")
}

fn pct_label(v: f64) -> String {
    pct(Some(v))
}

/// The report as one self-contained HTML page.
pub fn to_html(report: &BacktestReport) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Flotilla backtest report</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
         <h1>Flotilla backtest report</h1>\n"
    );

    let p = &report.params;
    let opt = |t: Option<flotilla_domain::Timestamp>| t.map_or_else(|| NONE.to_string(), fmt_time);
    let params: Vec<Vec<String>> = [
        (
            "registry",
            p.config.clone().unwrap_or_else(|| NONE.to_string()),
        ),
        ("from", opt(p.from)),
        ("to (exclusive)", opt(p.to)),
        ("fill", p.fill.to_string()),
        ("fees", format!("{} bps", p.fees_bps)),
        ("slippage", format!("{} bps", p.slippage_bps)),
        ("seed", p.seed.to_string()),
        ("periods per year", p.periods_per_year.to_string()),
        (
            "return period",
            p.return_period
                .map_or_else(|| "every point".to_string(), |t| t.to_string()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| vec![k.to_string(), v])
    .collect();
    s.push_str("<h2>Run</h2>\n");
    s.push_str(&table(&["parameter", "value"], &params, 2));
    let data: Vec<Vec<String>> = p
        .data
        .iter()
        .map(|d| {
            vec![
                d.path.clone(),
                d.symbol.to_string(),
                d.timeframe.to_string(),
                d.first.map_or_else(|| NONE.to_string(), fmt_short),
                d.last.map_or_else(|| NONE.to_string(), fmt_short),
                d.bars.to_string(),
                d.skipped_rows.to_string(),
            ]
        })
        .collect();
    if !data.is_empty() {
        s.push_str(&table(
            &[
                "file",
                "symbol",
                "timeframe",
                "first bar",
                "last bar",
                "bars",
                "skipped rows",
            ],
            &data,
            5,
        ));
    }

    s.push_str("<h2>Metrics</h2>\n");
    let mut headers = vec!["metric", "fleet"];
    headers.extend(report.bots.iter().map(|b| b.bot.as_str()));
    let mut ms = vec![&report.fleet];
    ms.extend(report.bots.iter().map(|b| &b.metrics));
    let rows: Vec<Vec<String>> = metric_rows(&ms)
        .into_iter()
        .map(|(label, cells)| std::iter::once(label.to_string()).chain(cells).collect())
        .collect();
    s.push_str("<div class=\"wide\">");
    s.push_str(&table(&headers, &rows, 1));
    s.push_str("</div>\n");

    let fleet = equity_of(&report.equity);
    s.push_str("<h2>Equity</h2>\n");
    let line = |name: &str, color, points| Series {
        name: name.to_string(),
        color,
        points,
    };
    s.push_str(&chart(
        &[line("fleet", "#1f77b4", fleet.clone())],
        money_label,
        false,
    ));
    s.push_str("<h2>Drawdown</h2>\n");
    let dd: Vec<(i64, f64)> = report
        .equity
        .iter()
        .map(|p| (p.time.0, -p.drawdown))
        .collect();
    s.push_str(&chart(&[line("fleet", "#d62728", dd)], pct_label, true));
    if !report.bot_equity.is_empty() {
        s.push_str("<h2>Return by bot</h2>\n");
        let mut series = vec![line("fleet", "#222222", rebased(&fleet))];
        for (i, b) in report.bot_equity.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            series.push(line(b.bot.as_str(), color, rebased(&equity_of(&b.points))));
        }
        s.push_str(&chart(&series, pct_label, false));
    }

    if let Some(folds) = &report.walk_forward {
        let _ = writeln!(s, "<h2>Walk-forward ({} folds)</h2>", folds.len());
        let mut rows = Vec::new();
        for f in folds {
            let who = std::iter::once(("fleet", &f.fleet))
                .chain(f.bots.iter().map(|b| (b.bot.as_str(), &b.metrics)));
            for (name, m) in who {
                rows.push(vec![
                    f.index.to_string(),
                    fmt_short(f.span.from),
                    fmt_short(f.span.to),
                    name.to_string(),
                    pct(m.total_return),
                    ratio(m.sharpe),
                    ratio(m.sortino),
                    pct(m.max_drawdown),
                    m.trades.to_string(),
                    pct(m.win_rate),
                    money_exact(m.trade_pnl),
                ]);
            }
        }
        let h = [
            "fold",
            "from",
            "to",
            "who",
            "return",
            "Sharpe",
            "Sortino",
            "max DD",
            "trades",
            "win rate",
            "trade PnL",
        ];
        s.push_str(&table(&h, &rows, 4));
    }

    if let Some(mc) = &report.monte_carlo {
        let _ = writeln!(
            s,
            "<h2>Monte Carlo ({} runs, seed {})</h2>",
            mc.runs, mc.seed
        );
        let mut rows = Vec::new();
        let who = std::iter::once(("fleet", mc.fleet.as_ref()))
            .chain(mc.bots.iter().map(|b| (b.bot.as_str(), b.result.as_ref())));
        for (name, r) in who {
            let Some(r) = r else {
                rows.push(vec![name.to_string(), "no trades".to_string()]);
                continue;
            };
            for (measure, ps) in [
                ("final return", &r.final_return),
                ("max drawdown", &r.max_drawdown),
            ] {
                let mut row = vec![name.to_string(), measure.to_string()];
                row.extend(ps.values().iter().map(|v| pct(Some(*v))));
                rows.push(row);
            }
            rows.push(vec![
                name.to_string(),
                "P(loss)".to_string(),
                pct(Some(r.prob_loss)),
            ]);
        }
        s.push_str(&table(
            &["who", "measure", "p5", "p25", "p50", "p75", "p95"],
            &rows,
            2,
        ));
    }

    let _ = writeln!(s, "<h2 id=\"trades\">Trades ({})</h2>", report.trades.len());
    let rows: Vec<Vec<String>> = report
        .trades
        .iter()
        .take(MAX_TABLE_ROWS)
        .map(|t| {
            vec![
                t.bot.to_string(),
                t.symbol.to_string(),
                t.side.as_str().to_string(),
                exit_reasons(t),
                fmt_short(t.entry_time),
                fmt_short(t.exit_time),
                t.entry_price.to_string(),
                t.exit_price.to_string(),
                t.quantity.to_string(),
                money_exact(t.pnl),
                money_exact(t.fees),
            ]
        })
        .collect();
    s.push_str(&truncation_note(report.trades.len()));
    s.push_str("<div class=\"scroll\">");
    let h = [
        "bot",
        "symbol",
        "side",
        "exit reason",
        "entry",
        "exit",
        "entry price",
        "exit price",
        "quantity",
        "PnL",
        "fees",
    ];
    s.push_str(&table(&h, &rows, 6));
    s.push_str("</div>\n");

    let _ = writeln!(s, "<h2>Risk refusals ({})</h2>", report.refusals.len());
    let counts: Vec<Vec<String>> = report
        .refusal_counts
        .iter()
        .map(|(code, n)| vec![code.clone(), n.to_string()])
        .collect();
    if !counts.is_empty() {
        s.push_str(&table(&["reason", "count"], &counts, 1));
    }
    let rows: Vec<Vec<String>> = report
        .refusals
        .iter()
        .take(MAX_TABLE_ROWS)
        .map(|r| {
            vec![
                fmt_short(r.time),
                r.bot.to_string(),
                r.symbol.to_string(),
                r.reason.clone(),
                r.detail.to_string(),
            ]
        })
        .collect();
    s.push_str(&truncation_note(report.refusals.len()));
    s.push_str("<div class=\"scroll\">");
    s.push_str(&table(
        &["time", "bot", "symbol", "reason", "detail"],
        &rows,
        5,
    ));
    s.push_str("</div>\n</body>\n</html>\n");
    s
}

fn truncation_note(total: usize) -> String {
    if total > MAX_TABLE_ROWS {
        format!(
            "<p class=\"note\">The first {MAX_TABLE_ROWS} of {total} are shown; the JSON report has them all.</p>\n"
        )
    } else {
        String::new()
    }
}

/// A trade's exit reason; for a trade closed in several legs, each leg's reason and size
/// in order (`scale_out ×5, stop_loss ×10`).
fn exit_reasons(t: &TradeRecord) -> String {
    if t.exits.len() <= 1 {
        return t.exit_reason.clone();
    }
    let legs: Vec<String> = t
        .exits
        .iter()
        .map(|l| format!("{} ×{}", l.reason, l.quantity))
        .collect();
    legs.join(", ")
}
