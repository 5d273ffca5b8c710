#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60) from its seed corpus (fuzz/seeds/<target>).
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
# cargo-fuzz needs `-Z` flags; this machine has only a stable toolchain, so RUSTC_BOOTSTRAP=1 lets
# the stable compiler accept them. Crashes land in fuzz/artifacts/<target>/ and fail the run.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(rule_loader tag_parser stix_loader condition event_normaliser event_reader evtx_reader config)
export RUSTC_BOOTSTRAP=1
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
  echo "== fuzz $t for ${secs}s"
  if ! cargo fuzz run "$t" "corpus/$t" --sanitizer none -- \
      -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 2>"corpus/$t.log"; then
    status=1
    tail -30 "corpus/$t.log"
  fi
  grep -E "^Done [0-9]+ runs" "corpus/$t.log" | tail -1 || true
done
exit $status
