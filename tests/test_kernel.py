"""The compiled binomial samplers against scipy.stats.binom: an independent implementation.

Each regime of the samplers (inversion, BTRD, the guide table, symmetry for p > 1/2, the
edges) and each way the kernel calls them (a fresh set-up, a set-up prepared for one
(n, p), a set-up prepared for one p with n changing) is checked by a chi-square
goodness-of-fit test on the exact pmf, and by mean and variance within four Monte Carlo
standard errors.
"""

import math

import numpy as np
import pytest
from scipy import stats

from simkit import _kernel
from simkit._kernel import binomial_array, binomial_stream
from simkit._random import STATE_WORDS, key_words, next_double, seed_stream

SIZE = 200_000


def _key(seed):
    return key_words(np.random.SeedSequence(seed))


def _draw(n, p, seed=0, size=SIZE):
    """Element i from stream (draw i) of the key: a fresh set-up every time."""
    out = np.empty(size, dtype=np.int64)
    binomial_array(_key(seed), np.full(size, n, np.int64), np.full(size, p), out)
    return out


def _draw_prepared(n, p, uses, seed=0, size=SIZE):
    """One stream, one (n, p) prepared for ``uses`` variates (the kernel's wins)."""
    out = np.empty(size, dtype=np.int64)
    binomial_stream(_key(seed), np.full(size, n, np.int64), p, uses, out)
    return out


def _draw_at_rate(n, p, seed=0, size=SIZE):
    """One stream, p prepared, n different from the first element's (the kernel's churn)."""
    out = np.empty(size + 1, dtype=np.int64)
    trials = np.full(size + 1, n, np.int64)
    trials[0] = n + 1
    binomial_stream(_key(seed), trials, p, 1, out)
    return out[1:]


def _assert_binomial(draws, n, p):
    size = draws.size
    mean, var = n * p, n * p * (1 - p)
    # Mean within 4 standard errors; variance within 4 SE of the sample variance.
    assert abs(draws.mean() - mean) < 4 * np.sqrt(var / size)
    fourth = var * (1 + 3 * (n - 2) * p * (1 - p))  # 4th central moment of a binomial
    assert abs(draws.var(ddof=1) - var) < 4 * np.sqrt((fourth - var**2) / size)
    # Chi-square on bins holding at least 20 expected draws; the tails pooled.
    dist = stats.binom(n, p)
    low, high = int(dist.ppf(1e-4)), int(dist.ppf(1 - 1e-4))
    edges = np.arange(low, high + 1)
    expected = dist.pmf(edges) * size
    expected[0] += dist.cdf(low - 1) * size
    expected[-1] += dist.sf(high) * size
    observed = np.bincount(np.clip(draws, low, high) - low, minlength=len(edges))
    keep = expected >= 20
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    exp *= obs.sum() / exp.sum()
    assert stats.chisquare(obs, exp).pvalue > 1e-3


@pytest.mark.parametrize(
    "n, p",
    [
        (5, 0.3),  # inversion
        (12, 0.1),  # inversion, 4 steps without a branch, the loop past them
        (30, 0.1),  # inversion, 8 steps without a branch
        (50, 0.1),  # inversion, n p = 5, 16 steps
        (99, 0.1),  # inversion, 16 steps, just below 10
        (130, 0.1),  # inversion, 24 steps
        (219, 0.1),  # inversion, 32 steps, just below n p = 22
        (221, 0.1),  # BTRD just above
        (2_000, 0.1),  # BTRD, the reference model's SMB leads
        (150, 0.3),
        (20, 0.7),  # symmetry, inversion
        (1_000, 0.9),  # symmetry, BTRD
        (32_767, 0.01),  # BTRD's exact test by tabulated log-factorials, largest n
        (32_768, 0.01),  # BTRD's exact test by recursion and Stirling series, smallest n
        (10_000_000, 0.0015),  # huge n
    ],
)
def test_binomial_matches_the_exact_distribution(n, p):
    _assert_binomial(_draw(n, p, seed=n), n, p)


@pytest.mark.parametrize(
    "n, p, uses, method",
    [
        (2_000, 0.1, 60, 2.0),  # table: the reference model's SMB wins
        (150, 0.3, 60, 2.0),  # table
        (20, 0.2, 60, 2.0),  # table, small n p
        (240, 0.006, 60, 2.0),  # table, a skewed pmf
        (1_000, 0.9, 60, 2.0),  # table by symmetry
        (2_000, 0.1, 1, 1.0),  # one use: BTRD prepared
        (50, 0.1, 1, 0.0),  # one use: inversion prepared
        (20, 0.7, 1, 0.0),  # inversion by symmetry
        (100_000, 0.3, 60, 1.0),  # too wide for a table
    ],
)
def test_prepared_binomial_matches_the_exact_distribution(n, p, uses, method):
    setup = np.zeros(_kernel._SETUP_SIZE)
    _kernel.prepare_binomial(n, p, setup, uses, np.zeros(_kernel.TABLE_CAPACITY),
                             np.zeros(_kernel.TABLE_CAPACITY, dtype=np.int64))
    assert setup[3] == method  # the regime this case is meant to exercise
    _assert_binomial(_draw_prepared(n, p, uses, seed=n + 1), n, p)


@pytest.mark.parametrize("n, p", [(5, 0.3), (99, 0.1), (219, 0.1), (221, 0.1), (10_000, 0.018), (2_500, 0.01),
                                  (1_000, 0.9)])
def test_binomial_at_a_prepared_rate_matches_the_exact_distribution(n, p):
    _assert_binomial(_draw_at_rate(n, p, seed=n + 2), n, p)


@pytest.mark.parametrize("n", [10**13, 10**15, 2**62])
def test_binomial_with_trillions_of_trials_stays_in_its_bulk(n):
    """Beyond about 1e12 trials BTRD's squeeze squared an int64 and overflowed (it accepted
    values thousands of sd out): standardised draws must look standard normal."""
    p = 0.08
    draws = _draw(n, p, seed=7, size=40_000).astype(float)
    z = (draws - n * p) / np.sqrt(n * p * (1 - p))
    assert np.abs(z).max() < 6
    assert abs(z.mean()) < 4 / np.sqrt(z.size)
    assert abs(z.std() - 1) < 4 * np.sqrt(0.5 / z.size)
    assert stats.kstest(z, "norm").pvalue > 1e-3


def _table(n, p):
    """A wins table for Binomial(n, p): its cdf and guide arrays and what ``_fill_table``
    returns (first k, entries, probability held, pmf at the first and last k)."""
    cdf = np.zeros(_kernel.TABLE_CAPACITY)
    guide = np.zeros(_kernel.TABLE_CAPACITY, dtype=np.int64)
    return cdf, guide, _kernel._fill_table(n, p, cdf, guide)


@pytest.mark.parametrize("n, p", [(2_000, 0.1), (150, 0.3), (20, 0.2), (240, 0.006), (10**9, 1e-7)])
def test_table_holds_the_exact_pmf_around_the_mode(n, p):
    """The table's cumulative probabilities and its edges' pmf against scipy, its span, and
    its guide."""
    cdf, guide, (first, entries, held, first_pmf, last_pmf) = _table(n, p)
    last = first + entries - 1
    dist = stats.binom(n, p)
    k = first + np.arange(entries)
    # P(first <= X <= k), absolute, not normalised to the table
    np.testing.assert_allclose(cdf[:entries], dist.cdf(k) - dist.cdf(first - 1), rtol=0, atol=1e-13)
    assert held == cdf[entries - 1]
    np.testing.assert_allclose([first_pmf, last_pmf], dist.pmf([first, last]), rtol=1e-11)
    # at least 3 sd either side of the mode, or to the end of the support
    mode, sd = int((n + 1) * p), np.sqrt(n * p * (1 - p))
    assert first == 0 or first <= mode - 3 * sd
    assert last == n or last >= mode + 3 * sd
    # the guide never points past the entry that inversion needs for any u of its bin
    u = np.linspace(0, held, 100_001)[:-1]
    needed = np.searchsorted(cdf[:entries], u, side="right")
    start = guide[(u * (entries / held)).astype(int)]
    assert np.all(start <= needed)
    assert np.mean(needed - start) < 1.5  # and rarely far before it


@pytest.mark.parametrize("n, p", [(2_000, 0.1), (150, 0.3), (20, 0.2), (1, 0.5), (3, 0.5), (10**9, 1e-7),
                                  (20_000, 0.4), (79_334, 0.1)])  # the last: 511 entries, the most a table has
def test_table_never_decreases_as_far_as_the_kernels_lanes_read(n, p):
    """The kernel's lanes compare a guide entry and the 3 after it at once, which gives the
    sequential search's answer only if the cdf never decreases over those: its sentinels
    must reach 3 slots past the table in the kernel's wider rows. In an array of exactly
    the table capacity, the sentinels stop at its end."""
    cdf = np.full(_kernel._TABLE_ROW, -1.0)  # stale values below any u
    guide = np.zeros(_kernel._TABLE_ROW, dtype=np.int64)
    entries = _kernel._fill_table(n, p, cdf, guide)[1]
    assert entries > 0
    window = cdf[: entries + _kernel._SEARCH_AHEAD + 1]
    assert np.all(np.diff(window) >= 0.0)
    np.testing.assert_array_equal(window[entries:], 2.0)
    narrow = np.full(_kernel.TABLE_CAPACITY, -1.0)
    assert _kernel._fill_table(n, p, narrow, np.zeros(_kernel.TABLE_CAPACITY, dtype=np.int64))[1] == entries
    np.testing.assert_array_equal(narrow[: entries + 1], cdf[: entries + 1])


@pytest.mark.parametrize("n, p", [(2_000, 0.1), (150, 0.3), (240, 0.006), (10**9, 1e-7)])
def test_table_tails_are_inverted_in_their_order(n, p):
    """Past the table, u in [0, 1 - held) is inverted over the upper tail upward, then the
    lower tail downward: the walk must land where scipy's pmf, summed in that order, says."""
    _, _, (first, entries, held, first_pmf, last_pmf) = _table(n, p)
    last = first + entries - 1
    order = np.concatenate([np.arange(last + 1, min(n, last + 3_000) + 1), np.arange(first - 1, -1, -1)])
    cumulative = np.cumsum(stats.binom.pmf(order, n, p))
    before = np.concatenate([[0.0], cumulative[:-1]])
    rest = 1.0 - held
    assert abs(cumulative[-1] - rest) < 1e-12  # the two tails hold what the table does not
    walked = 0
    for u in np.linspace(0.0, rest, 4_001)[:-1]:
        k = _kernel._tail_walk(u, n, p, first, last, first_pmf, last_pmf)
        if k < 0:  # only round-off may leave u unspent
            assert u > cumulative[-1] - 1e-12
            continue
        i = np.flatnonzero(order == k)[0]
        assert before[i] - 1e-12 <= u < cumulative[i] + 1e-12
        walked += 1
    assert walked >= 3_990
    # and both tails are reached when they exist
    assert (first == 0) or _kernel._tail_walk(rest * 0.999, n, p, first, last, first_pmf, last_pmf) < first
    assert _kernel._tail_walk(0.0, n, p, first, last, first_pmf, last_pmf) == last + 1


def test_table_tails_draw_afresh_when_round_off_leaves_u_unspent():
    """Binomial(10, 1e-12): the table holds 1 - 1e-16 by round-off, its tails 1e-34. A u
    past the table finds nothing in the tails and must get a fresh variate of the whole
    distribution (drawing u again on the tails alone would never end)."""
    n, p = 10, 1e-12
    _, _, (first, entries, held, first_pmf, last_pmf) = _table(n, p)
    last = first + entries - 1
    assert _kernel._tail_walk(1e-17, n, p, first, last, first_pmf, last_pmf) == -1
    state = np.zeros(STATE_WORDS, dtype=np.uint64)
    seed_stream(state, _key(5), 0, 0)
    stream = tuple(state)
    draws = []
    for _ in range(200):
        k, stream = _kernel._table_tails(stream, 1e-17, n, p, first, last, first_pmf, last_pmf)
        stream = tuple(np.uint64(word) for word in stream)  # numba hands back Python ints
        draws.append(k)
    assert set(draws) == {0}  # P(X > 0) = 1e-11: every fresh variate is 0
    assert stream != tuple(state)  # and each was drawn from the stream


def test_binomial_edges():
    assert np.all(_draw(0, 0.5, size=100) == 0)
    assert np.all(_draw(10, 0.0, size=100) == 0)
    assert np.all(_draw(10, 1.0, size=100) == 10)
    draws = _draw(7, 0.5, size=10_000)
    assert draws.min() >= 0 and draws.max() <= 7


def test_same_key_same_draws_other_key_other_draws():
    np.testing.assert_array_equal(_draw(2_000, 0.1, seed=3, size=1_000), _draw(2_000, 0.1, seed=3, size=1_000))
    assert not np.array_equal(_draw(2_000, 0.1, seed=3, size=1_000), _draw(2_000, 0.1, seed=4, size=1_000))


def test_streams_of_neighbouring_draws_are_uncorrelated():
    """Stream i feeds element i: neighbouring streams must not move together."""
    draws = _draw(2_000, 0.1, seed=11).astype(float)
    correlation = np.corrcoef(draws[:-1], draws[1:])[0, 1]
    assert abs(correlation) < 4 / np.sqrt(draws.size)


def test_tabulated_log_factorials_match_scipy():
    """BTRD's exact test reads log(k!) from a table: within 1e-15 of scipy's gammaln, relative
    (Python's math.lgamma and scipy's differ by a few ulps)."""
    from scipy import special

    k = np.arange(_kernel._LOG_FACTORIALS.size)
    np.testing.assert_allclose(_kernel._LOG_FACTORIALS, special.gammaln(k + 1.0), rtol=1e-15, atol=0)


@pytest.mark.parametrize("n, p", [(3, 0.3), (12, 0.1), (30, 0.1), (99, 0.1), (130, 0.1), (219, 0.1), (20, 0.7)])
def test_inversion_stops_where_a_plain_sequential_search_does(n, p):
    """The kernel's inversion makes its first comparisons without a branch; a plain search
    in Python, on the same uniform and the same floating-point steps, must stop at the
    same count, draw for draw."""
    size = 2_000
    key = _key(n)
    kernel = _draw(n, p, seed=n, size=size)
    q = min(p, 1.0 - p)
    ratio = q / (1.0 - q)
    start = math.exp(n * math.log1p(-q))
    state = np.zeros(STATE_WORDS, dtype=np.uint64)
    plain = np.empty(size, dtype=np.int64)
    for i in range(size):
        seed_stream(state, key, i, 0)
        u = next_double(state)
        k, f = 0, start
        while u > f:
            u -= f
            k += 1
            f *= (n - k + 1) * _kernel._RECIPROCALS[k] * ratio
        plain[i] = k if q == p else n - k
    np.testing.assert_array_equal(kernel, plain)
    assert len(np.unique(plain)) > 2  # the cases reach past the first comparisons
