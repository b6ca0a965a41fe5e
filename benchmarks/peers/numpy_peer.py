"""The benchmark's reference model in plain numpy (a peer for simkit; does not import simkit).

Arrays over (draw, segment), one Python loop over the 60 months:

* per draw: monthly churn ~ Beta, conversion ~ Beta, monthly expansion ~ Normal,
  ACV ~ lognormal (medians and sigma below);
* each month: won ~ Binomial(leads, conversion); the new customers pay ACV / 12 from this
  month; the month's MRR is billed; churned ~ Binomial(active, churn) at the end of the
  month; the surviving customers' MRR (the kept share of it) grows by the expansion rate.

ARR at month 60 = 12 x MRR billed in the last month (so it includes that month's wins and
is measured before that month's end-of-month churn); customers at month 60 = active after
the last month's churn.

Run: python benchmarks/peers/numpy_peer.py --draws 100000 --seed 1
Prints one JSON line: bands of company ARR, segment ARR, customers and customers won.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bands import bands  # noqa: E402

SEGMENTS = ("smb", "mid_market", "enterprise")
MONTHS = 60
LEADS_PER_MONTH = np.array([2000, 150, 20])
CHURN_MEAN = np.array([0.018, 0.010, 0.006])  # monthly logo churn
CHURN_CONCENTRATION = 200.0  # alpha + beta
CONVERSION_MEAN = np.array([0.10, 0.30, 0.20])
CONVERSION_CONCENTRATION = 100.0
EXPANSION_MEAN = np.array([0.0, 0.008, 0.015])  # monthly
EXPANSION_SD = 0.003
ACV_MEDIAN = np.array([2_400.0, 20_000.0, 200_000.0])
ACV_SIGMA = 0.3


def draw_parameters(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """One value of every uncertain input per draw, shape (n, 3)."""
    shape = (n, len(SEGMENTS))
    return {
        "churn": rng.beta(CHURN_MEAN * CHURN_CONCENTRATION, (1 - CHURN_MEAN) * CHURN_CONCENTRATION, shape),
        "conversion": rng.beta(CONVERSION_MEAN * CONVERSION_CONCENTRATION,
                               (1 - CONVERSION_MEAN) * CONVERSION_CONCENTRATION, shape),
        "expansion": rng.normal(EXPANSION_MEAN, EXPANSION_SD, shape),
        "acv": rng.lognormal(np.log(ACV_MEDIAN), ACV_SIGMA, shape),
    }


def simulate(params: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    churn, conversion = params["churn"], params["conversion"]
    growth = 1.0 + params["expansion"]
    new_mrr_per_customer = params["acv"] / 12.0
    n = churn.shape[0]
    active = np.zeros((n, len(SEGMENTS)), dtype=np.int64)
    won_total = np.zeros_like(active)
    mrr = np.zeros((n, len(SEGMENTS)))
    billed = mrr
    for _month in range(MONTHS):
        won = rng.binomial(LEADS_PER_MONTH, conversion)
        won_total += won
        active += won
        mrr += won * new_mrr_per_customer
        billed = mrr.copy()
        churned = rng.binomial(active, churn)
        with np.errstate(invalid="ignore", divide="ignore"):
            kept = np.where(active > 0, (active - churned) / active, 0.0)
        active -= churned
        mrr *= kept * growth
    arr_final = 12.0 * billed
    return {
        "arr_final": arr_final,
        "total_arr_final": arr_final.sum(axis=1),
        "customers": active,
        "customers_won": won_total,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    t_import = time.perf_counter() - _T0
    t1 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    out = simulate(draw_parameters(rng, args.draws), rng)
    t_compute = time.perf_counter() - t1
    result = {
        "impl": "numpy_peer",
        "draws": args.draws,
        "workers": 1,
        "import_s": t_import,
        "compute_s": t_compute,
        "bands": bands(out["total_arr_final"], out["arr_final"], out["customers"], out["customers_won"]),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
