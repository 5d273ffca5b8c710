#!/usr/bin/env bash
# The cache key of the GitHub Action's build (action.yml): the runner's OS and a hash of what the
# binary is built from, read from the action's own checkout (`hashFiles` only sees the workspace,
# and the action lives outside it). Writes `key=...` to $GITHUB_OUTPUT, or stdout when unset.
#
#   $1  the action's directory (default: $GITHUB_ACTION_PATH, else .)
set -euo pipefail

dir="${1:-${GITHUB_ACTION_PATH:-.}}"
hash=$(
    cd "$dir"
    find Cargo.toml Cargo.lock src mappings rules -type f -print0 | LC_ALL=C sort -z \
        | xargs -0 sha256sum | sha256sum | cut -c1-16
)
line="key=attacktrace-${RUNNER_OS:-$(uname -s)}-$hash"
if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "$line" >> "$GITHUB_OUTPUT"; else echo "$line"; fi
