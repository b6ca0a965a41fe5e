"""The kernel runs 8 draws at once; every draw must come out exactly as it does alone.

``tests/one_draw_kernel.py`` is the month loop one draw at a time (the kernel as it was
before it took 8 draws at once). Two implementations, one answer: on every scenario, with
and without process noise, and on a synthetic block built to send lanes of one group down
different paths at once (inversion and BTRD, symmetry for rates above one half, rates of
0 and 1, counts beyond int64, CS capacity limits, sales cycles, fractional leads, stage
switches, a partial last group), the outputs must be equal bit for bit.
"""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np
import one_draw_kernel  # noqa: E402  (tests/ is on the path, as for the other helpers)
import pytest

from simkit import _engine, _kernel, _lanes, _random, sample, simulation
from simkit._random import key_words
from simkit.scenario.load import load

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = [ROOT / "benchmarks" / "reference.toml",
             *sorted(Path(p) for p in glob.glob(str(ROOT / "scenarios" / "*.toml")))]


def _kernel_arguments(path, draws, noise, monkeypatch):
    """The kernel's arguments for the first block of ``path``, as the engine builds them."""
    scenario = load(path)
    root = np.random.SeedSequence(11)
    plan = _engine.Plan.from_scenario(scenario)
    captured = []

    def capture(*arguments):
        captured.append(arguments)
        raise _Captured

    with monkeypatch.context() as patch, pytest.raises(_Captured):
        patch.setattr(_kernel, "simulate_block", capture)
        _engine.run_block(plan, sample.sample_inputs(scenario, draws, root, 0),
                          simulation.noise_key(root) if noise else None, True)
    return list(captured[0])


class _Captured(Exception):
    """The kernel's arguments are in hand: the engine need not go on."""


def _outputs(kernel, arguments):
    """Run ``kernel`` on fresh copies of the outputs (filled with a sentinel first)."""
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in arguments]
    for output in copies[-5:]:
        output[...] = -7.0
    kernel(*copies)
    return copies[-5:]


def _assert_same(arguments):
    names = ("totals", "company", "stage_reached", "segment_paths", "company_paths")
    alone = _outputs(one_draw_kernel.simulate_block, arguments)
    lanes = _outputs(_kernel.simulate_block, arguments)
    for name, expected, actual in zip(names, alone, lanes):
        np.testing.assert_array_equal(actual, expected, err_msg=name)
    return alone


@pytest.mark.parametrize("noise", [True, False], ids=["noise", "expectations"])
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_gives_each_draw_what_it_gets_alone(path, noise, monkeypatch):
    totals, *_ = _assert_same(_kernel_arguments(path, 203, noise, monkeypatch))  # 25 groups of 8 and 3 draws
    assert np.all(totals[:, :, 4] >= 0) and np.any(totals[:, :, 4] > 0)


def _synthetic_block(draws=45, horizon=30, seed=5):
    """Kernel arguments whose lanes disagree: each group of 8 draws mixes every regime."""
    rng = np.random.default_rng(seed)
    n_segments, n_motions, n_stages = 3, 4, 3

    def pick(options, shape):
        return np.asarray(options, dtype=float)[rng.integers(len(options), size=shape)]

    shape = (draws, n_segments)
    churn = pick([0.0, 0.004, 0.02, 0.09, 0.3, 0.55, 0.8, 1.0], shape)
    start_customers = pick([0.0, 3.0, 40.0, 900.0, 60_000.0, 4e4, 1e19], shape)
    acv = rng.lognormal(np.log(20_000.0), 0.5, shape)
    arguments = dict(
        acv=acv, starting_acv=acv * pick([1.0, 0.8], shape), margin=pick([0.8, 0.6], shape),
        churn=churn, expansion=rng.normal(0.005, 0.003, shape),
        account_cost=pick([0.0, 20.0], shape), csm_cost=pick([0.0, 8_000.0], shape),
        accounts_per_csm=pick([0.0, 0.0, 40.0, 300.0], shape), uncovered_multiplier=pick([1.0, 2.5], shape),
        start_customers=start_customers,
    )
    motion_shape = (draws, n_motions)
    spend = np.stack([pick([0.0, 1_000.0, 25_000.0, 200_000.0], motion_shape) for _ in range(n_stages)], axis=1)
    spend[0, :, 2] = 1e23  # leads beyond int64 (two pieces of 2**62 and more) in one draw
    motion_cost = pick([100.0, 333.0, 7_000.0], motion_shape)
    motion_cost[0, 2] = 10.0
    motions = dict(
        cost_per_lead=motion_cost,
        conversion=pick([0.0, 0.02, 0.1, 0.35, 0.6, 1.0], motion_shape),
        sales_cost=pick([0.0, 3_000.0], motion_shape),
        lag=rng.integers(0, 4, motion_shape).astype(np.int64),
    )
    return [
        True, key_words(np.random.SeedSequence(seed)), 17, np.array([3, 9, 4, 12, 7, 1, 30], dtype=np.int64),
        horizon, True,
        *arguments.values(),
        motions["cost_per_lead"], motions["conversion"], motions["sales_cost"], motions["lag"],
        np.array([0, 1, 2, 0], dtype=np.int64),
        spend, rng.integers(0, 6, (draws, n_stages, n_segments)).astype(float), np.array([0.0, 2e6, 3e7]), 0,
        pick([0.0, 150_000.0], (draws,)), pick([0.0, 5e6], (draws,)),
        np.zeros((draws, n_segments, 7)), np.zeros((draws, 3)), np.zeros((draws, n_stages)),
        np.zeros((len(_engine.SEGMENT_PATHS), draws, n_segments, horizon)),
        np.zeros((len(_engine.COMPANY_PATHS), draws, horizon)),
    ]


@pytest.mark.parametrize("noise", [True, False], ids=["noise", "expectations"])
def test_lanes_going_different_ways_in_one_group_agree_with_one_draw_at_a_time(noise):
    arguments = _synthetic_block()
    arguments[0] = noise
    totals, company, stage_reached, segment_paths, _ = _assert_same(arguments)
    churn, customers = arguments[9], arguments[15]
    # The block did send lanes down each path the kernel has:
    assert np.any((churn > 0.5) & (churn < 1.0)) and np.any(churn == 1.0) and np.any(churn == 0.0)
    assert np.any(customers > 2.0**62) and np.any(customers * churn >= 22.0) and np.any((customers * churn > 0)
                                                                                       & (customers * churn < 22.0))
    assert np.any(segment_paths[7] < 1.0)  # coverage fell short somewhere
    assert np.any(np.isfinite(stage_reached[:, 1:]) & (stage_reached[:, 1:] > 0))  # a stage switch within the run


# Positions of the kernel's arguments that hold one row per draw (the paths: one column).
_PER_DRAW = (6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 25, 26, 27, 28, 29)
_FIRST_DRAW, _PATHS = 2, (30, 31)


def test_a_draw_alone_and_the_same_draw_in_a_group_of_8_agree():
    """Draw 4 of a block of 8, and the same draw as a block of its own (one real lane and
    7 padding lanes): the same figures, as its result depends on its inputs and index only."""
    arguments = _synthetic_block(draws=8)
    whole = _outputs(_kernel.simulate_block, arguments)
    alone = list(arguments)
    for i in _PER_DRAW:
        alone[i] = arguments[i][4:5].copy()
    for i in _PATHS:
        alone[i] = arguments[i][:, 4:5].copy()
    alone[_FIRST_DRAW] = arguments[_FIRST_DRAW] + 4  # its index in the run
    single = _outputs(_kernel.simulate_block, alone)
    for name, one, block in zip(("totals", "company", "stage_reached"), single[:3], whole[:3]):
        np.testing.assert_array_equal(one[0], block[4], err_msg=name)
    for one, block in zip(single[3:], whole[3:]):
        np.testing.assert_array_equal(one[:, 0], block[:, 4])


def test_vector_arithmetic_matches_one_draw_at_a_time_lane_by_lane():
    """The vector operators against numpy's scalar IEEE arithmetic, NaN and infinities
    included; != must hold for NaN, as Python's does."""
    from numba import njit

    @njit
    def operate(x, y, out, masks):
        a, b = _lanes.vload(x, 0), _lanes.vload(y, 0)
        for i, value in enumerate((a + b, a - b, a * b, a / b, 2.0 * a - 1, _lanes.vsqrt(b),
                                   _lanes.vfloor(a), _lanes.vabs(a), _lanes.select(a < b, a, b))):
            _lanes.vstore(out, 8 * i, value)
        for i, mask in enumerate((a < b, a > b, a <= b, a >= b, a == b, a != b, (a < b) & (a > 0.0),
                                  (a < b) | (a > 0.0))):
            masks[i] = _lanes.bits(mask)

    x = np.array([0.5, -3.25, np.nan, np.inf, 1e300, -0.0, 7.0, 2.0])
    y = np.array([0.25, 4.0, 1.0, np.inf, 1e-300, 0.0, np.nan, 2.0])
    out, masks = np.zeros(72), np.zeros(8, dtype=np.int64)
    with np.errstate(all="ignore"):
        operate(x, y, out, masks)
        expected = [x + y, x - y, x * y, x / y, 2.0 * x - 1, np.sqrt(y), np.floor(x), np.abs(x),
                    np.where(x < y, x, y)]
        compared = [x < y, x > y, x <= y, x >= y, x == y, x != y, (x < y) & (x > 0), (x < y) | (x > 0)]
    for i, values in enumerate(expected):
        np.testing.assert_array_equal(out[8 * i: 8 * i + 8], values, err_msg=f"operation {i}")
    for i, holds in enumerate(compared):
        assert masks[i] == sum(1 << k for k in range(8) if holds[k]), f"comparison {i}"


def _lanewise(function, x):
    from numba import njit

    @njit
    def apply(x, out):
        for i in range(0, x.size, 8):
            _lanes.vstore(out, i, function(_lanes.vload(x, i)))

    padded = np.concatenate([x, np.ones(-x.size % 8)])
    out = np.empty_like(padded)
    apply(padded, out)
    return out[: x.size]


def _assert_within_ulps(out, expected, most, mean):
    normal = np.isfinite(expected) & (np.abs(expected) >= np.finfo(float).tiny)
    ulps = np.abs(out[normal] - expected[normal]) / np.spacing(np.abs(expected[normal]))
    assert ulps.max() <= most, f"{ulps.max()} ulp"
    assert ulps.mean() < mean  # most results are libm's to the last bit
    return normal


def test_vector_exp_is_within_two_ulp_of_libm_and_exact_at_its_edges():
    """vexp (Cephes' rational approximation, 8 lanes) against numpy's exp: within 2 ulp
    wherever the result is a normal number, 0, infinity and NaN where exp gives them, and
    the subnormal results within one unit of the smallest subnormal."""
    rng = np.random.default_rng(20261124)
    # The inversions' range (n log(1 - q) >= -31), the whole finite range, the subnormal
    # results and the overflow edge, then the special values.
    x = np.concatenate([rng.uniform(-31.0, 0.0, 1 << 16), rng.uniform(-708.0, 709.0, 1 << 16),
                        rng.uniform(-745.5, -708.0, 1 << 12), rng.uniform(709.0, 710.0, 1 << 12),
                        rng.uniform(-1e-6, 1e-6, 1 << 12),
                        [np.nan, -np.inf, np.inf, 0.0, -0.0, -745.3, -745.1, 709.78, 709.79, 800.0, -800.0, 1e-300,
                         -1e-300, 5e-324, 1.0, -1.0]])
    out = _lanewise(_lanes.vexp, x)
    with np.errstate(over="ignore"):
        expected = np.exp(x)
    normal = _assert_within_ulps(out, expected, 2.0, 0.25)
    subnormal = ~normal & np.isfinite(expected)
    assert np.abs(out[subnormal] - expected[subnormal]).max() <= 5e-324
    np.testing.assert_array_equal(out[~np.isfinite(expected)], expected[~np.isfinite(expected)])
    assert out[x.size - 16 + 4] == 1.0 and out[x.size - 16 + 3] == 1.0  # exp(-0) and exp(0)


def test_vector_log_is_within_two_ulp_of_libm_and_exact_at_its_edges():
    """vlog (Cephes' atanh form, 8 lanes) against numpy's log: within 2 ulp over BTRD's
    test values (0 to a few), the whole positive range, subnormals and around 1; -inf,
    NaN and infinity where log gives them; log(1) = 0 exactly."""
    rng = np.random.default_rng(20261125)
    x = np.concatenate([rng.uniform(0.0, 3.0, 1 << 16), np.exp(rng.uniform(-700.0, 700.0, 1 << 16)),
                        10.0 ** rng.uniform(-323.0, -308.0, 1 << 12), rng.uniform(1 - 1e-6, 1 + 1e-6, 1 << 12),
                        rng.uniform(0.70, 0.72, 1 << 12),
                        [0.0, -0.0, -1.0, np.inf, -np.inf, np.nan, 1.0, 5e-324, 2.0, 0.5, np.e, np.finfo(float).max]])
    out = _lanewise(_lanes.vlog, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.log(x)
    _assert_within_ulps(out, expected, 2.0, 0.3)
    np.testing.assert_array_equal(out[~np.isfinite(expected)], expected[~np.isfinite(expected)])
    assert out[x.size - 6] == 0.0  # log(1)


def test_vector_gather_reads_each_lanes_entry():
    from numba import njit

    @njit
    def gather(table, at, out):
        _lanes.vstore(out, 0, _lanes.vgather(table, _lanes.vload(at, 0)))

    table = np.random.default_rng(3).normal(size=1000)
    at = np.array([0.0, 999.0, 5.0, 5.0, 17.0, 998.0, 1.0, 500.0])
    out = np.empty(8)
    gather(table, at, out)
    np.testing.assert_array_equal(out, table[at.astype(int)])


def test_the_kernels_disk_cache_is_stamped_with_every_file_its_code_comes_from(tmp_path, monkeypatch):
    """numba stamps a cached function with its own file only; the kernel inlines code from
    _random.py and _lanes.py, so its stamp must change when any of them does."""
    from simkit import _numba_cache

    locator = _kernel.simulate_block._cache._impl._locator
    assert isinstance(locator, _numba_cache._KernelSources)
    assert {p.name for p in _numba_cache.SOURCES} == {"_kernel.py", "_random.py", "_lanes.py"}
    dependency = tmp_path / "_lanes.py"
    dependency.write_text("one\n")
    monkeypatch.setattr(_numba_cache, "SOURCES", (*_numba_cache.SOURCES[:2], dependency))
    before = locator.get_source_stamp()
    dependency.write_text("two, longer\n")
    assert locator.get_source_stamp() != before
    # Functions of other files keep numba's own locators.
    assert not isinstance(_random.seed_stream._cache._impl._locator, _numba_cache._KernelSources)
