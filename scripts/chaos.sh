#!/usr/bin/env bash
# Kills the host with SIGKILL at many random points of a busy run and checks, after each
# restart, that no fill was lost or booked twice and every position kept its stop
# (tests/integration/restart.rs). CI runs 6 kills; this runs more.
#   ./scripts/chaos.sh [KILLS] [SEED]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/build-bots.sh"
FLOTILLA_CHAOS_KILLS="${1:-40}" FLOTILLA_CHAOS_SEED="${2:-$RANDOM}" \
    cargo test --release -p flotilla --test integration -- --nocapture \
    restart::kill_9_at_random_points
