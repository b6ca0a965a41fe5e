"""Process-noise streams for the compiled kernel: one per (draw, stream) pair.

Each simulated future (a draw) gets one random stream per motion (its leads and wins) and
one per segment (its churn). A stream is an SFC64 generator whose 256-bit state is set by
Philox4x64-10 applied to the counter ``(draw, stream, 0, 0)`` under the run's key,
a 128-bit key taken from the run's ``numpy.random.SeedSequence``:

* the noise of draw 41,007 is a function of (seed, 41,007) alone, so no block size, chunk
  size, worker count or scheduler can change it;
* a shock to one segment (stress, compare) leaves the streams of every other segment and
  every motion untouched, so their futures are the same luck, not fresh luck;
* the generators are numpy's own algorithms, written out in numba so the kernel can keep
  the state close at hand (a call through ``numpy.random.Generator`` costs about 6 ns a
  uniform, SFC64 inline about 1 ns). ``tests/test_random.py`` checks both bit for bit
  against ``numpy.random.Philox`` and ``numpy.random.SFC64``.

Seeding SFC64 from Philox output and discarding the first 12 outputs is how numpy seeds
SFC64 from a SeedSequence; Philox, a keyed bijection of the 256-bit counter, gives every
(draw, stream) pair a distinct, unrelated starting state (J. K. Salmon et al., "Parallel
random numbers: as easy as 1, 2, 3", SC 2011).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_PHILOX_M0 = np.uint64(0xD2E7470EE14C6C93)
_PHILOX_M1 = np.uint64(0xCA5A826395121157)
_PHILOX_W0 = np.uint64(0x9E3779B97F4A7C15)
_PHILOX_W1 = np.uint64(0xBB67AE8584CAA73B)
_U11 = np.uint64(11)
_U3 = np.uint64(3)
_U24 = np.uint64(24)
_U40 = np.uint64(40)
_ONE = np.uint64(1)
_TO_DOUBLE = 1.0 / 9007199254740992.0  # 2**-53, as numpy's next_double

#: Key words per run (two uint64, from the SeedSequence).
KEY_WORDS = 2
#: uint64 words of one stream's state (SFC64: a, b, c, counter).
STATE_WORDS = 4


def key_words(seed_sequence: np.random.SeedSequence) -> np.ndarray:
    """A 128-bit Philox key, two uint64 words, from a SeedSequence."""
    return seed_sequence.generate_state(KEY_WORDS, dtype=np.uint64)


@intrinsic
def _mulhilo(typingctx, a, b):
    """High and low 64 bits of the 128-bit product of two uint64: one ``mul`` instruction,
    where splitting into 32-bit halves took four multiplies and a dozen adds and shifts."""
    if a != types.uint64 or b != types.uint64:
        return None
    signature = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context, builder, sig, args):
        wide = ir.IntType(128)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        high = builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))
        low = builder.trunc(product, ir.IntType(64))
        return context.make_tuple(builder, sig.return_type, (high, low))

    return signature, codegen


@njit(cache=True)
def philox4x64(c0, c1, c2, c3, k0, k1):
    """Philox4x64 with 10 rounds of the counter (c0..c3) under the key (k0, k1)."""
    for i in range(10):
        if i > 0:
            k0 += _PHILOX_W0
            k1 += _PHILOX_W1
        high0, low0 = _mulhilo(_PHILOX_M0, c0)
        high1, low1 = _mulhilo(_PHILOX_M1, c2)
        c0, c1, c2, c3 = high1 ^ c1 ^ k0, low1, high0 ^ c3 ^ k1, low0
    return c0, c1, c2, c3


@njit(cache=True, inline="always")
def step(stream):
    """SFC64 on a stream held as a tuple (a, b, c, counter): its next 64 bits and the
    stream after them. The month loop keeps streams as tuples of integers, not arrays: an
    array handed to an inlined function costs numba a reference count on every call."""
    a, b, c, w = stream
    out = a + b + w
    return out, (b ^ (b >> _U11), c + (c << _U3), ((c << _U24) | (c >> _U40)) + out, w + _ONE)


@njit(cache=True, inline="always")
def uniform(stream):
    """A uniform on [0, 1) with 53 random bits, as ``numpy.random.Generator.random``, and
    the stream after it."""
    out, stream = step(stream)
    return np.float64(out >> _U11) * _TO_DOUBLE, stream


@njit(cache=True, inline="always")
def load(states, row):
    """Stream ``row`` of a (streams, 4) state array, as a tuple."""
    return states[row, 0], states[row, 1], states[row, 2], states[row, 3]


@njit(cache=True, inline="always")
def store(states, row, stream):
    states[row, 0], states[row, 1], states[row, 2], states[row, 3] = stream


@njit(cache=True)
def next_uint64(state):
    """SFC64: the next 64 bits of the stream whose state (a, b, c, counter) is ``state``."""
    out, stream = step((state[0], state[1], state[2], state[3]))
    state[0], state[1], state[2], state[3] = stream
    return out


@njit(cache=True)
def next_double(state):
    """A uniform on [0, 1) with 53 random bits, as ``numpy.random.Generator.random``."""
    u, stream = uniform((state[0], state[1], state[2], state[3]))
    state[0], state[1], state[2], state[3] = stream
    return u


@njit(cache=True)
def set_sfc64(state, a, b, c):
    """Seed a stream as numpy seeds SFC64: counter 1, then 12 outputs discarded."""
    stream = (a, b, c, _ONE)
    for _ in range(12):
        _, stream = step(stream)
    state[0], state[1], state[2], state[3] = stream


@njit(cache=True)
def seed_stream(state, key, draw, stream):
    """Point a stream's ``state`` at the noise of (draw, stream)."""
    a, b, c, _ = philox4x64(np.uint64(draw), np.uint64(stream), np.uint64(0), np.uint64(0), key[0], key[1])
    set_sfc64(state, a, b, c)
