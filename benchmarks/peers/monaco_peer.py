"""The benchmark's reference model in monaco (a peer for simkit; does not import simkit).

monaco's documented pattern: an ``mc.Sim`` with the per-draw parameters as input variables
(``addInVar`` with scipy.stats distributions), and three functions per case:

* preprocess(case) -> the case's parameters and its seed;
* run(...) simulates ONE draw's 60 months with a numpy Generator seeded from the case;
* postprocess(case, ...) adds the output values (ARR, customers, customers won).

Same model as numpy_peer.py (see there), written per draw instead of vectorised over draws.
Sampling is plain random (``SampleMethod.RANDOM``), like simkit and the numpy peer, rather
than monaco's default scrambled Sobol sequence; monaco runs single-threaded, so the
per-draw time compares like with like against simkit workers=1.

Run: python benchmarks/peers/monaco_peer.py --draws 10000 --seed 1
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import monaco as mc  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bands import bands  # noqa: E402

SEGMENTS = ("smb", "mid_market", "enterprise")
MONTHS = 60
LEADS_PER_MONTH = np.array([2000, 150, 20])
CHURN_MEAN = (0.018, 0.010, 0.006)
CHURN_CONCENTRATION = 200.0
CONVERSION_MEAN = (0.10, 0.30, 0.20)
CONVERSION_CONCENTRATION = 100.0
EXPANSION_MEAN = (0.0, 0.008, 0.015)
EXPANSION_SD = 0.003
ACV_MEDIAN = (2_400.0, 20_000.0, 200_000.0)
ACV_SIGMA = 0.3


def preprocess(case):
    def per_segment(name):
        return np.array([case.invals[f"{name}_{s}"].val for s in SEGMENTS])

    return (per_segment("churn"), per_segment("conversion"), per_segment("expansion"),
            per_segment("acv"), case.seed)


def run(churn, conversion, expansion, acv, seed):
    """One draw: 60 months of binomial wins and churn for the three segments."""
    rng = np.random.default_rng(seed)
    active = np.zeros(len(SEGMENTS), dtype=np.int64)
    won_total = np.zeros_like(active)
    mrr = np.zeros(len(SEGMENTS))
    billed = mrr
    growth = 1.0 + expansion
    for _month in range(MONTHS):
        won = rng.binomial(LEADS_PER_MONTH, conversion)
        won_total += won
        active += won
        mrr += won * acv / 12.0
        billed = mrr.copy()
        churned = rng.binomial(active, churn)
        kept = np.divide(active - churned, active, out=np.zeros(len(SEGMENTS)), where=active > 0)
        active -= churned
        mrr *= kept * growth
    return 12.0 * billed, active, won_total


def postprocess(case, arr_final, customers, won_total):
    case.addOutVal("total_arr_final", float(arr_final.sum()))
    for i, s in enumerate(SEGMENTS):
        case.addOutVal(f"arr_final.{s}", float(arr_final[i]))
        case.addOutVal(f"customers.{s}", int(customers[i]))
        case.addOutVal(f"customers_won.{s}", int(won_total[i]))


def build(draws: int, seed: int) -> mc.Sim:
    fcns = {"preprocess": preprocess, "run": run, "postprocess": postprocess}
    sim = mc.Sim(name="simkit_reference", ndraws=draws, fcns=fcns, firstcaseismedian=False,
                 samplemethod=mc.SampleMethod.RANDOM, seed=seed, singlethreaded=True,
                 savecasedata=False, savesimdata=False, verbose=False)
    for i, s in enumerate(SEGMENTS):
        a = CHURN_MEAN[i] * CHURN_CONCENTRATION
        sim.addInVar(name=f"churn_{s}", dist=stats.beta,
                     distkwargs={"a": a, "b": CHURN_CONCENTRATION - a})
        a = CONVERSION_MEAN[i] * CONVERSION_CONCENTRATION
        sim.addInVar(name=f"conversion_{s}", dist=stats.beta,
                     distkwargs={"a": a, "b": CONVERSION_CONCENTRATION - a})
        sim.addInVar(name=f"expansion_{s}", dist=stats.norm,
                     distkwargs={"loc": EXPANSION_MEAN[i], "scale": EXPANSION_SD})
        sim.addInVar(name=f"acv_{s}", dist=stats.lognorm,
                     distkwargs={"s": ACV_SIGMA, "scale": ACV_MEDIAN[i]})
    return sim


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    t_import = time.perf_counter() - _T0
    t1 = time.perf_counter()
    sim = build(args.draws, args.seed)
    sim.runSim()
    t_compute = time.perf_counter() - t1

    def column(name):
        return np.asarray(sim.outvars[name].nums, dtype=float)

    def per_segment(name):
        return np.stack([column(f"{name}.{s}") for s in SEGMENTS], axis=1)

    result = {
        "impl": "monaco",
        "monaco_version": getattr(mc, "__version__", "?"),
        "draws": args.draws,
        "workers": 1,
        "import_s": t_import,
        "compute_s": t_compute,
        "bands": bands(column("total_arr_final"), per_segment("arr_final"),
                       per_segment("customers"), per_segment("customers_won")),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
