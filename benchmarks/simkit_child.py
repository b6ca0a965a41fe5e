"""Benchmark child: simkit on the reference model, one whole process per measurement.

Run: python benchmarks/simkit_child.py --draws 100000 --workers 2 --seed 1 [--keep-paths]
Prints one JSON line with the bands and the in-process timings.

The timed runs use simkit's default outputs (``keep_paths=None``: per-draw metrics for
every draw, month paths for the first draws that fit in about 80 MB). Customers at month
60 is a month path: it is reported only when every draw kept its path (``--keep-paths``
forces that; run.py uses it once, untimed, for the customers check). The timed bands cover
company and segment ARR at month 60 and customers won over the 60 months.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import simkit  # noqa: E402
from simkit.scenario.load import load  # noqa: E402
from simkit.simulation import simulate  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bands import bands  # noqa: E402

REFERENCE = HERE / "reference.toml"


def source_fingerprint() -> str:
    """SHA-256 (12 hex digits) of the simkit modules this run imported: ties a measurement to
    the code measured (modules the run did not use, such as plots, do not count)."""
    digest = hashlib.sha256()
    files = {Path(m.__file__).resolve() for name, m in list(sys.modules.items())
             if (name == "simkit" or name.startswith("simkit.")) and getattr(m, "__file__", None)}
    package = Path(simkit.__file__).resolve().parent
    for path in sorted(files):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--keep-paths", action="store_true")
    parser.add_argument("--scenario", type=Path, default=REFERENCE)
    args = parser.parse_args(argv)
    t_import = time.perf_counter() - _T0

    t1 = time.perf_counter()
    scenario = load(args.scenario)
    t_load = time.perf_counter() - t1
    t2 = time.perf_counter()
    ds = simulate(scenario, draws=args.draws, seed=args.seed, workers=args.workers,
                  keep_paths=True if args.keep_paths else None)
    t_compute = time.perf_counter() - t2

    segments = [str(s) for s in ds.segment.values]
    customers = None
    if "customers" in ds and "draw" in ds["customers"].dims:  # every draw kept its month path
        customers = ds["customers"].isel(month=-1).transpose("draw", "segment").values
    result = {
        "impl": "simkit",
        "simkit_version": simkit.__version__,
        "simkit_source": source_fingerprint(),
        "draws": args.draws,
        "workers": args.workers,
        "keep_paths": args.keep_paths,
        "import_s": t_import,
        "load_s": t_load,
        "compute_s": t_compute,
        "bands": bands(
            ds["total_arr_final"].values,
            ds["arr_final"].transpose("draw", "segment").values,
            customers=customers,
            customers_won=ds["customers_won"].transpose("draw", "segment").values,
            segments=segments,
        ),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
