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


def _interval(q: float, n: int) -> tuple[float, float]:
    """The quantile levels ``q -/+ z sqrt(q (1 - q) / n)`` that bracket the q-quantile."""
    m = math.sqrt(q * (1.0 - q) / n)
    return min(max(q - _Z * m, 0.0), 1.0), min(max(q + _Z * m, 0.0), 1.0)


def band(values, integer: bool = False) -> dict:
    """``{"p5": ..., "p50": ..., "p95": ..., "se": {"p5": ...}}`` of a 1-D sample.

    Every level (the three quantiles and the intervals of their SEs) in one
    ``np.quantile`` call: one partial sort of the sample, not a sort and four
    partitions: at a million draws 0.02 s a quantity against 0.05-0.10 s, in every
    benchmark process (simkit's and the peers'). ``np.quantile`` computes each level
    on its own, so the values are the same as level by level.
    """
    x = np.asarray(values, dtype=float).ravel()
    levels = list(QUANTILES)
    for q in QUANTILES:
        levels.extend(_interval(q, len(x)))
    found = np.quantile(x, levels)
    out = {}
    ses = {}
    for i, q in enumerate(QUANTILES):
        key = f"p{round(q * 100)}"
        out[key] = float(found[i])
        q_lo, q_hi = found[len(QUANTILES) + 2 * i], found[len(QUANTILES) + 2 * i + 1]
        se = float(q_hi - q_lo) / (2.0 * _Z)
        ses[key] = max(se, 0.5) if integer else se
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
