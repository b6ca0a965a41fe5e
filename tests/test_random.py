"""The kernel's random streams against numpy's own generators, bit for bit.

simkit writes Philox4x64-10 and SFC64 out in numba (``simkit/_random.py``) so the month
loop can draw from per-(draw, stream) generators; numpy's implementations are the
independent reference.
"""

import numpy as np
import pytest

from simkit import _random

KEYS = [(0, 0), (0x0123456789ABCDEF, 0xFEDCBA9876543210), (2**64 - 1, 2**64 - 1)]
COUNTERS = [(0, 0, 0, 0), (5, 7, 11, 13), (2**64 - 2, 2**64 - 1, 2**63, 1), (2**64 - 1, 5, 0, 0)]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("counter", COUNTERS)
def test_philox_matches_numpy(key, counter):
    key = np.array(key, dtype=np.uint64)
    # numpy's Philox increments its counter before each block of four outputs.
    start = np.array(counter, dtype=np.uint64)
    expected = np.random.Philox(key=key, counter=start).random_raw(4)
    c0 = np.uint64((int(start[0]) + 1) % 2**64)
    c1 = start[1] if c0 != 0 else np.uint64((int(start[1]) + 1) % 2**64)
    got = _random.philox4x64(c0, c1, start[2], start[3], key[0], key[1])
    assert [int(x) for x in got] == [int(x) for x in expected]


@pytest.mark.parametrize("seed", [0, 42, 2**100 + 7])
def test_sfc64_matches_numpy(seed):
    words = np.random.SeedSequence(seed).generate_state(3, dtype=np.uint64)
    state = np.zeros(_random.STATE_WORDS, dtype=np.uint64)
    _random.set_sfc64(state, words[0], words[1], words[2])
    reference = np.random.SFC64(np.random.SeedSequence(seed))
    assert [int(x) for x in state] == [int(x) for x in reference.state["state"]["state"]]
    raw = [int(_random.next_uint64(state)) for _ in range(1_000)]
    assert raw == [int(x) for x in reference.random_raw(1_000)]


def test_doubles_match_numpy_generator_random():
    words = np.random.SeedSequence(9).generate_state(3, dtype=np.uint64)
    state = np.zeros(_random.STATE_WORDS, dtype=np.uint64)
    _random.set_sfc64(state, words[0], words[1], words[2])
    got = np.array([_random.next_double(state) for _ in range(1_000)])
    np.testing.assert_array_equal(got, np.random.Generator(np.random.SFC64(np.random.SeedSequence(9))).random(1_000))


def test_streams_are_a_function_of_key_draw_and_stream_only():
    key = _random.key_words(np.random.SeedSequence(5))

    def state_of(draw, stream, the_key=key):
        state = np.zeros(_random.STATE_WORDS, dtype=np.uint64)
        _random.seed_stream(state, the_key, draw, stream)
        return tuple(int(x) for x in state)

    assert state_of(41_007, 3) == state_of(41_007, 3)
    states = {state_of(draw, stream) for draw in range(200) for stream in range(6)}
    assert len(states) == 1_200  # every (draw, stream) its own
    assert state_of(0, 0) != state_of(0, 0, _random.key_words(np.random.SeedSequence(6)))


def test_uniforms_are_uniform_across_streams():
    """First uniform of each of 100,000 streams: uniform in every decile (chi-square) and
    no correlation between neighbouring draws' streams."""
    from scipy import stats

    key = _random.key_words(np.random.SeedSequence(8))
    firsts = np.empty(100_000)
    state = np.zeros(_random.STATE_WORDS, dtype=np.uint64)
    for draw in range(firsts.size):
        _random.seed_stream(state, key, draw, 1)
        firsts[draw] = _random.next_double(state)
    counts = np.bincount((firsts * 10).astype(int), minlength=10)
    assert stats.chisquare(counts).pvalue > 1e-3
    assert abs(np.corrcoef(firsts[:-1], firsts[1:])[0, 1]) < 4 / np.sqrt(firsts.size)
