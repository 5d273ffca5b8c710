#!/usr/bin/env bash
# Loads the coverage HTML page in headless Chromium: matrix cell count, no script from rule content
# runs, screenshot saved as target/coverage-html.png. Skips with a notice when chromium is absent
# (install: apt-get install -y chromium).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo test --test browser -- --nocapture
