"""Tests of parameter sampling: distributions against scipy.stats, the Gaussian copula,
and common random numbers.

Goodness of fit uses the Kolmogorov-Smirnov test at fixed seeds (p > 0.001); the rank
correlation is compared with its target within 4 standard errors, where the standard
error of Spearman's rho under a Gaussian copula is taken from Fieller, Hartley & Pearson
(1957): Var(atanh(r_s)) ~ 1.06 / (n - 3), so SE(r_s) ~ (1 - rho^2) sqrt(1.06 / (n - 3)).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

import simkit
from simkit import sample as sample_module
from simkit.sample import correlation_matrix, sample_inputs
from simkit.scenario import Beta, Fixed, LogitNormal, LogNormal, Normal, Pert, Triangular, Uniform
from simkit.scenario.distributions import _Z80, _Z90

P_MIN = 1e-3
GRID = np.concatenate([[1e-12, 1e-6, 1e-3], np.linspace(0.01, 0.99, 99), [1 - 1e-3, 1 - 1e-6]])


def pert_reference(low, mode, high, shape=4.0):
    a = 1 + shape * (mode - low) / (high - low)
    b = 1 + shape * (high - mode) / (high - low)
    return stats.beta(a, b, loc=low, scale=high - low)


def truncnorm_reference(loc, scale, low, high):
    return stats.truncnorm((low - loc) / scale, (high - loc) / scale, loc=loc, scale=scale)


class LogitNormalReference:
    """expit(N(mu, sigma)): cdf and ppf by monotone transformation."""

    def __init__(self, mu, sigma):
        self.mu, self.sigma = mu, sigma

    def cdf(self, x):
        return stats.norm.cdf((special.logit(x) - self.mu) / self.sigma)

    def ppf(self, q):
        return special.expit(self.mu + self.sigma * stats.norm.ppf(q))

    def mean(self):
        f = lambda z: special.expit(self.mu + self.sigma * z) * stats.norm.pdf(z)  # noqa: E731
        return integrate.quad(f, -np.inf, np.inf, epsabs=1e-13)[0]


# (simkit distribution, scipy-like reference with cdf / ppf / mean)
CASES = {
    "beta": (Beta(2.5, 7.5), stats.beta(2.5, 7.5)),
    "beta_from_mean": (Beta.from_mean(0.07, 200), stats.beta(0.07 * 200, 0.93 * 200)),
    "lognormal": (LogNormal.from_median(200_000, 0.3), stats.lognorm(s=0.3, scale=200_000)),
    "pert": (Pert(0.05, 0.1, 0.3), pert_reference(0.05, 0.1, 0.3)),
    "pert_shape": (Pert(10, 40, 150, shape=6.0), pert_reference(10, 40, 150, 6.0)),
    "pert_mode_at_min": (Pert(0.0, 0.0, 1.0), pert_reference(0.0, 0.0, 1.0)),
    "triangular": (Triangular(0, 40, 150), stats.triang(40 / 150, loc=0, scale=150)),
    "uniform": (Uniform(60, 160), stats.uniform(60, 100)),
    "normal_truncated_lightly": (Normal(0.04, 0.04, -1.0, 100.0), truncnorm_reference(0.04, 0.04, -1.0, 100.0)),
    "normal_truncated_heavily": (Normal(0.0, 1.0, 0.5, 3.0), truncnorm_reference(0.0, 1.0, 0.5, 3.0)),
    "logitnormal": (LogitNormal(-2.0, 0.4), LogitNormalReference(-2.0, 0.4)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_ppf_matches_scipy(name):
    dist, ref = CASES[name]
    np.testing.assert_allclose(dist.ppf(GRID), ref.ppf(GRID), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_mean_matches_scipy(name):
    dist, ref = CASES[name]
    assert dist.mean() == pytest.approx(float(ref.mean()), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_generator_sample_passes_ks(name):
    dist, ref = CASES[name]
    values = dist.sample(np.random.default_rng(20240601), 20_000)
    lo, hi = dist.support
    assert np.all((values >= lo) & (values <= hi))
    assert stats.kstest(values, ref.cdf).pvalue > P_MIN


@pytest.mark.parametrize("name", list(CASES))
def test_inverse_cdf_sampling_passes_ks(name, make_scenario):
    """sample_inputs (the path simulate uses) draws by inverse CDF from the input's stream."""
    dist, ref = CASES[name]
    sc = make_scenario().with_inputs({"segments.smb.annual_churn": Fixed(0.2), "segments.smb.acv": dist})
    values = sample_inputs(sc, 20_000, np.random.SeedSequence(99), 0)["segments.smb.acv"]
    assert stats.kstest(values, ref.cdf).pvalue > P_MIN


def test_pert_mean_formula():
    for low, mode, high, shape in [(0.05, 0.1, 0.3, 4.0), (0, 1, 2, 4.0), (10, 12, 100, 2.5)]:
        assert Pert(low, mode, high, shape).mean() == pytest.approx((low + shape * mode + high) / (shape + 2))


def test_lognormal_from_p10_p90():
    dist = LogNormal.from_quantiles(45, 110, _Z80)
    assert dist.quantile(0.1) == pytest.approx(45, rel=1e-12)
    assert dist.quantile(0.9) == pytest.approx(110, rel=1e-12)
    assert dist.quantile(0.5) == pytest.approx(math.sqrt(45 * 110), rel=1e-12)


def test_ranges_written_in_a_scenario_hit_their_5_and_95_percentiles(make_scenario):
    """``range = [low, high]`` is a 90% range: logit-normal for a rate, lognormal for
    money, truncated normal for a growth rate."""
    sc = make_scenario({"segments": {"smb": {"annual_churn": {"range": [0.1, 0.3]},
                                             "acv": {"range": [1_500, 4_000]},
                                             "annual_expansion": {"range": [-0.05, 0.2]}}}})
    inputs = sc.inputs()
    churn, acv, expansion = (inputs[f"segments.smb.{k}"] for k in ("annual_churn", "acv", "annual_expansion"))
    assert isinstance(churn, LogitNormal) and isinstance(acv, LogNormal) and isinstance(expansion, Normal)
    for dist, low, high in ((churn, 0.1, 0.3), (acv, 1_500, 4_000), (expansion, -0.05, 0.2)):
        # the normal is truncated at -1 (expansion above -100%): its 5% point moves a hair
        assert dist.quantile(0.05) == pytest.approx(low, rel=1e-9, abs=1e-9)
        assert dist.quantile(0.95) == pytest.approx(high, rel=1e-9)
    assert churn.mu == pytest.approx(0.5 * (special.logit(0.1) + special.logit(0.3)))
    assert churn.sigma == pytest.approx((special.logit(0.3) - special.logit(0.1)) / (2 * _Z90))


def test_truncated_normal_respects_bounds_at_the_extremes():
    dist = Normal(0.0, 1.0, 0.5, 3.0)
    values = dist.ppf(np.array([0.0, 1e-300, 0.5, 1.0]))
    assert values[0] == pytest.approx(0.5) and values[-1] == pytest.approx(3.0)
    assert np.all((values >= 0.5) & (values <= 3.0))
    # bounds far in the tail: ppf(1) = ndtri(1) = inf must still land on the bound
    light = Normal(0.04, 0.04, -1.0, 100.0)
    assert light.ppf(np.array([0.0, 1.0])).tolist() == [-1.0, 100.0]
    ref = truncnorm_reference(0.0, 1.0, 0.5, 3.0)
    assert dist.mean() == pytest.approx(ref.mean(), rel=1e-12)
    # rejection branch (little is cut) and inverse-CDF branch (most is cut) both stay inside
    rng = np.random.default_rng(1)
    for d in (Normal(0.04, 0.04, 0.0, 100.0), Normal(5.0, 1.0, -1.0, 0.0)):
        x = d.sample(rng, 50_000)
        assert np.all((x >= d.low) & (x <= d.high))


def test_fixed_consumes_no_randomness():
    rng = np.random.default_rng(5)
    state = rng.bit_generator.state
    assert np.all(Fixed(3.0).sample(rng, 10) == 3.0)
    assert rng.bit_generator.state == state


def test_uniforms_never_reach_0_or_1(monkeypatch, make_scenario):
    """The extreme outputs of Generator.random (0 and 1 - 2**-53) must not map to ppf(0)
    or ppf(1), which are infinite for a lognormal."""

    class Extremes:
        def random(self, size):
            return np.resize([0.0, 1.0 - 2.0**-53], size)

    monkeypatch.setattr(sample_module, "input_stream", lambda *args: Extremes())
    sc = make_scenario({"segments": {"smb": {"acv": {"lognormal": {"median": 2_400, "sigma": 0.5}}}}})
    values = sample_inputs(sc, 4, np.random.SeedSequence(0), 0)["segments.smb.acv"]
    assert np.all(np.isfinite(values)) and np.all(values > 0)


# ---------------------------------------------------------------------------------------
# correlation: Gaussian copula with exact marginals
# ---------------------------------------------------------------------------------------
CORRELATED = {
    "segments": {"smb": {"annual_churn": {"beta": {"mean": 0.2, "concentration": 50}}}},
    "motions": {"self_serve": {"conversion": {"pert": {"min": 0.05, "mode": 0.1, "max": 0.2}}}},
    "correlations": [{"between": ["segments.smb.annual_churn", "motions.self_serve.conversion"],
                      "rank_correlation": -0.6}],
}
CHURN, CONVERSION = "segments.smb.annual_churn", "motions.self_serve.conversion"


def merge_horizon(overrides, horizon):
    return {**overrides, "scenario": {"horizon_months": horizon}}


def spearman_se(rho, n):
    return (1 - rho**2) * math.sqrt(1.06 / (n - 3))


def test_copula_gives_the_rank_correlation_and_keeps_marginals(make_scenario):
    sc = make_scenario(CORRELATED)
    n, rho = 50_000, -0.6
    values = sample_inputs(sc, n, np.random.SeedSequence(2024), 0)
    churn, conversion = values[CHURN], values[CONVERSION]
    realised = stats.spearmanr(churn, conversion).statistic
    assert abs(realised - rho) <= 4 * spearman_se(rho, n), (realised, spearman_se(rho, n))
    assert stats.kstest(churn, stats.beta(10, 40).cdf).pvalue > P_MIN
    assert stats.kstest(conversion, pert_reference(0.05, 0.1, 0.2).cdf).pvalue > P_MIN
    # the normal scores carry the Pearson correlation 2 sin(pi rho / 6) (Kruskal 1958)
    z = stats.norm.ppf(stats.beta(10, 40).cdf(churn)), stats.norm.ppf(pert_reference(0.05, 0.1, 0.2).cdf(conversion))
    r = 2 * math.sin(math.pi * rho / 6)
    assert abs(np.corrcoef(*z)[0, 1] - r) <= 4 * (1 - r**2) / math.sqrt(n)


def test_copula_across_blocks_of_a_simulation(make_scenario):
    """The correlation holds in simulate's output too (three blocks, each its own stream)."""
    sc = make_scenario(merge_horizon(CORRELATED, 1))
    ds = simkit.simulate(sc, draws=20_000, seed=8, keep_paths=False)
    realised = stats.spearmanr(ds["sampled"].sel(input=CHURN), ds["sampled"].sel(input=CONVERSION)).statistic
    assert abs(realised + 0.6) <= 4 * spearman_se(-0.6, 20_000)


def test_correlation_matrix_maps_spearman_to_pearson():
    from simkit.scenario.model import Correlation

    names, matrix = correlation_matrix([Correlation(("a", "b"), 0.5), Correlation(("b", "c"), -0.3)])
    assert names == ["a", "b", "c"]
    np.testing.assert_allclose(np.diag(matrix), 1.0)
    assert matrix[0, 1] == matrix[1, 0] == pytest.approx(2 * math.sin(math.pi * 0.5 / 6))
    assert matrix[1, 2] == pytest.approx(2 * math.sin(-math.pi * 0.3 / 6))
    assert matrix[0, 2] == 0.0


# ---------------------------------------------------------------------------------------
# common random numbers
# ---------------------------------------------------------------------------------------
INDEPENDENT = {
    "segments": {"smb": {"annual_churn": {"beta": {"mean": 0.2, "concentration": 50}},
                         "gross_margin": {"pert": {"min": 0.6, "mode": 0.7, "max": 0.8}}}},
    "motions": {"self_serve": {"conversion": {"beta": {"mean": 0.1, "concentration": 80}}}},
}


def _draws(sc, path, size=3_000, seed=11, block=0):
    return sample_inputs(sc, size, np.random.SeedSequence(seed), block)[path]


@pytest.mark.parametrize("base", [INDEPENDENT, CORRELATED], ids=["independent", "correlated"])
def test_adding_or_fixing_an_input_leaves_the_others_untouched(make_scenario, base):
    sc = make_scenario(base)
    more = make_scenario(base).with_inputs({
        "segments.smb.acv": LogNormal.from_median(2_400, 0.3),  # added uncertainty
        "motions.self_serve.cost_per_lead": Uniform(80, 120),
    })
    fixed = make_scenario(base).with_inputs({"segments.smb.gross_margin": Fixed(0.7)})
    for path in (CHURN, CONVERSION):
        reference = _draws(sc, path)
        np.testing.assert_array_equal(_draws(more, path), reference)
        np.testing.assert_array_equal(_draws(fixed, path), reference)
    # and the added input really is random, with its own stream
    acv = _draws(more, "segments.smb.acv")
    assert np.unique(acv).size == acv.size


def test_same_path_same_uniforms_under_a_harsher_distribution(make_scenario):
    """A stressed distribution sees the same uniform draw by draw: ranks are unchanged and
    every draw moves the same way (Beta with a higher mean dominates stochastically)."""
    sc = make_scenario(INDEPENDENT)
    harsh = sc.with_inputs({CHURN: Beta.from_mean(0.3, 50)})
    base, stressed = _draws(sc, CHURN), _draws(harsh, CHURN)
    np.testing.assert_array_equal(np.argsort(base), np.argsort(stressed))
    assert np.all(stressed > base)
    np.testing.assert_array_equal(_draws(harsh, CONVERSION), _draws(sc, CONVERSION))


def test_simulate_records_the_same_draws_for_a_shared_input(make_scenario):
    sc = make_scenario(merge_horizon(INDEPENDENT, 2))
    more = sc.with_inputs({"segments.smb.acv": LogNormal.from_median(2_400, 0.3)})
    a = simkit.simulate(sc, draws=9_000, seed=4)
    b = simkit.simulate(more, draws=9_000, seed=4)
    for path in (CHURN, CONVERSION):
        np.testing.assert_array_equal(a["sampled"].sel(input=path), b["sampled"].sel(input=path))


def test_blocks_and_paths_have_distinct_streams(make_scenario):
    sc = make_scenario(INDEPENDENT)
    assert not np.array_equal(_draws(sc, CHURN, block=0), _draws(sc, CHURN, block=1))
    # two inputs with the same distribution still get different uniforms
    same = sc.with_inputs({CONVERSION: Beta.from_mean(0.2, 50)})
    assert not np.array_equal(_draws(same, CHURN), _draws(same, CONVERSION))
    assert abs(stats.spearmanr(_draws(same, CHURN), _draws(same, CONVERSION)).statistic) < 4 * spearman_se(0, 3_000)


# --- the verified beta quantile table --------------------------------------------------------
@pytest.mark.parametrize("a, b", [(3.6, 196.4), (10, 90), (2, 3), (0.9, 30), (1.2, 4.8), (1e4, 1e4), (0.05, 5),
                                  (0.5, 0.5)])
def test_beta_quantile_agrees_with_betaincinv(a, b):
    from simkit.scenario.distributions import _TABLE_TOLERANCE, beta_quantile

    u = np.random.default_rng(7).random(200_000) + 2.0**-54
    u = np.concatenate([u, [2.0**-54, 1e-12, 0.5, 1 - 1e-12, 1 - 2.0**-53]])
    exact = special.betaincinv(a, b, u)
    fast = beta_quantile(a, b, u)
    assert np.all(np.abs(fast - exact) <= 2 * _TABLE_TOLERANCE * exact)
    assert np.all(np.diff(fast[np.argsort(u)]) >= 0)  # still monotone: common random numbers hold


def test_beta_quantile_falls_back_when_no_table_meets_the_tolerance():
    from simkit.scenario.distributions import _beta_quantile_table

    assert _beta_quantile_table(0.05, 5.0) is None  # knots underflow to x = 0
    assert _beta_quantile_table(14.0, 186.0) is not None
