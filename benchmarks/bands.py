"""Bands (p5 / p50 / p95) and their Monte Carlo standard errors, shared by every benchmark child.

Plain numpy, no simkit: the peers import it too, and a peer must not depend on simkit.

Standard error of a sample quantile
-----------------------------------
For the q-quantile of n independent draws, ``SE ~= sqrt(q (1 - q) / n) / f(x_q)`` where ``f``
is the density at the quantile. ``f`` is unknown, so it is estimated from the sample itself
with the distribution-free order-statistic interval: with ``m = sqrt(q (1 - q) / n)``, the
empirical quantiles at ``q - z m`` and ``q + z m`` (z = 1.96) bracket the true quantile with
about 95% probability, so

    SE = (Q(q + z m) - Q(q - z m)) / (2 z),

which is ``sqrt(q (1 - q) / n)`` times a finite-difference estimate of ``1 / f(x_q)``. It
needs no bandwidth and no resampling (a bootstrap of 1M draws would take longer than the
simulation). For whole-number quantities (customer counts) the SE is floored at 0.5, so two
samples whose quantile differs by one customer are not called different when ties make the
spacing zero.
"""

from __future__ import annotations

import math

import numpy as np

QUANTILES = (0.05, 0.50, 0.95)
_Z = 1.96


def quantile_se(sorted_values: np.ndarray, q: float, integer: bool = False) -> float:
    """Standard error of the q-quantile estimate of ``sorted_values`` (see module docstring)."""
    n = len(sorted_values)
    m = math.sqrt(q * (1.0 - q) / n)
    lo = min(max(q - _Z * m, 0.0), 1.0)
    hi = min(max(q + _Z * m, 0.0), 1.0)
    q_lo, q_hi = np.quantile(sorted_values, [lo, hi])
    se = float(q_hi - q_lo) / (2.0 * _Z)
    return max(se, 0.5) if integer else se


def band(values, integer: bool = False) -> dict:
    """``{"p5": ..., "p50": ..., "p95": ..., "se": {"p5": ...}}`` of a 1-D sample."""
    x = np.sort(np.asarray(values, dtype=float).ravel())
    out = {}
    ses = {}
    for q, v in zip(QUANTILES, np.quantile(x, QUANTILES)):
        key = f"p{round(q * 100)}"
        out[key] = float(v)
        ses[key] = quantile_se(x, q, integer)
    out["se"] = ses
    return out


def bands(total_arr_final, arr_final, customers=None, customers_won=None,
          segments=("smb", "mid_market", "enterprise")) -> dict:
    """Bands of every compared quantity.

    total_arr_final : (draw,) company ARR in the last month
    arr_final, customers, customers_won : (draw, segment)
    """
    result = {"total_arr_final": band(total_arr_final)}
    for i, s in enumerate(segments):
        result[f"arr_final.{s}"] = band(np.asarray(arr_final)[:, i])
    if customers is not None:
        for i, s in enumerate(segments):
            result[f"customers.{s}"] = band(np.asarray(customers)[:, i], integer=True)
    if customers_won is not None:
        for i, s in enumerate(segments):
            result[f"customers_won.{s}"] = band(np.asarray(customers_won)[:, i], integer=True)
    return result
