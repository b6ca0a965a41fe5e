"""simkit performance benchmark on the reference model (benchmarks/reference.toml).

Runs, each in a fresh process so start-up, imports and peak memory count:

* simkit with workers=1 and workers=2 (``benchmarks/simkit_child.py``),
* a plain numpy implementation of the same model (``benchmarks/peers/numpy_peer.py``),
* a monaco implementation (``benchmarks/peers/monaco_peer.py``), at one N only (100,000,
  once: about 2.5 minutes),

and prints wall time, draws per second and peak memory (medians over ``--repeats``), the
simkit / peer ratios, whether simkit's bands agree with the numpy peer's within Monte Carlo
error, and ``simkit --help`` start-up against ``python -c "import numpy"``.

    python benchmarks/run.py                          # N = 10k, 100k, 1M; 3 repeats
    python benchmarks/run.py --draws 10000 100000     # skip 1M
    python benchmarks/run.py --quick                  # N = 2k, 20k; 1 repeat; monaco at 2k
    python benchmarks/run.py --skip-monaco

See benchmarks/README.md for what each column means and how memory is measured.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIMKIT_CHILD = HERE / "simkit_child.py"
NUMPY_PEER = HERE / "peers" / "numpy_peer.py"
MONACO_PEER = HERE / "peers" / "monaco_peer.py"
PATHS_DRAWS = 20_000
AGREE_Z = 4.0  # bands agree when |difference| < 4 standard errors of the difference


# -- measuring one process ---------------------------------------------------------------------
def _tree(pid: int) -> list[int]:
    """pid and all its descendants (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return found


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class _TreeSampler(threading.Thread):
    """Samples the summed PSS of a process tree (Linux only).

    Every 20 ms at first, slowing by 10% a sample to every 250 ms, so that reading
    ``smaps_rollup`` of a large process does not take a noticeable share of a CPU.
    """

    def __init__(self, pid: int, interval: float = 0.02, max_interval: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.interval, self.max_interval = pid, interval, max_interval
        self.peak_kb = 0
        self.stop = threading.Event()
        self.available = os.path.exists(f"/proc/{pid}/smaps_rollup")

    def run(self):
        while self.available and not self.stop.is_set():
            total = sum(_pss_kb(p) for p in _tree(self.pid))
            self.peak_kb = max(self.peak_kb, total)
            self.stop.wait(self.interval)
            self.interval = min(self.max_interval, self.interval * 1.1)


def measure(cmd: list[str], sample_tree: bool = True) -> dict:
    """Run ``cmd`` to completion; wall time, kernel peak RSS, sampled tree PSS, its JSON line."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        sampler = _TreeSampler(proc.pid) if sample_tree else None
        if sampler:
            sampler.start()
        # wait4 returns the rusage of the child and of its own reaped children (pool workers):
        # ru_maxrss is the high-water mark of the largest single process in that tree.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if sampler:
            sampler.stop.set()
            sampler.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    result = {
        "wall_s": wall,
        "maxrss_mb": usage.ru_maxrss / 1024.0,  # Linux reports KiB
        "tree_pss_mb": (sampler.peak_kb / 1024.0) if sampler and sampler.available else math.nan,
        "returncode": proc.returncode,
    }
    if proc.returncode != 0:
        result["error"] = stderr.strip().splitlines()[-5:]
        return result
    lines = [ln for ln in stdout.strip().splitlines() if ln.startswith("{")]
    result["report"] = json.loads(lines[-1]) if lines else None
    return result


def median_of(runs: list[dict], key: str) -> float:
    values = [r[key] for r in runs if r.get("returncode") == 0 and not math.isnan(r.get(key, math.nan))]
    return statistics.median(values) if values else math.nan


def child_median(runs: list[dict], key: str) -> float:
    values = [r["report"][key] for r in runs if r.get("returncode") == 0 and r.get("report")]
    return statistics.median(values) if values else math.nan


# -- comparing bands ---------------------------------------------------------------------------
def compare(a: dict, b: dict) -> list[tuple[str, float, float, float, bool]]:
    """Per quantity in both: (name, p50 of a, p50 of b, largest |z| over p5/p50/p95, agree)."""
    rows = []
    for name in a:
        if name not in b:
            continue
        zs = []
        for q in ("p5", "p50", "p95"):
            se = math.hypot(a[name]["se"][q], b[name]["se"][q])
            diff = abs(a[name][q] - b[name][q])
            zs.append(0.0 if diff == 0 else (diff / se if se > 0 else math.inf))
        worst = max(zs)
        rows.append((name, a[name]["p50"], b[name]["p50"], worst, worst < AGREE_Z))
    return rows


def print_comparison(title: str, a: dict, b: dict, names=("simkit", "numpy")) -> bool:
    rows = compare(a, b)
    print(f"\n{title}")
    print(f"  {'quantity':<26} {'p50 ' + names[0]:>16} {'p50 ' + names[1]:>16} {'max |z| p5/50/95':>17}  verdict")
    for name, pa, pb, z, ok in rows:
        print(f"  {name:<26} {pa:>16,.0f} {pb:>16,.0f} {z:>17.2f}  {'agree' if ok else 'DISAGREE'}")
    return all(ok for *_, ok in rows)


def _git_head() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "simkit"], cwd=HERE.parent,
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + (" + uncommitted changes in simkit/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def _loadavg() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


# -- start-up --------------------------------------------------------------------------------
def simkit_executable(py: str) -> str | None:
    """The ``simkit`` script installed beside the Python ``py``, else the one on PATH."""
    return shutil.which("simkit", path=str(Path(py).parent)) or shutil.which("simkit")


def startup(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# -- main ----------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="simkit benchmark on the reference model")
    parser.add_argument("--draws", type=int, nargs="+", default=None,
                        help="numbers of draws (default 10000 100000 1000000; --quick: 2000 20000)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per cell, median reported (default 3)")
    parser.add_argument("--quick", action="store_true", help="N = 2000, 20000; 1 repeat; monaco at 2000")
    parser.add_argument("--skip-monaco", action="store_true")
    parser.add_argument("--monaco-draws", type=int, default=None,
                        help="default 100000, the smallest N at which simkit's fixed costs no longer "
                             "dominate its per-draw figure (--quick: 2000)")
    parser.add_argument("--monaco-repeats", type=int, default=1,
                        help="monaco runs (default 1: about 2.5 minutes each at 100,000 draws)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="simkit workers (default 1 2)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--startup-repeats", type=int, default=10)
    parser.add_argument("--no-tree-sampling", action="store_true",
                        help="do not sample the process tree's PSS (kernel peak RSS only)")
    parser.add_argument("--json", type=Path, help="also write every measurement to this JSON file")
    args = parser.parse_args(argv)

    draws = args.draws or ([2_000, 20_000] if args.quick else [10_000, 100_000, 1_000_000])
    repeats = args.repeats or (1 if args.quick else 3)
    monaco_n = args.monaco_draws or (2_000 if args.quick else 100_000)
    py = sys.executable
    sample = not args.no_tree_sampling

    monaco_ok = not args.skip_monaco
    if monaco_ok:
        probe = subprocess.run([py, "-c", "import monaco"], capture_output=True)
        if probe.returncode != 0:
            print("monaco is not installed (pip install monaco, or the 'bench' extra): skipping it")
            monaco_ok = False

    print(f"simkit benchmark: reference model {HERE / 'reference.toml'}")
    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs; "
          f"N = {', '.join(f'{n:,}' for n in draws)}; median of {repeats} run(s) per cell")

    load_before = _loadavg()
    configs = [(f"simkit w={w}", [py, str(SIMKIT_CHILD), "--workers", str(w)]) for w in args.workers]
    configs.append(("numpy peer", [py, str(NUMPY_PEER)]))
    runs: dict[tuple[str, int], list[dict]] = {}
    for n in draws:
        for _ in range(repeats):
            # Interleaved, so slow drift of the machine affects every implementation alike.
            for label, cmd in configs:
                r = measure([*cmd, "--draws", str(n), "--seed", str(args.seed)], sample)
                runs.setdefault((label, n), []).append(r)
                if r["returncode"] != 0:
                    print(f"  {label} N={n:,} FAILED: {' | '.join(r['error'])}")
        print(f"  done N={n:,}", flush=True)
    if monaco_ok:
        for _ in range(args.monaco_repeats):
            r = measure([py, str(MONACO_PEER), "--draws", str(monaco_n), "--seed", str(args.seed)], sample)
            runs.setdefault(("monaco", monaco_n), []).append(r)
            if r["returncode"] != 0:
                print(f"  monaco N={monaco_n:,} FAILED: {' | '.join(r['error'])}")
        print(f"  done monaco N={monaco_n:,}", flush=True)

    # Customers at month 60 are a month path: one extra simkit run keeping paths (untimed). Paths
    # take 8 variables x 3 segments x 60 months x 8 bytes = 11.5 kB a draw: at most 20,000 draws.
    paths_n = min(min(draws), PATHS_DRAWS)
    paths_run = measure([py, str(SIMKIT_CHILD), "--workers", "1", "--keep-paths", "--draws", str(paths_n),
                         "--seed", str(args.seed)], sample)

    # ---- which code was measured
    sources = sorted({r["report"]["simkit_source"] for (label, _), rs in runs.items() if label.startswith("simkit")
                      for r in rs if r.get("returncode") == 0 and r.get("report")})
    print(f"\nsimkit measured: git {_git_head()}, source fingerprint {', '.join(sources) or '?'}"
          + ("  WARNING: simkit's source changed during the benchmark" if len(sources) > 1 else ""))

    # ---- table
    print("\nWhole-process measurements (median of runs; every run a fresh process)")
    print(f"load average (1 min) before the runs {load_before}, after {_loadavg()}: other work on the machine "
          "inflates wall times; 'best s' is the fastest run")
    header = (f"{'implementation':<14} {'N':>10} {'wall s':>9} {'best s':>8} {'draws/s':>11} {'peak RSS MB':>12} "
              f"{'tree PSS MB':>12} {'import s':>9} {'compute s':>10} {'us/draw':>9}")
    print(header)
    print("-" * len(header))
    ordered = sorted(runs, key=lambda k: (k[1], [c[0] for c in configs].index(k[0]) if k[0] != "monaco" else 99))
    for label, n in ordered:
        rs = runs[(label, n)]
        wall = median_of(rs, "wall_s")
        best = min((r["wall_s"] for r in rs if r.get("returncode") == 0), default=math.nan)
        print(f"{label:<14} {n:>10,} {wall:>9.2f} {best:>8.2f} {n / wall:>11,.0f} {median_of(rs, 'maxrss_mb'):>12.0f} "
              f"{median_of(rs, 'tree_pss_mb'):>12.0f} {child_median(rs, 'import_s'):>9.2f} "
              f"{child_median(rs, 'compute_s'):>10.2f} {1e6 * wall / n:>9.1f}")

    # ---- ratios
    print("\nRatios: simkit / numpy peer, whole-process wall time (compute only in brackets; < 1 = simkit faster)")
    for n in draws:
        base = runs.get(("numpy peer", n))
        if not base:
            continue
        parts = []
        for w in args.workers:
            rs = runs.get((f"simkit w={w}", n))
            if rs:
                parts.append(f"workers={w}: {median_of(rs, 'wall_s') / median_of(base, 'wall_s'):.2f} "
                             f"({child_median(rs, 'compute_s') / child_median(base, 'compute_s'):.2f})")
        print(f"  N={n:>10,}  " + "   ".join(parts))
    if monaco_ok and runs.get(("monaco", monaco_n)):
        mon = runs[("monaco", monaco_n)]
        near = min(draws, key=lambda n: abs(n - monaco_n))
        print(f"\nPer draw: simkit (N={near:,}) vs monaco (N={monaco_n:,}); monaco / simkit = how many times "
              "faster simkit is")
        m_wall, m_comp = median_of(mon, "wall_s") / monaco_n, child_median(mon, "compute_s") / monaco_n
        for w in args.workers:
            rs = runs.get((f"simkit w={w}", near))
            if not rs:
                continue
            s_wall, s_comp = median_of(rs, "wall_s") / near, child_median(rs, "compute_s") / near
            print(f"  workers={w}: whole process {1e6 * s_wall:,.1f} vs {1e6 * m_wall:,.1f} us/draw "
                  f"(x{m_wall / s_wall:,.0f});  compute only {1e6 * s_comp:,.1f} vs {1e6 * m_comp:,.1f} us/draw "
                  f"(x{m_comp / s_comp:,.0f})")

    # ---- bands agreement
    def report(label, n):
        rs = [r for r in runs.get((label, n), []) if r.get("returncode") == 0 and r.get("report")]
        return rs[0]["report"]["bands"] if rs else None

    print(f"\nBands agreement (seed {args.seed}): |difference| < {AGREE_Z:g} SE of the difference at each of "
          "p5 / p50 / p95;\nSE of a quantile = order-statistic estimate of sqrt(q(1-q)/n)/density "
          "(benchmarks/bands.py). timed simkit runs (default outputs) do not keep\ncustomers at month 60 for every draw: "
          "those runs compare ARR and customers won; customers at month 60 is checked by one\nextra "
          "untimed simkit run with keep_paths=True.")
    all_ok = True
    for n in draws:
        base = report("numpy peer", n)
        for w in args.workers:
            mine = report(f"simkit w={w}", n)
            if base and mine:
                all_ok &= print_comparison(f"simkit workers={w} vs numpy peer, N={n:,}", mine, base)
        if len(args.workers) > 1:
            reports = [report(f"simkit w={w}", n) for w in args.workers]
            if all(reports):
                same = all(json.dumps(r, sort_keys=True) == json.dumps(reports[0], sort_keys=True)
                           for r in reports)
                print(f"  simkit workers={'/'.join(map(str, args.workers))} at N={n:,}: "
                      f"{'identical bands (bit for bit)' if same else 'DIFFERENT bands (same seed!)'}")
                all_ok &= same
    paths_ref_n = min(draws, key=lambda n: abs(n - paths_n))  # nearest N: the SE allows unequal N
    if paths_run.get("returncode") == 0 and report("numpy peer", paths_ref_n):
        ref_n = paths_ref_n
        all_ok &= print_comparison(f"simkit keep_paths=True N={paths_n:,} vs numpy peer N={ref_n:,} "
                                   "(customers at month 60)",
                                   paths_run["report"]["bands"], report("numpy peer", ref_n))
    elif paths_run.get("returncode") != 0:
        print(f"simkit keep_paths=True run FAILED: {paths_run.get('error')}")
    if monaco_ok and report("monaco", monaco_n):
        ref_n = monaco_n if report("numpy peer", monaco_n) else max(draws)
        if report("numpy peer", ref_n):
            all_ok &= print_comparison(f"monaco N={monaco_n:,} vs numpy peer N={ref_n:,}",
                                       report("monaco", monaco_n), report("numpy peer", ref_n),
                                       names=("monaco", "numpy"))
    print(f"\nOverall bands agreement: {'agree' if all_ok else 'DISAGREE (see above)'}")

    # ---- start-up
    simkit_exe = simkit_executable(py)
    print(f"\nStart-up (median of {args.startup_repeats} fresh processes)")
    numpy_s = startup([py, "-c", "import numpy"], args.startup_repeats)
    bare_s = startup([py, "-c", "pass"], args.startup_repeats)
    print(f"  python -c pass          {bare_s * 1000:8.0f} ms")
    print(f"  python -c 'import numpy' {numpy_s * 1000:7.0f} ms")
    startup_info = {"python_s": bare_s, "numpy_s": numpy_s}
    if simkit_exe:
        help_s = startup([simkit_exe, "--help"], args.startup_repeats)
        startup_info["simkit_help_s"] = help_s
        print(f"  simkit --help           {help_s * 1000:8.0f} ms   ratio simkit --help / import numpy = "
              f"{help_s / numpy_s:.2f}")
    else:
        print("  simkit executable not found on PATH next to this python: start-up not measured")

    if args.json:
        args.json.write_text(json.dumps({
            "draws": draws, "repeats": repeats, "seed": args.seed,
            "runs": [{"implementation": k[0], "draws": k[1], "runs": v} for k, v in runs.items()],
            "paths_run": paths_run, "startup": startup_info,
        }, indent=1, default=str))
        print(f"\nmeasurements written to {args.json}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
