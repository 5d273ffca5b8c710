#!/usr/bin/env bash
# Peak resident memory (GNU time's %M) of `attacktrace check` on SigmaHQ, with rsigma's `rule lint`
# beside it when rsigma is installed (../shared/peers/README.md: `cargo install rsigma --version
# 0.23.0 --locked`). Target from issue #13: at most 64 MiB. Prints the worst of RUNS runs.
# Usage: bench/check_memory.sh [RUNS] [RULES]   (defaults: 3, ../shared/sigmahq/rules)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
rules=${2:-../shared/sigmahq/rules}
limit_kib=$((64 * 1024))
if [ ! -x /usr/bin/time ]; then
    echo "check_memory: /usr/bin/time (GNU time) is needed for the peak figure" >&2
    exit 2
fi
if [ ! -d "$rules" ]; then
    echo "check_memory: no rule corpus at $rules" >&2
    exit 2
fi
cargo build --release --quiet

# Worst peak (KiB) over the runs of a command; its output and exit status are ignored.
peak_kib() {
    local worst=0 kib out
    out=$(mktemp)
    for _ in $(seq "$runs"); do
        /usr/bin/time -o "$out" -f '%M' "$@" >/dev/null 2>&1 || true
        kib=$(tail -n1 "$out")
        if [ "$kib" -gt "$worst" ]; then worst=$kib; fi
    done
    rm -f "$out"
    echo "$worst"
}

ours=$(peak_kib ./target/release/attacktrace check "$rules")
printf '%-34s %8d KiB  (%d MiB; target %d MiB)\n' "attacktrace check" "$ours" $((ours / 1024)) $((limit_kib / 1024))
for cmd in "attack info" "coverage $rules" "rules $rules"; do
    # shellcheck disable=SC2086 # the command's words are meant to split
    kib=$(peak_kib ./target/release/attacktrace $cmd)
    printf '%-34s %8d KiB\n' "  attacktrace ${cmd% "$rules"}" "$kib"
done
if command -v rsigma >/dev/null; then
    theirs=$(peak_kib rsigma rule lint "$rules")
    printf '%-34s %8d KiB  (%d MiB)\n' "peer: rsigma rule lint" "$theirs" $((theirs / 1024))
else
    echo "peer: rsigma not installed; skipped (see ../shared/peers/README.md)"
fi
if [ "$ours" -gt "$limit_kib" ]; then
    echo "check_memory: attacktrace check peaks above the target" >&2
    exit 1
fi
