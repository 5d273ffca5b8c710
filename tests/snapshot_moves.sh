#!/usr/bin/env bash
# Proof for the move of the snapshots into the four test binaries (issue #10): every snapshot that
# existed at BASE (default 845c3ed, the last commit with tests/snapshots/) exists at its new name
# with a byte-identical body (everything after the header's closing `---`; the header's `source:`
# may change). Usage: bash tests/snapshot_moves.sh [BASE]
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-845c3ed}
# The bytes after the second `---` line (the header's end), exactly (trailing newline included).
body() { tail -n +"$(($(grep -n -m2 '^---$' "$1" | tail -1 | cut -d: -f1) + 1))" "$1"; }
new_name() { # old file name -> new path, by the module each old test binary became
  local f=$1 pre=${1%%__*} rest=${1#*__}
  case $pre in
  check_cli) echo "tests/cli/snapshots/cli__check__$rest" ;;
  cli_technique)
    case $rest in
    t1059_001_sigmahq_summary.snap | t1595_v17_json.snap | t1059_001_v17_text.snap)
      echo "tests/corpus/snapshots/corpus__technique__$rest" ;;
    *) echo "tests/cli/snapshots/cli__technique__$rest" ;;
    esac ;;
  evidence_cli) echo "tests/cli/snapshots/cli__evidence__$rest" ;;
  hostile) echo "tests/cli/snapshots/cli__hostile__$rest" ;;
  versions_cli) echo "tests/cli/snapshots/cli__versions__$rest" ;;
  check_codes | check_sarif | coverage_model) echo "tests/library/snapshots/library__${pre}__$rest" ;;
  check_sigmahq | versions_real) echo "tests/corpus/snapshots/corpus__${pre}__$rest" ;;
  *) echo "unmapped: $f" >&2; return 1 ;;
  esac
}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
n=0 bad=0
while read -r old; do
  f=$(basename "$old")
  new=$(new_name "$f")
  if [ ! -f "$new" ]; then echo "missing: $old -> $new"; bad=$((bad + 1)); continue; fi
  git show "$base:$old" >"$tmp"
  if ! cmp -s <(body "$tmp") <(body "$new"); then
    echo "body differs: $old -> $new"; bad=$((bad + 1))
  fi
  n=$((n + 1))
done < <(git ls-tree -r --name-only "$base" tests/snapshots/ | grep '\.snap$')
echo "$n snapshots compared, $bad problems"
[ "$n" -eq 143 ] && [ "$bad" -eq 0 ]
