"""Time the ``simkit run`` command on the reference model, as an analyst runs it.

The main benchmark (``run.py``) times ``simkit.simulate`` in a fresh process. The command
does more: it also writes ``results.nc`` and ``summary.csv``, computes the bands of every
variable and the threshold probabilities, and prints the segment table. This script runs

    simkit run benchmarks/reference.toml --draws N --workers W --no-pack --out DIR

each time in a fresh process and a fresh output folder, and prints the median wall time,
the fastest run, peak memory and the size of ``results.nc``.

    python benchmarks/cli.py --draws 1000000 --repeats 3
    python benchmarks/cli.py --draws 1000000 --out-dir /dev/shm     # without the disk's speed

Writing 773 MB (at a million draws) takes 0.3-3 s depending on the disk and on what the
machine's memory did before; ``--out-dir /dev/shm`` writes to memory instead, so that two
versions of simkit can be compared on their own work.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import _git_head, _loadavg, measure, median_of, simkit_executable  # noqa: E402

REFERENCE = HERE / "reference.toml"


def simkit_command() -> list[str]:
    """The installed ``simkit`` script (as run.py finds it), else ``python -m simkit.cli``
    (the same entry point)."""
    script = simkit_executable(sys.executable)
    return [script] if script else [sys.executable, "-m", "simkit.cli"]


def run_once(draws: int, workers: int, out_dir: Path) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="simkit-cli-bench-", dir=out_dir))
    try:
        cmd = [*simkit_command(), "run", str(REFERENCE), "--draws", str(draws), "--workers", str(workers),
               "--no-pack", "--out", str(folder)]
        result = measure(cmd)
        results_file = folder / "results.nc"
        result["results_mb"] = results_file.stat().st_size / 1e6 if results_file.exists() else float("nan")
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="where the runs write their folders (default: the system's temporary folder)")
    args = parser.parse_args(argv)
    out_dir = args.out_dir or Path(tempfile.gettempdir())
    print(f"simkit run on {REFERENCE}")
    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs; "
          f"git {_git_head()}; results written under {out_dir}; median of {args.repeats} run(s)")
    print(f"load average (1 min) before the runs {_loadavg()}")
    header = f"{'draws':>10} {'workers':>7} {'wall s':>8} {'best s':>8} {'peak RSS MB':>12} {'tree PSS MB':>12} " \
             f"{'results.nc MB':>14}"
    print(header)
    print("-" * len(header))
    failed = False
    for draws in args.draws:
        for workers in args.workers:
            runs = [run_once(draws, workers, out_dir) for _ in range(args.repeats)]
            bad = [r for r in runs if r["returncode"] != 0]
            if bad:
                failed = True
                print(f"{draws:>10,} {workers:>7} failed: {' | '.join(bad[0].get('error', []))}")
                continue
            best = min(r["wall_s"] for r in runs)
            print(f"{draws:>10,} {workers:>7} {median_of(runs, 'wall_s'):>8.2f} {best:>8.2f} "
                  f"{median_of(runs, 'maxrss_mb'):>12.0f} {median_of(runs, 'tree_pss_mb'):>12.0f} "
                  f"{median_of(runs, 'results_mb'):>14.0f}")
    print(f"load average (1 min) after the runs {_loadavg()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
