//! The OpenAPI 3 document served at `/api/v1/openapi.json`, written by hand from one
//! table of operations (a test checks it names every routed path).

use serde_json::{Map, Value, json};

/// A parameter: name, where (`query` or `path`), JSON type, description.
type Param = (&'static str, &'static str, &'static str, &'static str);

/// One operation: method, path, summary, parameters, whether it takes a reason body.
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    params: &'static [Param],
    reason_body: bool,
}

const LIMIT: Param = (
    "limit",
    "query",
    "integer",
    "Rows per page (default 100, at most 1000).",
);
const OFFSET: Param = ("offset", "query", "integer", "Rows to skip (default 0).");
const CURSOR: Param = (
    "cursor",
    "query",
    "integer",
    "The `next` of the previous page: rows older than it.",
);
const BOT: Param = ("bot", "query", "string", "Only this bot's.");
const FROM: Param = ("from", "query", "integer", "From this time (Unix ms).");
const TO: Param = ("to", "query", "integer", "Until this time (Unix ms).");
const POINTS: Param = (
    "points",
    "query",
    "integer",
    "At most this many points (default 500, at most 2000).",
);
const BOT_ID: Param = ("id", "path", "string", "The bot's id.");
const ORDER_ID: Param = ("id", "path", "integer", "The host's order id.");

const OPS: &[Op] = &[
    Op {
        method: "get",
        path: "/healthz",
        summary: "Liveness (no token, no data).",
        params: &[],
        reason_body: false,
    },
    Op {
        method: "get",
        path: "/metrics",
        summary: "Prometheus metrics (text exposition format).",
        params: &[],
        reason_body: false,
    },
    Op {
        method: "get",
        path: "/api/v1/openapi.json",
        summary: "This document.",
        params: &[],
        reason_body: false,
    },
    Op {
        method: "get",
        path: "/api/v1/fleet",
        summary: "The fleet at a glance: trading state and who set it, equity, cash, drawdown, bots by state, open positions, working orders.",
        params: &[],
        reason_body: false,
    },
    Op {
        method: "get",
        path: "/api/v1/bots",
        summary: "Bots: state, schedule, next run, last tick, lateness, errors, quarantine, version and hash, allocation, P&L, trades. Page: {items, total, offset, limit}.",
        params: &[
            ("q", "query", "string", "Only ids containing this."),
            LIMIT,
            OFFSET,
        ],
        reason_body: false,
    },
    Op {
        method: "get",
        path: "/api/v1/bots/{id}",
        summary: "One bot and its open positions.",
        params: &[BOT_ID],
        reason_body: false,
    },
    Op {
        method: "get",
        path: "/api/v1/positions",
        summary: "Open positions. Page: {items, total, offset, limit}.",
        params: &[BOT, LIMIT, OFFSET],
        reason_body: false,
    },
    Op {
        method: "get",
        path: "/api/v1/orders",
        summary: "Orders, newest first. Page: {items, next}.",
        params: &[
            (
                "status",
                "query",
                "string",
                "working (default), done or all.",
            ),
            BOT,
            CURSOR,
            LIMIT,
        ],
        reason_body: false,
    },
    Op {
        method: "get",
        path: "/api/v1/orders/{id}",
        summary: "One order with its state history and fills.",
        params: &[ORDER_ID],
        reason_body: false,
    },
    Op {
        method: "get",
        path: "/api/v1/fills",
        summary: "Fills, newest first. Page: {items, next}.",
        params: &[BOT, FROM, TO, CURSOR, LIMIT],
        reason_body: false,
    },
    Op {
        method: "get",
        path: "/api/v1/equity",
        summary: "The fleet's equity curve, or a bot's cumulative realised P&L, downsampled, with drawdown.",
        params: &[BOT, FROM, TO, POINTS],
        reason_body: false,
    },
    Op {
        method: "get",
        path: "/api/v1/allocations",
        summary: "Allocation history: every bot's line of up to `points` rebalances.",
        params: &[FROM, TO, POINTS],
        reason_body: false,
    },
    Op {
        method: "get",
        path: "/api/v1/verdicts",
        summary: "Risk verdicts with reasons, newest first. Page: {items, next}.",
        params: &[
            BOT,
            ("reason", "query", "string", "Only this reason code."),
            (
                "verdict",
                "query",
                "string",
                "approved, resized or refused.",
            ),
            FROM,
            TO,
            CURSOR,
            LIMIT,
        ],
        reason_body: false,
    },
    Op {
        method: "get",
        path: "/api/v1/verdicts/reasons",
        summary: "Refusals counted by reason, most frequent first.",
        params: &[BOT, FROM, TO],
        reason_body: false,
    },
    Op {
        method: "get",
        path: "/api/v1/events",
        summary: "The ledger's audit events, newest first. Page: {items, next}.",
        params: &[
            (
                "kind",
                "query",
                "string",
                "Only this kind (control, trading_state, reload, quarantine, ...).",
            ),
            BOT,
            CURSOR,
            LIMIT,
        ],
        reason_body: false,
    },
    Op {
        method: "get",
        path: "/api/v1/state",
        summary: "The trading state, who set it, since when, and its latest changes.",
        params: &[],
        reason_body: false,
    },
    Op {
        method: "get",
        path: "/api/v1/audit",
        summary: "The control audit: who did what, when, and what came of it. Page: {items, next}.",
        params: &[CURSOR, LIMIT],
        reason_body: false,
    },
    Op {
        method: "get",
        path: "/api/v1/stream",
        summary: "Server-Sent Events: fills, verdicts, order updates, state changes, reloads, quarantines, alerts (`id:` event number, `event:` kind, `data:` JSON). Send Last-Event-ID to resume; `event: reset` means events were missed.",
        params: &[(
            "Last-Event-ID",
            "header",
            "integer",
            "Resume after this event.",
        )],
        reason_body: false,
    },
    Op {
        method: "post",
        path: "/api/v1/fleet/halt",
        summary: "Halt the fleet: no bot orders, host-managed exits only.",
        params: &[],
        reason_body: true,
    },
    Op {
        method: "post",
        path: "/api/v1/fleet/reduce",
        summary: "Let the fleet only shrink positions.",
        params: &[],
        reason_body: true,
    },
    Op {
        method: "post",
        path: "/api/v1/fleet/resume",
        summary: "Back to normal trading.",
        params: &[],
        reason_body: true,
    },
    Op {
        method: "post",
        path: "/api/v1/bots/{id}/pause",
        summary: "Stop ticking a bot (its host-managed exits stay armed).",
        params: &[BOT_ID],
        reason_body: false,
    },
    Op {
        method: "post",
        path: "/api/v1/bots/{id}/resume",
        summary: "Tick a paused bot again.",
        params: &[BOT_ID],
        reason_body: false,
    },
    Op {
        method: "post",
        path: "/api/v1/bots/{id}/flatten",
        summary: "Close every position of a bot at market.",
        params: &[BOT_ID],
        reason_body: false,
    },
    Op {
        method: "post",
        path: "/api/v1/orders/{id}/cancel",
        summary: "Cancel a working order.",
        params: &[ORDER_ID],
        reason_body: false,
    },
    Op {
        method: "post",
        path: "/api/v1/reload",
        summary: "Reload the registry and every changed component.",
        params: &[],
        reason_body: false,
    },
];

fn responses(op: &Op) -> Value {
    let err = json!({ "description": "Error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let mut r = Map::new();
    r.insert("200".into(), json!({ "description": "OK" }));
    if op.path != "/healthz" {
        r.insert("401".into(), json!({ "description": "No token, or an unknown one", "content": err["content"].clone() }));
    }
    if op.method == "post" {
        r.insert("200".into(), json!({ "description": "The control acted", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ControlResult" } } } }));
        r.insert("404".into(), json!({ "description": "Unknown bot or order", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ControlResult" } } } }));
        r.insert("409".into(), json!({ "description": "Refused", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ControlResult" } } } }));
    } else if op.path.contains('{') {
        r.insert("404".into(), err.clone());
    }
    if !op.params.is_empty() || op.reason_body {
        r.insert("400".into(), err);
    }
    Value::Object(r)
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for op in OPS {
        let params: Vec<Value> = op
            .params
            .iter()
            .map(|(name, at, ty, desc)| {
                json!({ "name": name, "in": at, "required": *at == "path", "description": desc, "schema": { "type": ty } })
            })
            .collect();
        let mut o =
            json!({ "summary": op.summary, "parameters": params, "responses": responses(op) });
        if op.path == "/healthz" {
            o["security"] = json!([]);
        }
        if op.reason_body {
            o["requestBody"] = json!({ "required": false, "content": { "application/json": { "schema": { "type": "object", "additionalProperties": false, "properties": { "reason": { "type": "string", "description": "Why (audited)." } } } } } });
        }
        let entry = paths
            .entry(op.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[op.method] = o;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Flotilla fleet API",
            "version": "1",
            "description": "Watch and control a running Flotilla fleet. Amounts are decimal strings; times are Unix milliseconds. Every route but /healthz needs `Authorization: Bearer <token>` (tokens are named in the token file beside the ledger; a control is audited under the token's name)."
        },
        "security": [{ "bearer": [] }],
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": { "type": "object", "properties": { "error": { "type": "string" } }, "required": ["error"] },
                "ControlResult": { "type": "object", "properties": { "ok": { "type": "boolean" }, "control": { "type": "string" }, "result": { "type": "string" }, "error": { "type": "string" } }, "required": ["ok", "control"] }
            }
        },
        "paths": Value::Object(paths),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_routed_path_and_method_is_documented_and_nothing_else() {
        let doc = document();
        let routed = crate::route_paths();
        for (method, path) in &routed {
            assert!(
                doc["paths"][*path][*method].is_object(),
                "{method} {path} missing from the OpenAPI document"
            );
        }
        for op in OPS {
            assert!(
                routed.contains(&(op.method, op.path)),
                "{} {} documented but not routed",
                op.method,
                op.path
            );
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }
}
