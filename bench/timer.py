"""Median wall time of whole commands, run back to back; prints a table with targets and ratios.

Machines here are noisy (30% swings seen): compare only figures from the same run.
"""
import os
import shutil
import statistics
import subprocess
import sys
import time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
BIN = "target/release/attacktrace"
SHARED = "../shared"
RULES = f"{SHARED}/sigmahq/rules"
E18 = f"{SHARED}/attack/enterprise-attack-18.1.json"


def median_ms(cmd, runs=RUNS):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append((time.perf_counter() - t0) * 1000)
        if p.returncode not in (0, 1):
            return None
    return statistics.median(times)


rows = []


def bench(name, cmd, target_ms=None, runs=RUNS):
    ms = median_ms(cmd, runs)
    rows.append((name, ms, target_ms))
    return ms


bench("technique T1595 (embedded catalog)", [BIN, "technique", "T1595"], 50)
have_shared = os.path.isdir(RULES)
if have_shared:
    bench("attack info --attack enterprise v18.1 bundle", [BIN, "--attack", E18, "attack", "info"], 400)
    ours = bench("rules: load + link 3,132 SigmaHQ rules", [BIN, "rules", RULES, "--format", "json"], 150)
    bench("technique T1059.001 --rules SigmaHQ", [BIN, "technique", "T1059.001", "--rules", RULES], 150)
    if shutil.which("rsigma"):
        r = bench("peer: rsigma rule lint", ["rsigma", "rule", "lint", RULES], None, 5)
        if r and ours:
            rows.append(("  ratio rsigma lint / attacktrace rules", r / ours, "ratio"))
    if shutil.which("sigma"):
        s = bench("peer: sigma check (pySigma)", ["sigma", "check", RULES], None, 1)
        if s and ours:
            rows.append(("  ratio sigma check / attacktrace rules", s / ours, "ratio"))
    # coverage (issue #3): all six formats written in one run, as CI would.
    import tempfile
    cov_dir = tempfile.mkdtemp(prefix="at-bench-cov-")
    cov_out = []
    for fmt, name in [("text", "c.txt"), ("markdown", "c.md"), ("json", "c.json"), ("csv", "c.csv"),
                      ("navigator", "layer.json"), ("html", "c.html")]:
        cov_out += ["--output", f"{fmt}:{cov_dir}/{name}"]
    cov = bench("coverage SigmaHQ, all formats (embedded)", [BIN, "coverage", RULES] + cov_out, 150)
    bench("coverage SigmaHQ, all formats (v18.1 bundle)", [BIN, "--attack", E18, "coverage", RULES] + cov_out, 300)
    if shutil.which("rsigma"):
        r = bench("peer: rsigma rule coverage", ["rsigma", "rule", "coverage", "-r", RULES, "--navigator", f"{cov_dir}/rsigma-layer.json"], None, 5)
        if r and cov:
            rows.append(("  ratio rsigma coverage / attacktrace", r / cov, "ratio"))
    if shutil.which("sigma"):
        s = bench("peer: sigma analyze attack (pySigma)",
                  ["sigma", "analyze", "attack", "count", f"{cov_dir}/sigma-layer.json", RULES], None, 1)
        if s and cov:
            rows.append(("  ratio sigma analyze / attacktrace", s / cov, "ratio"))
    shutil.rmtree(cov_dir, ignore_errors=True)
    # check (issue #4): all validators, the CI gate's formats. Exit 1 (findings) counts as a run.
    chk = bench("check SigmaHQ, all validators (json)", [BIN, "check", RULES, "--format", "json"], 300)
    bench("check SigmaHQ, all validators (sarif)", [BIN, "check", RULES, "--format", "sarif"], 300)
    bench("check SigmaHQ, all validators (text)", [BIN, "check", RULES], 300)
    if shutil.which("rsigma"):
        r = bench("peer: rsigma rule lint (default)", ["rsigma", "rule", "lint", RULES], None, 5)
        if r and chk:
            rows.append(("  ratio rsigma lint / attacktrace check", r / chk, "ratio"))
    if shutil.which("sigma"):
        s = bench("peer: sigma check (pySigma, all validators)", ["sigma", "check", RULES], None, 1)
        if s and chk:
            rows.append(("  ratio sigma check / attacktrace check", s / chk, "ratio"))
else:
    print(f"note: {SHARED} not found; corpus rows skipped")

print(f"{'benchmark':<48} {'median':>10} {'target':>10}  verdict   (runs={RUNS}, cores={os.cpu_count()})")
for name, ms, target in rows:
    if target == "ratio":
        print(f"{name:<48} {ms:>9.1f}x")
        continue
    if ms is None:
        print(f"{name:<48} {'failed':>10}")
        continue
    verdict = "" if target is None else ("ok" if ms <= target else "OVER")
    tgt = "" if target is None else f"{target} ms"
    print(f"{name:<48} {ms:>7.1f} ms {tgt:>10}  {verdict}")
