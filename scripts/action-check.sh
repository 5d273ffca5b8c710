#!/usr/bin/env bash
# The shell steps of the GitHub Action (action.yml), as one script so that a test runs them
# (tests/cli/integrate.rs). It never fails the step itself: it records the gate's exit code in
# $GITHUB_OUTPUT (`exit-code`, `sarif`) so that the SARIF upload runs before the gate step fails
# the job.
#
# Environment (the action's inputs):
#   ATTACKTRACE   the binary (default: attacktrace on PATH)
#   RULES         rule paths, whitespace-separated (default: rules)
#   SARIF         SARIF file to write (default: attacktrace.sarif)
#   FAIL_LEVEL    error | warning | info (default: the config's, else error)
#   MIN_COVERAGE  coverage gate, e.g. `execution=40,overall=25` (default: none)
#   BASELINE      coverage baseline JSON for the coverage-loss gate (default: none)
#   ARGS          more `check` arguments, whitespace-separated (default: none)
#   GITHUB_OUTPUT, GITHUB_STEP_SUMMARY   set by the runner; unset, they are skipped
set -u

bin="${ATTACKTRACE:-attacktrace}"
sarif="${SARIF:-attacktrace.sarif}"
read -r -a rules <<< "${RULES:-rules}"
read -r -a extra <<< "${ARGS:-}"

args=(check "${rules[@]}" --format sarif --output "$sarif")
[ -n "${FAIL_LEVEL:-}" ] && args+=(--fail-level "$FAIL_LEVEL")
[ -n "${MIN_COVERAGE:-}" ] && args+=(--min-coverage "$MIN_COVERAGE")
[ -n "${BASELINE:-}" ] && args+=(--coverage-baseline "$BASELINE")
args+=("${extra[@]}")

"$bin" "${args[@]}"
code=$?

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    {
        echo "## ATT&CK coverage"
        echo
        "$bin" coverage "${rules[@]}" --format markdown || echo "(coverage report failed)"
    } >> "$GITHUB_STEP_SUMMARY"
fi

if [ -n "${GITHUB_OUTPUT:-}" ]; then
    {
        echo "exit-code=$code"
        if [ -s "$sarif" ]; then echo "sarif=$sarif"; else echo "sarif="; fi
    } >> "$GITHUB_OUTPUT"
fi
echo "attacktrace check exited $code"
exit 0
