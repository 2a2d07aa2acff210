//! The optimization report's renderings: JSON, the terminal's ranked table with the best
//! set as a ready `[bot.params]` block, and a self-contained HTML page (a heatmap of the
//! objective for two params, each fold's out-of-sample equity).

use super::rank::{Figures, Row};
use super::{OptimizeReport, ParamValue, WalkForward};
use flotilla_backtest::time::fmt_time;
use std::fmt::Write;

/// The report as pretty-printed JSON (two-space indent, trailing newline).
pub fn to_json(report: &OptimizeReport) -> String {
    let mut s = serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| unreachable!("the report has only string keys: {e}"));
    s.push('\n');
    s
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.2}%", v * 100.0))
}

fn params_text(params: &[(String, ParamValue)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The best set as a `[bot.params]` block to paste into the registry.
pub fn best_params_block(report: &OptimizeReport) -> Option<String> {
    let best = report.best.as_ref()?;
    let row = report.rows.first()?;
    let mut s = format!(
        "# best {} of bot {}: {} ({} trades, return {})\n[bot.params]\n",
        report.objective,
        report.bot,
        num(row.objective, 4),
        row.figures.trades,
        pct(row.figures.total_return)
    );
    for (k, v) in best {
        let _ = writeln!(s, "{k} = {v}");
    }
    Some(s)
}

/// The ranked table (at most `top` rows; 0: all), the walk-forward folds and the best set.
pub fn to_terminal(report: &OptimizeReport, top: usize) -> String {
    let mut s = String::new();
    let runs = report.rows.len();
    let _ = writeln!(
        s,
        "optimize {} by {}: {runs} of {} combinations{}, min {} trades",
        report.bot,
        report.objective,
        report.grid_size,
        report.random.map_or(String::new(), |_| " (random)".into()),
        report.min_trades
    );
    let width = report
        .rows
        .iter()
        .map(|r| params_text(&r.params).len())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        s,
        "{:>4}  {:<width$}  {:>10} {:>7} {:>9} {:>8} {:>8} {:>8} {:>7}",
        "rank",
        "params",
        report.objective.as_str(),
        "trades",
        "return",
        "sharpe",
        "sortino",
        "max dd",
        "pf"
    );
    let shown = if top == 0 { runs } else { top.min(runs) };
    for r in &report.rows[..shown] {
        let _ = writeln!(s, "{}", row_line(r, width));
    }
    if shown < runs {
        let _ = writeln!(s, "  ... {} more (--top 0 or --json for all)", runs - shown);
    }
    let failed: Vec<&Row> = report.rows.iter().filter(|r| r.error.is_some()).collect();
    if let Some(first) = failed.first() {
        let _ = writeln!(
            s,
            "{} combination(s) did not run, e.g. {}: {}",
            failed.len(),
            params_text(&first.params),
            first.error.as_deref().unwrap_or_default()
        );
    }
    if let Some(wf) = &report.walk_forward {
        s.push('\n');
        s.push_str(&walk_table(wf, report.objective.as_str()));
    }
    s.push('\n');
    match best_params_block(report) {
        Some(b) => s.push_str(&b),
        None => s.push_str("no parameter set qualified (see --min-trades)\n"),
    }
    s
}

fn row_line(r: &Row, width: usize) -> String {
    let f = &r.figures;
    format!(
        "{:>4}  {:<width$}  {:>10} {:>7} {:>9} {:>8} {:>8} {:>8} {:>7}",
        r.rank.map_or("-".into(), |n| n.to_string()),
        params_text(&r.params),
        num(r.objective, 4),
        if r.error.is_some() {
            "error".into()
        } else {
            f.trades.to_string()
        },
        pct(f.total_return),
        num(f.sharpe, 3),
        num(f.sortino, 3),
        pct(f.max_drawdown),
        num(f.profit_factor, 2)
    )
}

fn walk_table(wf: &WalkForward, objective: &str) -> String {
    let mut s = format!(
        "walk-forward, {} folds{}: in sample | out of sample\n",
        wf.folds_requested,
        if wf.anchored { ", anchored" } else { "" }
    );
    let _ = writeln!(
        s,
        "{:>4}  {:<22} {:<22} {:<20} {:>9} {:>9} {:>9} {:>9} {:>6} {:>6}  holds",
        "fold",
        "in sample",
        "out of sample",
        "params",
        objective,
        "oos",
        "return",
        "oos ret",
        "trades",
        "oos"
    );
    let day = |t| fmt_time(t).chars().take(10).collect::<String>();
    for f in &wf.folds {
        let fig = |x: &Option<Figures>| x.clone().unwrap_or_default();
        let (is, oos) = (fig(&f.in_sample_figures), fig(&f.out_of_sample_figures));
        let _ = writeln!(
            s,
            "{:>4}  {:<22} {:<22} {:<20} {:>9} {:>9} {:>9} {:>9} {:>6} {:>6}  {}",
            f.index,
            format!("{}..{}", day(f.in_sample.from), day(f.in_sample.to)),
            format!("{}..{}", day(f.out_of_sample.from), day(f.out_of_sample.to)),
            params_text(&f.params),
            num(f.in_sample_objective, 3),
            num(f.out_of_sample_objective, 3),
            pct(is.total_return),
            pct(oos.total_return),
            is.trades,
            oos.trades,
            match (&f.note, f.holds) {
                (Some(n), _) => format!("no: {n}"),
                (None, true) => "yes".into(),
                (None, false) => "NO (does not hold out of sample)".into(),
            }
        );
    }
    let _ = writeln!(
        s,
        "{} of {} folds hold; out-of-sample return compounded {}, {} trades",
        wf.holding,
        wf.folds.len(),
        pct(wf.out_of_sample_return),
        wf.out_of_sample_trades
    );
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const CSS: &str = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;\
padding:0 1em;color:#222}table{border-collapse:collapse;font-size:.85em;margin:.5em 0}\
th,td{padding:.25em .6em;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}\
th{background:#f4f4f4}td.heat{border:1px solid #fff;min-width:3.5em}.bad{color:#b00}\
svg{background:#fcfcfc;border:1px solid #eee}svg text{font-size:11px;fill:#555}pre{background:#f6f6f6;padding:.6em}";

/// A self-contained HTML page: the ranking, a heatmap when there are two params, and the
/// walk-forward folds with their out-of-sample equity.
pub fn to_html(report: &OptimizeReport) -> String {
    let mut s = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>optimize {}</title>\
         <style>{CSS}</style></head><body><h1>Optimization of {} by {}</h1>\n",
        esc(&report.bot),
        esc(&report.bot),
        report.objective
    );
    if let Some(b) = best_params_block(report) {
        let _ = writeln!(s, "<h2>Best</h2><pre>{}</pre>", esc(&b));
    }
    if report.space.len() == 2 {
        s.push_str(&heatmap(report));
    }
    if let Some(wf) = &report.walk_forward {
        s.push_str("<h2>Walk-forward</h2><pre>");
        s.push_str(&esc(&walk_table(wf, report.objective.as_str())));
        s.push_str("</pre>\n");
        for f in &wf.folds {
            let _ = writeln!(
                s,
                "<h3>Fold {}: {} out of sample</h3>{}",
                f.index,
                esc(&params_text(&f.params)),
                equity_svg(&f.equity)
            );
        }
    }
    s.push_str(
        "<h2>Ranking</h2><table><tr><th>rank</th><th>params</th><th>objective</th>\
                <th>trades</th><th>return</th><th>sharpe</th><th>max dd</th></tr>\n",
    );
    for r in &report.rows {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.rank.map_or("-".into(), |n| n.to_string()),
            esc(&params_text(&r.params)),
            num(r.objective, 4),
            r.figures.trades,
            pct(r.figures.total_return),
            num(r.figures.sharpe, 3),
            pct(r.figures.max_drawdown)
        );
    }
    s.push_str("</table></body></html>\n");
    s
}

/// The objective over the first param (rows) and the second (columns), red to green.
fn heatmap(report: &OptimizeReport) -> String {
    let (a, b) = (&report.space[0], &report.space[1]);
    let cell = |x: &ParamValue, y: &ParamValue| {
        (report.rows.iter())
            .find(|r| r.params[0].1 == *x && r.params[1].1 == *y)
            .and_then(|r| r.objective)
    };
    let values: Vec<f64> = report.rows.iter().filter_map(|r| r.objective).collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut s = format!(
        "<h2>Heatmap of {} ({} down, {} across)</h2><table><tr><th></th>",
        report.objective,
        esc(&a.name),
        esc(&b.name)
    );
    for y in &b.values {
        let _ = write!(s, "<th>{}</th>", esc(&y.to_string()));
    }
    s.push_str("</tr>\n");
    for x in &a.values {
        let _ = write!(s, "<tr><th>{}</th>", esc(&x.to_string()));
        for y in &b.values {
            match cell(x, y) {
                Some(v) => {
                    let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
                    let hue = (t * 120.0).round();
                    let _ = write!(
                        s,
                        "<td class=\"heat\" style=\"background:hsl({hue},70%,75%)\" \
                         title=\"{}={x} {}={y}\">{v:.3}</td>",
                        esc(&a.name),
                        esc(&b.name)
                    );
                }
                None => s.push_str("<td class=\"heat\">-</td>"),
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
    s
}

/// A line chart of `(time, equity)` points.
fn equity_svg(points: &[(String, f64)]) -> String {
    let (w, h, pad) = (900.0, 180.0, 40.0);
    let ys: Vec<f64> = points
        .iter()
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .collect();
    if points.len() < 2 || ys.is_empty() {
        return "<p>no equity out of sample</p>".into();
    }
    let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let n = (points.len() - 1) as f64;
    let path: Vec<String> = (points.iter().enumerate())
        .filter(|(_, p)| p.1.is_finite())
        .map(|(i, p)| {
            let x = pad + (w - 2.0 * pad) * i as f64 / n;
            let y = h - pad / 2.0 - (h - pad) * (p.1 - lo) / span;
            format!("{x:.1},{y:.1}")
        })
        .collect();
    format!(
        "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\
         <polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"{}\"/>\
         <text x=\"4\" y=\"14\">{hi:.2}</text><text x=\"4\" y=\"{}\">{lo:.2}</text>\
         <text x=\"{pad}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text></svg>",
        path.join(" "),
        h - 4.0,
        h - 4.0,
        esc(&points[0].0),
        w - pad,
        h - 4.0,
        esc(&points[points.len() - 1].0)
    )
}
