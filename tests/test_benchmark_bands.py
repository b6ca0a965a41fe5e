"""benchmarks/bands.py (the benchmark's band comparison) against the definition it states:
each level by its own ``np.quantile`` call, the SE from the order-statistic interval."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

_SPEC = importlib.util.spec_from_file_location("benchmark_bands", Path(__file__).parents[1] / "benchmarks" / "bands.py")
bench_bands = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench_bands)


def _band_level_by_level(values, integer):
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    out, ses = {}, {}
    for q in (0.05, 0.50, 0.95):
        key = f"p{round(q * 100)}"
        out[key] = float(np.quantile(x, q))
        m = math.sqrt(q * (1 - q) / n)
        lo, hi = np.quantile(x, [min(max(q - 1.96 * m, 0.0), 1.0), min(max(q + 1.96 * m, 0.0), 1.0)])
        se = float(hi - lo) / (2 * 1.96)
        ses[key] = max(se, 0.5) if integer else se
    out["se"] = ses
    return out


@pytest.mark.parametrize("n", [1, 10, 1_001, 100_000])
@pytest.mark.parametrize("integer", [False, True])
def test_band_is_every_level_on_its_own(n, integer):
    rng = np.random.default_rng(n)
    values = rng.poisson(200, n).astype(float) if integer else rng.lognormal(10, 0.5, n)
    assert bench_bands.band(values, integer) == _band_level_by_level(values, integer)


def test_band_se_of_the_median_matches_its_closed_form():
    """SE of the median of n standard normals: sqrt(pi / 2) / sqrt(n). The interval behind
    the estimate spans 2 z sqrt(q (1 - q) n) = 1,960 order statistics at n = 1e6, so the
    estimate's own relative error is about 1 / sqrt(1,960) = 2.3%: 15% is over 6 of those."""
    n = 1_000_000
    se = bench_bands.band(np.random.default_rng(0).normal(0, 1, n))["se"]["p50"]
    assert abs(se / (math.sqrt(math.pi / 2) / math.sqrt(n)) - 1) < 0.15
