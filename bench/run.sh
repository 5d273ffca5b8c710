#!/usr/bin/env bash
# Whole-process benchmarks of the release binary, with the targets from the issues, and the
# reference tools beside it when they are installed (sigma-cli: `pip install sigma-cli`;
# rsigma: `cargo install rsigma --version 0.23.0 --locked`). Prints medians and ratios.
# Usage: bench/run.sh [RUNS]   (default 15). Needs ../shared for the corpus rows.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
cargo build --release --quiet
exec python3 bench/timer.py "$runs"
