"""Where a draw's time goes: simkit's exact samplers and month loop, against the speed targets.

Prints, on this machine:

1. nanoseconds per variate of each exact sampler, in the regimes the reference model uses
   (``benchmarks/reference.toml``), and of ``numpy.random.Generator.binomial`` the way the
   numpy peer calls it (an array of probabilities, one variate per element);
2. how many variates of each kind one reference draw needs (from a simulated sample);
3. the kernel's microseconds per draw, with process noise and with every random count
   replaced by its expectation (the month loop alone);
4. the budget: what one third and one fifth of the numpy peer's time leave per draw, and
   what the exact variates alone cost at the measured speeds.

Run: python benchmarks/samplers.py [--numpy-peer-seconds 33.1]

The peer's time at 1M draws is an input (``benchmarks/run.py`` measures it; 33.1 s is the
figure in the README). The microbenchmarks call simkit's private samplers
(``simkit._kernel``) from a numba loop, one stream, the customer count changing from call to
call where the kernel's does (churn). Medians of 5 runs; the machine should be quiet.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from numba import njit

from simkit import _engine, _kernel, sample, simulation
from simkit._random import uniform
from simkit.scenario.load import load

REFERENCE = Path(__file__).resolve().parent / "reference.toml"
VARIATES = 2_000_000


def _stream():
    return np.uint64(0x243F6A8885A308D3), np.uint64(0x13198A2E03707344), np.uint64(0xA4093822299F31D0), np.uint64(1)


@njit
def _uniforms(count, n, p, stream):
    total = 0.0
    for _ in range(count):
        u, stream = uniform(stream)
        total += u
    return total


@njit
def _tables(count, n, p, stream):
    """The kernel's wins: one (n, p) prepared once, drawn from its guide table."""
    setups = np.zeros((1, _kernel._SETUP_SIZE))
    cdf = np.zeros((1, _kernel.TABLE_CAPACITY))
    guide = np.zeros((1, _kernel.TABLE_CAPACITY), dtype=np.int64)
    _kernel.prepare_binomial(n, p, setups[0], 10**9, cdf[0], guide[0])  # a table, whatever count
    total = 0
    for _ in range(count):
        k, stream = _kernel.table_variate(stream, cdf, guide, 0, setups)
        total += k
    return total


@njit
def _table_builds(count, n, p, stream):
    """Building one table (per draw and motion in the kernel)."""
    setup = np.zeros(_kernel._SETUP_SIZE)
    cdf = np.zeros(_kernel.TABLE_CAPACITY)
    guide = np.zeros(_kernel.TABLE_CAPACITY, dtype=np.int64)
    total = 0.0
    for i in range(count):
        _kernel.prepare_binomial(n, p * (1.0 + 1e-12 * (i & 1)), setup, 60, cdf, guide)
        total += setup[5]
    return total


@njit
def _at_rate(count, n, p, stream):
    """The kernel's churn: p prepared once, n different at every call (BTRD or inversion)."""
    setups = np.zeros((1, _kernel._RATE_SETUP_SIZE))
    _kernel.prepare_rate(p, setups[0])
    total = 0
    for i in range(count):
        k, stream = _kernel.binomial_at_rate(stream, n + (i & 15), setups, 0)
        total += k
    return total


def _time(function, count, n, p, repeats=5):
    function(10, n, p, _stream())  # compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(count, n, p, _stream())
        times.append(time.perf_counter() - start)
    return 1e9 * float(np.median(times)) / count


def _numpy_binomial(n, p, repeats=5):
    """Generator.binomial with an array of probabilities, as the numpy peer calls it."""
    rng = np.random.default_rng(1)
    probabilities = rng.beta(p * 200, (1 - p) * 200, VARIATES // 2)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        rng.binomial(n, probabilities)
        times.append(time.perf_counter() - start)
    return 1e9 * float(np.median(times)) / probabilities.size


def _regimes(scenario, draws=2_000):
    """Churn variates per draw by sampler (inversion when n q < 22, else BTRD) and win
    variates per draw, from a simulated sample of the reference model."""
    ds = simulation.simulate(scenario, draws=draws, seed=3, keep_paths=True)
    at_risk = (ds["customers"] + ds["churned"]).transpose("draw", "segment", "month").values
    rate = ds["input_monthly_churn"].transpose("draw", "segment").values
    expected = at_risk * np.minimum(rate, 1 - rate)[:, :, None]
    below = _kernel._INVERSION_BELOW
    inversion = ((at_risk > 0) & (expected < below)).sum(axis=(1, 2)).mean()
    btrd = (expected >= below).sum(axis=(1, 2)).mean()
    wins = len(scenario.motion_names) * scenario.horizon_months
    return inversion, btrd, wins


def _kernel_per_draw(scenario, draws=8_192, repeats=7):
    """Microseconds per draw of ``_kernel.simulate_block`` on one block, with and without
    process noise (min over repeats: the kernel alone, as quiet as the machine allows)."""
    root = np.random.SeedSequence(1)
    plan = _engine.Plan.from_scenario(scenario)
    values = sample.sample_inputs(scenario, draws, root, 0)
    captured = {}
    kernel = _kernel.simulate_block

    def capture(*arguments):
        captured["arguments"] = list(arguments)
        return kernel(*arguments)

    _kernel.simulate_block = capture
    try:
        _engine.run_block(plan, values, simulation.noise_key(root), keep_paths=False)
    finally:
        _kernel.simulate_block = kernel
    arguments = captured["arguments"]
    result = {}
    for noise in (True, False):
        arguments[0] = noise
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            kernel(*arguments)
            times.append(time.perf_counter() - start)
        result[noise] = 1e6 * min(times) / draws
    return result[True], result[False]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numpy-peer-seconds", type=float, default=33.1,
                        help="the numpy peer's whole-process time at 1M draws (benchmarks/run.py)")
    args = parser.parse_args(argv)
    scenario = load(REFERENCE)

    print("1. Exact samplers, nanoseconds per variate (median of 5; one stream, numba loop)")
    rows = [
        ("one uniform (SFC64)", _time(_uniforms, VARIATES, 0, 0.0)),
        ("wins, smb: table, Binomial(2000, 10%)", _time(_tables, VARIATES, 2_000, 0.10)),
        ("wins, mid_market: table, Binomial(150, 30%)", _time(_tables, VARIATES, 150, 0.30)),
        ("table build, Binomial(2000, 10%) (once a draw)", _time(_table_builds, VARIATES // 200, 2_000, 0.10)),
        ("churn, smb late: BTRD, n ~ 7,000, q = 1.8%", _time(_at_rate, VARIATES, 7_000, 0.018)),
        ("churn, smb months 4-12: BTRD, n ~ 2,000, q = 1.8%", _time(_at_rate, VARIATES, 2_000, 0.018)),
        ("churn, mid_market late: inversion, n ~ 1,500, q = 1.0%", _time(_at_rate, VARIATES, 1_500, 0.010)),
        ("churn, mid_market early: inversion, n ~ 500, q = 1.0%", _time(_at_rate, VARIATES, 500, 0.010)),
        ("churn, enterprise: inversion, n ~ 150, q = 0.6%", _time(_at_rate, VARIATES, 150, 0.006)),
        ("numpy Generator.binomial(2000, array of p ~ 10%)", _numpy_binomial(2_000, 0.10)),
        ("numpy Generator.binomial(7000, array of p ~ 1.8%)", _numpy_binomial(7_000, 0.018)),
        ("numpy Generator.binomial(150, array of p ~ 0.6%)", _numpy_binomial(150, 0.006)),
    ]
    for label, ns in rows:
        print(f"   {label:<58s} {ns:8.1f} ns")
    cost = dict(rows)

    inversion, btrd, wins = _regimes(scenario)
    print("\n2. Variates per reference draw (from 2,000 simulated draws)")
    print(f"   wins (tables): {wins}   churn by inversion: {inversion:.0f}   churn by BTRD: {btrd:.0f}")

    with_noise, without_noise = _kernel_per_draw(scenario)
    print("\n3. Kernel, microseconds per draw (one 8,192-draw block, min of 7)")
    print(f"   with process noise: {with_noise:.1f}   counts at their expectation (the month loop alone): "
          f"{without_noise:.1f}   so the randomness costs {with_noise - without_noise:.1f}")

    churn_btrd = cost["churn, smb late: BTRD, n ~ 7,000, q = 1.8%"]
    churn_inversion = cost["churn, mid_market early: inversion, n ~ 500, q = 1.0%"]
    table = cost["wins, smb: table, Binomial(2000, 10%)"]
    builds = sum(_time(_table_builds, VARIATES // 200, n, p) for n, p in ((2_000, 0.10), (150, 0.30), (20, 0.20)))
    variates = (btrd * churn_btrd + inversion * churn_inversion + wins * table + builds) / 1e3
    outside = 1.5 + 1.0  # us a draw outside the kernel; ~1 s of fixed costs a process, over 1M draws
    peer = args.numpy_peer_seconds  # seconds at 1M draws = microseconds a draw
    print(f"\n4. Budget at 1M draws: the numpy peer takes {peer:.1f} s, {peer:.1f} us a draw")
    print(f"   target 1/3 with one worker:  {peer / 3:.1f} us a draw for the whole process")
    print(f"   target 1/5 with two workers: {peer / 5:.1f} us a draw of wall time, {peer / 5 * 1.8:.1f} us of one "
          "worker's time at the measured 1.8x")
    print(f"   simkit's exact variates at the speeds in 1.: {variates:.1f} us a draw ({btrd:.0f} x {churn_btrd:.0f} + "
          f"{inversion:.0f} x {churn_inversion:.0f} ns of churn, {wins} x {table:.0f} ns of wins, "
          f"{builds:.0f} ns of table builds); inside the kernel they cost {with_noise - without_noise:.1f}")
    print(f"   the month loop with counts at their expectation: {without_noise:.1f} us a draw")
    print(f"   outside the kernel (inputs, metrics, fixed costs of about 1 s a process): about {outside:.1f} us a draw")
    floor = min(variates, with_noise - without_noise) + without_noise + outside
    print(f"   => with these samplers simkit needs at least {floor:.1f} us a draw, {floor / peer:.2f} of the peer "
          f"with one worker and about {floor / 1.8 / peer:.2f} with two")

if __name__ == "__main__":
    main()
