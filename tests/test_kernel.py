"""The compiled binomial sampler against scipy.stats.binom: an independent implementation.

Each regime of the sampler (inversion, BTRD, symmetry for p > 1/2, the edges) is checked
by a chi-square goodness-of-fit test on the exact pmf, and by mean and variance within
four Monte Carlo standard errors.
"""

import numpy as np
import pytest
from scipy import stats

from simkit._kernel import binomial_array

SIZE = 200_000


def _draw(n, p, seed=0, size=SIZE):
    out = np.empty(size, dtype=np.int64)
    binomial_array(np.random.default_rng(seed), np.full(size, n, np.int64), np.full(size, p), out)
    return out


@pytest.mark.parametrize(
    "n, p",
    [
        (5, 0.3),  # inversion
        (50, 0.1),  # inversion, n p = 5
        (99, 0.1),  # inversion just below n p = 10
        (101, 0.1),  # BTRD just above
        (2_000, 0.1),  # BTRD, the reference model's SMB leads
        (150, 0.3),
        (20, 0.7),  # symmetry, inversion
        (1_000, 0.9),  # symmetry, BTRD
        (10_000_000, 0.0015),  # huge n
    ],
)
def test_binomial_matches_the_exact_distribution(n, p):
    draws = _draw(n, p, seed=n)
    mean, var = n * p, n * p * (1 - p)
    # Mean within 4 standard errors; variance within 4 SE of the sample variance.
    assert abs(draws.mean() - mean) < 4 * np.sqrt(var / SIZE)
    fourth = var * (1 + 3 * (n - 2) * p * (1 - p))  # 4th central moment of a binomial
    assert abs(draws.var(ddof=1) - var) < 4 * np.sqrt((fourth - var**2) / SIZE)
    # Chi-square on bins holding at least 20 expected draws; the tails pooled.
    dist = stats.binom(n, p)
    low, high = int(dist.ppf(1e-4)), int(dist.ppf(1 - 1e-4))
    edges = np.arange(low, high + 1)
    expected = dist.pmf(edges) * SIZE
    expected[0] += dist.cdf(low - 1) * SIZE
    expected[-1] += dist.sf(high) * SIZE
    observed = np.bincount(np.clip(draws, low, high) - low, minlength=len(edges))
    keep = expected >= 20
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    exp *= obs.sum() / exp.sum()
    assert stats.chisquare(obs, exp).pvalue > 1e-3


def test_binomial_edges():
    assert np.all(_draw(0, 0.5, size=100) == 0)
    assert np.all(_draw(10, 0.0, size=100) == 0)
    assert np.all(_draw(10, 1.0, size=100) == 10)
    draws = _draw(7, 0.5, size=10_000)
    assert draws.min() >= 0 and draws.max() <= 7


def test_same_generator_state_same_draws():
    np.testing.assert_array_equal(_draw(2_000, 0.1, seed=3, size=1_000), _draw(2_000, 0.1, seed=3, size=1_000))
