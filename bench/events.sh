#!/bin/sh
# Event-evaluation throughput of `attacktrace test` with all SigmaHQ rules (../shared), with and
# without log-source routing, and with bench/correlation's correlations, on a synthetic stream from
# bench/gen_events.py; peak memory from /usr/bin/time; the CPU seconds give the per-core rate.
# Each row is the fastest of 3 runs. rsigma runs beside it when installed.
# Usage: bench/events.sh [N]  (default 100000)
set -eu
cd "$(dirname "$0")/.."
N="${1:-100000}"
RULES=../shared/sigmahq/rules
[ -d "$RULES" ] || { echo "skipping: ../shared not found" >&2; exit 0; }
cargo build --release --quiet
EVENTS="${TMPDIR:-/tmp}/attacktrace-bench-events-$N.jsonl"
[ -s "$EVENTS" ] || python3 bench/gen_events.py "$N" > "$EVENTS"
# Whole-process seconds of a command (median of 3), for the fixed start-up cost below.
secs() {
  for _ in 1 2 3; do
    s=$(date +%s.%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s.%N)
    echo "$s $e" | awk '{ print $2 - $1 }'
  done | sort -n | sed -n 2p
}
rate() { # label, command...: the fastest of 3 runs, its CPU seconds and peak memory
  label="$1"; shift
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %U %S %M" -o /tmp/attacktrace-bench-time "$@" > /dev/null 2>&1 || true
    tail -1 /tmp/attacktrace-bench-time
  done | sort -n | head -1 | awk -v n="$N" -v l="$label" '{
    printf "%-30s %6.2f s %8.0f events/s  cpu %5.2f s (%6.0f events/cpu-s) %5.0f MiB\n",
      l, $1, n / $1, $2 + $3, n / ($2 + $3), $4 / 1024 }'
}
echo "$N synthetic events, $(ls -R "$RULES" | grep -c '\.yml$') SigmaHQ rules, $(nproc) cores, $(date -u +%F)"
# Loading and indexing the rules is a fixed cost per run; the net rate below excludes it.
EMPTY="${TMPDIR:-/tmp}/attacktrace-bench-events-0.jsonl"
: > "$EMPTY"
LOAD=$(secs target/release/attacktrace test "$RULES" --no-own-tests --events "$EMPTY")
WITH=$(secs target/release/attacktrace test "$RULES" --no-own-tests --events "$EVENTS")
WITHOUT=$(secs target/release/attacktrace test "$RULES" --no-own-tests --events "$EVENTS" --no-routing)
awk -v n="$N" -v l="$LOAD" -v w="$WITH" -v o="$WITHOUT" 'BEGIN {
  printf "rule loading (no events)           %8.2f s\n", l
  printf "net events/s after loading: routing %.0f, no routing %.0f, ratio %.2fx (whole process %.2fx)\n",
    n / (w - l), n / (o - l), (o - l) / (w - l), o / w }'
rate "attacktrace (routing)" target/release/attacktrace test "$RULES" --no-own-tests --events "$EVENTS"
rate "attacktrace --no-routing" target/release/attacktrace test "$RULES" --no-own-tests --events "$EVENTS" --no-routing
# SigmaHQ's rules/ has no correlation rule: bench/correlation adds a base rule and two correlations
# (event_count and value_count over it) that fire on the synthetic stream.
rate "attacktrace + correlations" target/release/attacktrace test "$RULES" bench/correlation --no-own-tests --events "$EVENTS"
if command -v rsigma > /dev/null; then
  rate "rsigma engine eval" sh -c "rsigma engine eval -r '$RULES' < '$EVENTS'"
fi
