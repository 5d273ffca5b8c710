#!/usr/bin/env bash
# Loads the coverage HTML page in headless Chromium: matrix cell count, no script from rule content
# runs, every tactic column in view at 1400 and 1920 px, screenshots saved as
# target/coverage-html-1400.png and -1920.png. Skips with a notice when chromium is absent
# (install: apt-get install -y chromium).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo test --test browser -- --nocapture
