#!/usr/bin/env bash
# Accuracy of `attacktrace suggest`'s model on SigmaHQ: 5-fold and a split by rule date (train on
# rules dated before the cut-off, test on the rest). The figures in README "Suggest" come from here.
# Usage: bench/suggest_eval.sh [--cutoff YYYY-MM-DD] [--c C] [PATH]...  (default ../shared/sigmahq/rules)
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --quiet --example suggest_eval -- "$@"
