#!/bin/sh
# Event-evaluation throughput of `attacktrace test` with all SigmaHQ rules (../shared), with and
# without log-source routing, on a synthetic stream from bench/gen_events.py; peak memory from
# /usr/bin/time. rsigma runs beside it when installed. Usage: bench/events.sh [N]  (default 100000)
set -eu
cd "$(dirname "$0")/.."
N="${1:-100000}"
RULES=../shared/sigmahq/rules
[ -d "$RULES" ] || { echo "skipping: ../shared not found" >&2; exit 0; }
cargo build --release --quiet
EVENTS="${TMPDIR:-/tmp}/attacktrace-bench-events-$N.jsonl"
[ -s "$EVENTS" ] || python3 bench/gen_events.py "$N" > "$EVENTS"
rate() { # label, command...
  label="$1"; shift
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o /tmp/attacktrace-bench-mem "$@" > /dev/null 2>&1 || true
  end=$(date +%s.%N)
  awk -v n="$N" -v s="$start" -v e="$end" -v l="$label" -v m="$(cat /tmp/attacktrace-bench-mem)" \
    'BEGIN { printf "%-34s %8.2f s %10.0f events/s %6.0f MiB\n", l, e - s, n / (e - s), m / 1024 }'
}
echo "$N synthetic events, $(ls -R "$RULES" | grep -c '\.yml$') SigmaHQ rules, $(nproc) cores, $(date -u +%F)"
rate "attacktrace (routing)" target/release/attacktrace test "$RULES" --no-own-tests --events "$EVENTS"
rate "attacktrace --no-routing" target/release/attacktrace test "$RULES" --no-own-tests --events "$EVENTS" --no-routing
if command -v rsigma > /dev/null; then
  rate "rsigma engine eval" sh -c "rsigma engine eval -r '$RULES' < '$EVENTS'"
fi
