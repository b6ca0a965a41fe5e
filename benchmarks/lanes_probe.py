"""Probe: the reference model with 8 draws in the lanes of LLVM vectors, in numba.

A planning measurement for a batched kernel (docs/design.md, Known limits), in the language
the kernel is written in. The reference model's month loop as ``simulate_block`` runs it
(wins by table lookup, churn by inversion or BTRD, revenue kept and grown, spend, sales and
CS costs, cash, runway and the seven running totals a segment; without the stages, lags,
CS coverage and kept paths the reference does not use) runs two ways on the same draws:

* draw by draw, calling the kernel's own samplers (``simkit._kernel``);
* 8 draws at a time, each quantity one ``<8 x double>`` or ``<8 x i64>`` value built by
  ``numba.extending.intrinsic`` (numba has no vector type of its own, and LLVM's SLP
  vectoriser, which numba leaves off, did not pack this code when tried). SFC64, churn's
  branch-free inversion and BTRD's first test run in the lanes; a lane that needs more (an
  inversion past its branch-free steps, a rejected BTRD proposal) finishes on its own,
  found by a bit mask; wins stay one lookup a lane (gathers are slower than scalar loads
  here, see simd_probe.c).

The month's arithmetic around churn (``_month_start``, ``_month_end``) is written once, for
one draw, and compiled for 8 lanes too: Python's operators are overloaded on the vector
types, so a function numba types with float64 arguments also types with vectors. That is
how a batched kernel could stay one copy of the model.

Each lane computes the same IEEE operations as its draw does alone, so the two must agree
bit for bit (every total and company figure): the probe prints both times and exits 1 if
any draw differs. The draw-by-draw loop also agrees with ``simulate_block`` itself
(tests/test_benchmark_lanes_probe.py).

Run: python benchmarks/lanes_probe.py [--draws 8192] [--repeats 9]
"""

from __future__ import annotations

import argparse
import inspect
import math
import operator
import sys
import time

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, models, overload, register_model

from simkit import _kernel as kernel
from simkit import _random
from simkit._random import STATE_WORDS, load, seed_stream, store

LANES = 8
SEGMENTS = 3
LEADS = np.array([2000, 150, 20], dtype=np.int64)  # benchmarks/reference.toml
CONVERSION = ((0.10, 100.0), (0.30, 100.0), (0.20, 100.0))  # mean, concentration
CHURN = ((0.018, 200.0), (0.010, 200.0), (0.006, 200.0))
# median ACV, mean monthly expansion, cost a lead, sales cost a won deal
ECONOMICS = ((2_400.0, 0.0, 100.0, 0.0), (20_000.0, 0.008, 500.0, 3_000.0), (200_000.0, 0.015, 10_000.0, 40_000.0))
HORIZON = 60


# --- vector values ---------------------------------------------------------------------------

class _Doubles(types.Type):
    def __init__(self):
        super().__init__(name="Doubles8")


class _Words(types.Type):
    def __init__(self):
        super().__init__(name="Words8")


DOUBLES, WORDS = _Doubles(), _Words()
_DOUBLE_VECTOR = ir.VectorType(ir.DoubleType(), LANES)
_WORD_VECTOR = ir.VectorType(ir.IntType(64), LANES)


@register_model(_Doubles)
class _DoublesModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _DOUBLE_VECTOR)


@register_model(_Words)
class _WordsModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _WORD_VECTOR)


def _pointer(context, builder, array_type, array, start, vector):
    view = context.make_array(array_type)(context, builder, array)
    item = cgutils.get_item_pointer(context, builder, array_type, view, [start], wraparound=False)
    return builder.bitcast(item, vector.as_pointer())


@intrinsic
def vload(typingctx, array, start):
    """Eight consecutive float64 (or uint64) of a 1-d array from ``start``."""
    vector, kind = (_DOUBLE_VECTOR, DOUBLES) if array.dtype == types.float64 else (_WORD_VECTOR, WORDS)

    def codegen(context, builder, sig, args):
        return builder.load(_pointer(context, builder, sig.args[0], args[0], args[1], vector), align=8)

    return kind(array, start), codegen


@intrinsic
def vstore(typingctx, array, start, value):
    vector = _DOUBLE_VECTOR if array.dtype == types.float64 else _WORD_VECTOR

    def codegen(context, builder, sig, args):
        builder.store(args[2], _pointer(context, builder, sig.args[0], args[0], args[1], vector), align=8)
        return context.get_dummy_value()

    return types.none(array, start, value), codegen


@intrinsic
def splat(typingctx, x):
    """One number in every lane."""
    def codegen(context, builder, sig, args):
        value = args[0]
        if isinstance(sig.args[0], types.Integer):
            value = builder.sitofp(value, ir.DoubleType())
        out = ir.Constant(_DOUBLE_VECTOR, ir.Undefined)
        for i in range(LANES):
            out = builder.insert_element(out, value, ir.Constant(ir.IntType(32), i))
        return out

    return DOUBLES(x), codegen


def _arithmetic(instruction):
    @intrinsic
    def operation(typingctx, a, b):
        def codegen(context, builder, sig, args):
            return getattr(builder, instruction)(*args)

        return DOUBLES(DOUBLES, DOUBLES), codegen

    return operation


add, subtract, multiply, divide = (_arithmetic(name) for name in ("fadd", "fsub", "fmul", "fdiv"))


def _lanewise(llvm_name):
    @intrinsic
    def operation(typingctx, a):
        def codegen(context, builder, sig, args):
            function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_DOUBLE_VECTOR, [_DOUBLE_VECTOR]),
                                                      llvm_name)
            return builder.call(function, [args[0]])

        return DOUBLES(DOUBLES), codegen

    return operation


# LLVM calls libm's exp lane by lane (the same function numba's math.exp calls).
vexp, vsqrt, vfloor, vabs = (_lanewise(f"llvm.{name}.v8f64") for name in ("exp", "sqrt", "floor", "fabs"))


def _choice(predicate):
    @intrinsic
    def operation(typingctx, a, b, x, y):
        """x where ``a <predicate> b`` holds, else y, lane by lane (x and y doubles or words)."""
        def codegen(context, builder, sig, args):
            return builder.select(builder.fcmp_ordered(predicate, args[0], args[1]), args[2], args[3])

        return x(DOUBLES, DOUBLES, x, x), codegen

    return operation


where_less, where_greater, where_at_most, where_at_least = (_choice(p) for p in ("<", ">", "<=", ">="))


def _bits(predicate):
    @intrinsic
    def operation(typingctx, a, b):
        """Lane i of ``a <predicate> b`` as bit i of an integer."""
        def codegen(context, builder, sig, args):
            holds = builder.fcmp_ordered(predicate, args[0], args[1])
            return builder.zext(builder.bitcast(holds, ir.IntType(LANES)), ir.IntType(64))

        return types.int64(DOUBLES, DOUBLES), codegen

    return operation


bits_less, bits_greater, bits_at_least = (_bits(p) for p in ("<", ">", ">="))


@intrinsic
def lowest_bit(typingctx, bits):
    def codegen(context, builder, sig, args):
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(64), [ir.IntType(64), ir.IntType(1)]), "llvm.cttz.i64")
        return builder.call(function, [args[0], ir.Constant(ir.IntType(1), 1)])

    return types.int64(types.int64), codegen


@intrinsic
def lane(typingctx, vector, i):
    def codegen(context, builder, sig, args):
        return builder.extract_element(args[0], args[1])

    return (types.float64 if vector == DOUBLES else types.uint64)(vector, i), codegen


@intrinsic
def with_lane(typingctx, vector, i, x):
    def codegen(context, builder, sig, args):
        return builder.insert_element(args[0], args[2], args[1])

    return vector(vector, i, x), codegen


@intrinsic
def uniforms(typingctx, a, b, c, counter):
    """SFC64 in every lane (``_random.step``), and its output as ``_random.uniform`` makes
    it a double: (uniforms, a, b, c, counter)."""
    signature = types.Tuple((DOUBLES, WORDS, WORDS, WORDS, WORDS))(WORDS, WORDS, WORDS, WORDS)

    def codegen(context, builder, sig, args):
        a, b, c, counter = args

        def every(n):
            return ir.Constant(_WORD_VECTOR, [n] * LANES)

        out = builder.add(builder.add(a, b), counter)
        next_a = builder.xor(b, builder.lshr(b, every(11)))
        next_b = builder.add(c, builder.shl(c, every(3)))
        next_c = builder.add(builder.or_(builder.shl(c, every(24)), builder.lshr(c, every(40))), out)
        u = builder.fmul(builder.uitofp(builder.lshr(out, every(11)), _DOUBLE_VECTOR),
                         ir.Constant(_DOUBLE_VECTOR, [2.0**-53] * LANES))
        return context.make_tuple(builder, sig.return_type, (u, next_a, next_b, next_c, builder.add(counter, every(1))))

    return signature, codegen


# --- one source for both: Python's operators on the vectors ----------------------------------
# With these, a function written for one draw (``_month_start``, ``_month_end``) compiles for
# 8 lanes unchanged: numba types it once with float64 arguments and once with vectors. A
# comparison of vectors is a mask of 8 bits; ``select`` picks lane by lane, and for one draw
# it is ``x if m else y``. Both compute every operand (a division by zero in the lane not
# picked is harmless: ``error_model="numpy"``), so each lane computes what its draw does.

class _Mask(types.Type):
    def __init__(self):
        super().__init__(name="Mask8")


MASK = _Mask()


@register_model(_Mask)
class _MaskModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, ir.VectorType(ir.IntType(1), LANES))


def _comparison(predicate):
    @intrinsic
    def operation(typingctx, a, b):
        def codegen(context, builder, sig, args):
            return builder.fcmp_ordered(predicate, args[0], args[1])

        return MASK(DOUBLES, DOUBLES), codegen

    return operation


@intrinsic
def _select_lanes(typingctx, mask, x, y):
    def codegen(context, builder, sig, args):
        return builder.select(*args)

    return DOUBLES(MASK, DOUBLES, DOUBLES), codegen


def _overload_on_vectors(operator_function, vector_function):
    """``operator_function`` (say ``operator.add``) on two vectors, or a vector and a number."""
    @overload(operator_function)
    def on_vectors(a, b):
        number = (types.Float, types.Integer)
        if a == DOUBLES and b == DOUBLES:
            return lambda a, b: vector_function(a, b)
        if a == DOUBLES and isinstance(b, number):
            return lambda a, b: vector_function(a, splat(b))
        if isinstance(a, number) and b == DOUBLES:
            return lambda a, b: vector_function(splat(a), b)
        return None


for _function, _vector in ((operator.add, add), (operator.sub, subtract), (operator.mul, multiply),
                           (operator.truediv, divide), (operator.lt, _comparison("<")),
                           (operator.gt, _comparison(">")), (operator.le, _comparison("<=")),
                           (operator.ge, _comparison(">="))):
    _overload_on_vectors(_function, _vector)


def select(mask, x, y):
    """x where ``mask`` holds, else y (lane by lane for vectors); numba only."""
    raise NotImplementedError("select is for numba-compiled code")


@overload(select)
def _select(mask, x, y):
    if mask == MASK:
        return lambda mask, x, y: _select_lanes(mask, _as_lanes(x), _as_lanes(y))
    if isinstance(mask, types.Boolean):
        return lambda mask, x, y: x if mask else y
    return None


def _as_lanes(x):
    raise NotImplementedError("_as_lanes is for numba-compiled code")


@overload(_as_lanes)
def _as_lanes_overload(x):
    if x == DOUBLES:
        return lambda x: x
    if isinstance(x, (types.Float, types.Integer)):
        return lambda x: splat(x)
    return None


# --- finishing one lane with the kernel's own code --------------------------------------------

def _btrd_from_proposal():
    """``kernel._btrd`` with its first uniform given (the lanes drew it): the kernel's own
    source with one line changed, so there is no second BTRD to drift."""
    source = inspect.getsource(kernel._btrd.py_func)
    head = "    while True:\n        v, stream = uniform(stream)\n"
    if head not in source:
        raise RuntimeError("kernel._btrd no longer starts its loop as this probe expects")
    source = source.split("\n", 1)[1].replace("def _btrd(stream, n, p, spq, r, log_r):",
                                              "def btrd_from(stream, n, p, spq, r, log_r, proposal):")
    source = source.replace(head, "    first = True\n    while True:\n        if first:\n            v = proposal\n"
                                  "            first = False\n        else:\n            v, stream = uniform(stream)\n")
    namespace = dict(vars(kernel), uniform=_random.uniform)
    exec(compile(source, "<kernel._btrd from a proposal>", "exec"), namespace)
    return njit(namespace["btrd_from"])


btrd_from = _btrd_from_proposal()


@njit
def inversion_from(u, f, k, n, q, ratio, log_one_minus_q, stream):
    """``kernel._inversion`` from where the lanes' branch-free steps left it."""
    k = np.int64(k)
    if k <= n:
        k, spent = kernel._search_on(u, f, k, n, ratio)
        if spent:
            return float(k), stream
    k, stream = kernel._inversion(stream, n, q, math.exp(n * log_one_minus_q), ratio)  # round-off: draw again
    return float(k), stream


@njit(inline="always")
def _count(bits):
    n = 0
    while bits:
        bits &= bits - 1
        n += 1
    return n


# --- the model, draw by draw and 8 draws at a time ---------------------------------------------

# Per (draw, segment) economics, the columns of ``economics``; the results, the columns of
# ``totals`` (as simulate_block's) and of ``company``.
COLUMNS = 7
ACV, MARGIN, EXPANSION, SPEND, SALES_COST, ACCOUNT_COST, CSM_COST = range(COLUMNS)
TOTALS = 7  # CAC spend, wins, customer-months, churned, revenue, CS cost, last month's revenue
COMPANY = 3  # runway, lowest cash, final cash


@njit(inline="always", error_model="numpy")
def _month_start(customers, mrr, won, spend, sales_cost, acv, csm_cost, account_cost):
    """A segment's month up to churn, for one draw or for 8: (acquisition spend, customers,
    this month's MRR, CS cost)."""
    customers = customers + won
    return spend + won * sales_cost, customers, mrr + won * acv / 12.0, csm_cost + customers * account_cost


@njit(inline="always", error_model="numpy")
def _month_end(customers, churned, monthly, acquisition, cs_cost, margin, expansion, cash):
    """A segment's month after churn, for one draw or for 8: (customers, next month's MRR,
    cash): the survivors keep their share of MRR and it grows by the expansion rate."""
    kept = select(customers > 0.0, (customers - churned) / customers, 0.0)
    cash = cash + (margin * monthly - acquisition - cs_cost)
    return customers - churned, monthly * kept * (1.0 + expansion), cash


@njit(error_model="numpy")  # _month_end divides in the lane it does not pick
def draw_by_draw(key, conversion, churn, economics, leads, horizon, totals, company):
    """The month loop of ``simulate_block`` for this model, one draw at a time."""
    draws, segments = conversion.shape
    setup = np.zeros((segments, kernel._SETUP_SIZE))
    cdf = np.zeros((segments, kernel.TABLE_CAPACITY))
    guide = np.zeros((segments, kernel.TABLE_CAPACITY), dtype=np.int64)
    rate = np.zeros((segments, kernel._RATE_SETUP_SIZE))
    state = np.zeros((2 * segments, STATE_WORDS), dtype=np.uint64)
    active = np.zeros(segments)
    mrr = np.zeros(segments)
    landed = np.zeros(segments)
    running = np.zeros((segments, TOTALS))
    for d in range(draws):
        for i in range(2 * segments):
            seed_stream(state[i], key, d, i)
        running[:, :] = 0.0
        for s in range(segments):
            active[s] = 0.0
            mrr[s] = 0.0
            kernel.prepare_binomial(leads[s], conversion[d, s], setup[s], horizon, cdf[s], guide[s])
            rate[s, 0] = -1.0
        cash = cash_low = 0.0
        runway = np.inf
        for t in range(horizon):
            for s in range(segments):
                stream = load(state, s)
                won, stream = kernel.table_variate(stream, cdf, guide, s, setup)
                store(state, s, stream)
                landed[s] = won
                running[s, 0] += economics[d, s, SPEND] + economics[d, s, SALES_COST] * won
                running[s, 1] += won
            for s in range(segments):
                acquisition, customers, revenue, cs_cost = _month_start(
                    active[s], mrr[s], landed[s], economics[d, s, SPEND], economics[d, s, SALES_COST],
                    economics[d, s, ACV], economics[d, s, CSM_COST], economics[d, s, ACCOUNT_COST])
                monthly_churn = min(1.0, churn[d, s])
                if rate[s, 0] != monthly_churn:
                    kernel.prepare_rate(monthly_churn, rate[s])
                stream = load(state, segments + s)
                churned, stream = kernel.binomial_at_rate(stream, np.int64(customers), rate, s)
                store(state, segments + s, stream)
                running[s, 2] += customers
                running[s, 3] += churned
                running[s, 4] += revenue
                running[s, 5] += cs_cost
                running[s, 6] = revenue
                active[s], mrr[s], cash = _month_end(customers, float(churned), revenue, acquisition, cs_cost,
                                                     economics[d, s, MARGIN], economics[d, s, EXPANSION], cash)
            if cash < 0.0 and runway == np.inf:
                runway = float(t)
            cash_low = min(cash_low, cash)
        totals[d, :, :] = running
        company[d, 0] = runway
        company[d, 1] = cash_low
        company[d, 2] = cash


@njit(error_model="numpy")
def in_lanes(key, conversion, churn, economics, leads, horizon, totals, company, paths):
    """The same, 8 draws at a time. ``paths`` counts lanes that: inverted, continued an
    inversion, accepted BTRD's first proposal, finished a rejected one."""
    draws, segments = conversion.shape
    setup = np.zeros((LANES * segments, kernel._SETUP_SIZE))
    cdf = np.zeros((LANES * segments, kernel.TABLE_CAPACITY))
    guide = np.zeros((LANES * segments, kernel.TABLE_CAPACITY), dtype=np.int64)
    rate = np.zeros((LANES * segments, kernel._RATE_SETUP_SIZE))
    wins_state = np.zeros((LANES * segments, STATE_WORDS), dtype=np.uint64)
    churn_state = np.zeros(segments * STATE_WORDS * LANES, dtype=np.uint64)  # [segment, word, lane]
    seeded = np.zeros(STATE_WORDS, dtype=np.uint64)
    # [segment, lane]: customers, MRR and churn's set-up terms
    active = np.zeros(segments * LANES)
    mrr = np.zeros(segments * LANES)
    q = np.zeros(segments * LANES)
    ratio = np.zeros(segments * LANES)
    log_one_minus_q = np.zeros(segments * LANES)
    q_one_minus_q = np.zeros(segments * LANES)
    log_ratio = np.zeros(segments * LANES)
    wins = np.zeros(LANES)
    # [segment, column, lane]: the economics, transposed so a column's 8 lanes are adjacent
    lanes_economics = np.zeros(segments * COLUMNS * LANES)
    running = np.zeros(segments * TOTALS * LANES)  # [segment, total, lane]
    rate_p = np.zeros(segments * LANES)
    churn_rate = np.zeros(segments * LANES)
    zero, inversion_below = splat(0.0), splat(kernel._INVERSION_BELOW)
    for first in range(0, draws, LANES):
        for g in range(LANES):
            for s in range(segments):
                row, at = g * segments + s, s * LANES + g
                seed_stream(wins_state[row], key, first + g, s)
                seed_stream(seeded, key, first + g, segments + s)
                for word in range(STATE_WORDS):
                    churn_state[(s * STATE_WORDS + word) * LANES + g] = seeded[word]
                kernel.prepare_binomial(leads[s], conversion[first + g, s], setup[row], horizon, cdf[row], guide[row])
                rate_p[at] = -1.0
                churn_rate[at] = churn[first + g, s]
                for column in range(COLUMNS):
                    lanes_economics[(s * COLUMNS + column) * LANES + g] = economics[first + g, s, column]
                active[at] = 0.0
                mrr[at] = 0.0
        running[:] = 0.0
        cash = cash_low = splat(0.0)
        runway = splat(np.inf)
        for t in range(horizon):
            for s in range(segments):
                for g in range(LANES):
                    row = g * segments + s
                    stream = load(wins_state, row)
                    won, stream = kernel.table_variate(stream, cdf, guide, row, setup)
                    store(wins_state, row, stream)
                    wins[g] = won
                at = s * LANES
                won = vload(wins, 0)
                sales_cost = vload(lanes_economics, (s * COLUMNS + SALES_COST) * LANES)
                spend = vload(lanes_economics, (s * COLUMNS + SPEND) * LANES)
                total = (s * TOTALS) * LANES
                vstore(running, total, vload(running, total) + (spend + sales_cost * won))
                vstore(running, total + LANES, vload(running, total + LANES) + won)
                acquisition, customers, monthly, cs_cost = _month_start(
                    vload(active, at), vload(mrr, at), won, spend, sales_cost,
                    vload(lanes_economics, (s * COLUMNS + ACV) * LANES),
                    vload(lanes_economics, (s * COLUMNS + CSM_COST) * LANES),
                    vload(lanes_economics, (s * COLUMNS + ACCOUNT_COST) * LANES))
                monthly_churn = where_less(vload(churn_rate, at), splat(1.0), vload(churn_rate, at), splat(1.0))
                changed = bits_less(monthly_churn, vload(rate_p, at)) | bits_greater(monthly_churn, vload(rate_p, at))
                while changed:  # a rate not prepared yet (the first month): as kernel.prepare_rate
                    g = lowest_bit(changed)
                    changed &= changed - 1
                    row = g * segments + s
                    kernel.prepare_rate(lane(monthly_churn, g), rate[row])
                    rate_p[at + g] = rate[row, 0]
                    q[at + g], log_one_minus_q[at + g], ratio[at + g] = rate[row, 2], rate[row, 3], rate[row, 4]
                    q_one_minus_q[at + g], log_ratio[at + g] = rate[row, 5], rate[row, 6]
                a = vload(churn_state, (s * STATE_WORDS + 0) * LANES)
                b = vload(churn_state, (s * STATE_WORDS + 1) * LANES)
                c = vload(churn_state, (s * STATE_WORDS + 2) * LANES)
                counter = vload(churn_state, (s * STATE_WORDS + 3) * LANES)
                rate_q = vload(q, at)
                # The expected count n q decides each lane's method, as in kernel._binomial_with;
                # a lane without customers draws nothing (its stream does not move).
                expected = where_greater(customers, zero, multiply(customers, rate_q), splat(-1.0))
                inverting = bits_less(expected, inversion_below) & bits_greater(customers, zero)
                rejecting = bits_at_least(expected, inversion_below)
                churned = splat(0.0)
                steps = 0
                if inverting:
                    largest = 0.0
                    todo = inverting
                    while todo:
                        largest = max(largest, lane(expected, lowest_bit(todo)))
                        todo &= todo - 1
                    if largest < 4.5:  # kernel._inversion's branch-free steps for the largest n q
                        steps = 4 if largest < 1.5 else 8
                    else:
                        steps = 16 if largest < 10.0 else (24 if largest < 16.0 else 32)
                    u, next_a, next_b, next_c, next_counter = uniforms(a, b, c, counter)
                    inverts = where_greater(customers, zero, expected, splat(np.inf))
                    a = where_less(inverts, inversion_below, next_a, a)
                    b = where_less(inverts, inversion_below, next_b, b)
                    c = where_less(inverts, inversion_below, next_c, c)
                    counter = where_less(inverts, inversion_below, next_counter, counter)
                    odds = vload(ratio, at)
                    f = vexp(multiply(customers, vload(log_one_minus_q, at)))
                    for i in range(steps):
                        churned = add(churned, where_greater(u, f, splat(1.0), zero))
                        u = subtract(u, f)
                        f = multiply(f, multiply(multiply(subtract(customers, splat(i)),
                                                          splat(kernel._RECIPROCALS[i + 1])), odds))
                    unfinished = inverting & (bits_at_least(churned, splat(steps)) | bits_greater(churned, customers))
                    paths[0] += _count(inverting)
                    paths[1] += _count(unfinished)
                    while unfinished:
                        g = lowest_bit(unfinished)
                        unfinished &= unfinished - 1
                        stream = (lane(a, g), lane(b, g), lane(c, g), lane(counter, g))
                        n = np.int64(lane(customers, g))
                        k, stream = inversion_from(lane(u, g), lane(f, g), lane(churned, g), n, q[at + g],
                                                   ratio[at + g], log_one_minus_q[at + g], stream)
                        churned = with_lane(churned, g, k)
                        a, b = with_lane(a, g, stream[0]), with_lane(b, g, stream[1])
                        c, counter = with_lane(c, g, stream[2]), with_lane(counter, g, stream[3])
                if rejecting:
                    # BTRD's first test (kernel._btrd): most proposals are accepted there.
                    v, next_a, next_b, next_c, next_counter = uniforms(a, b, c, counter)
                    a = where_less(expected, inversion_below, a, next_a)
                    b = where_less(expected, inversion_below, b, next_b)
                    c = where_less(expected, inversion_below, c, next_c)
                    counter = where_less(expected, inversion_below, counter, next_counter)
                    spread = vsqrt(multiply(customers, vload(q_one_minus_q, at)))
                    scale_b = add(splat(1.15), multiply(splat(2.53), spread))
                    shape_a = add(add(splat(-0.0873), multiply(splat(0.0248), scale_b)), multiply(splat(0.01), rate_q))
                    centre = add(multiply(customers, rate_q), splat(0.5))
                    vr_b = subtract(multiply(splat(0.92), scale_b), splat(4.2))
                    w = subtract(multiply(v, divide(scale_b, vr_b)), splat(0.43))
                    hat = divide(multiply(splat(2.0), shape_a), subtract(splat(0.5), vabs(w)))
                    proposal = vfloor(add(multiply(add(hat, scale_b), w), centre))
                    accepted = where_at_most(multiply(v, scale_b), multiply(splat(0.86), vr_b), proposal, splat(-1.0))
                    churned = where_at_least(expected, inversion_below, accepted, churned)
                    unfinished = rejecting & bits_less(accepted, zero)
                    paths[2] += _count(rejecting) - _count(unfinished)
                    paths[3] += _count(unfinished)
                    while unfinished:
                        g = lowest_bit(unfinished)
                        unfinished &= unfinished - 1
                        n = np.int64(lane(customers, g))
                        stream = (lane(a, g), lane(b, g), lane(c, g), lane(counter, g))
                        k, stream = btrd_from(stream, n, q[at + g], math.sqrt(n * q_one_minus_q[at + g]), ratio[at + g],
                                              log_ratio[at + g], lane(v, g))
                        churned = with_lane(churned, g, float(k))
                        a, b = with_lane(a, g, stream[0]), with_lane(b, g, stream[1])
                        c, counter = with_lane(c, g, stream[2]), with_lane(counter, g, stream[3])
                vstore(running, total + 2 * LANES, add(vload(running, total + 2 * LANES), customers))
                vstore(running, total + 3 * LANES, add(vload(running, total + 3 * LANES), churned))
                vstore(running, total + 4 * LANES, add(vload(running, total + 4 * LANES), monthly))
                vstore(running, total + 5 * LANES, add(vload(running, total + 5 * LANES), cs_cost))
                vstore(running, total + 6 * LANES, monthly)
                survivors, next_mrr, cash = _month_end(
                    customers, churned, monthly, acquisition, cs_cost,
                    vload(lanes_economics, (s * COLUMNS + MARGIN) * LANES),
                    vload(lanes_economics, (s * COLUMNS + EXPANSION) * LANES), cash)
                vstore(active, at, survivors)
                vstore(mrr, at, next_mrr)
                vstore(churn_state, (s * STATE_WORDS + 0) * LANES, a)
                vstore(churn_state, (s * STATE_WORDS + 1) * LANES, b)
                vstore(churn_state, (s * STATE_WORDS + 2) * LANES, c)
                vstore(churn_state, (s * STATE_WORDS + 3) * LANES, counter)
            # runway: the first month cash is below zero; lowest cash as min(lowest, cash)
            runway = where_less(runway, splat(np.inf), runway, where_less(cash, zero, splat(t), runway))
            cash_low = where_less(cash, cash_low, cash, cash_low)
        for g in range(LANES):
            for s in range(segments):
                for column in range(TOTALS):
                    totals[first + g, s, column] = running[(s * TOTALS + column) * LANES + g]
            company[first + g, 0] = lane(runway, g)
            company[first + g, 1] = lane(cash_low, g)
            company[first + g, 2] = lane(cash, g)


def inputs(draws: int, seed: int = 0):
    """Per-draw conversion and churn (Beta), and economics (ACV lognormal, expansion normal,
    margin, spend and sales cost a won deal) as in benchmarks/reference.toml; the noise key."""
    if draws % LANES:
        raise ValueError(f"draws must be a multiple of {LANES}, got {draws}")
    rng = np.random.default_rng(seed)
    conversion = np.column_stack([rng.beta(m * k, (1 - m) * k, draws) for m, k in CONVERSION])
    churn = np.column_stack([rng.beta(m * k, (1 - m) * k, draws) for m, k in CHURN])
    economics = np.zeros((draws, SEGMENTS, COLUMNS))
    for s, (acv, expansion, cost_per_lead, sales_cost) in enumerate(ECONOMICS):
        economics[:, s, ACV] = acv * np.exp(0.3 * rng.standard_normal(draws))
        economics[:, s, EXPANSION] = expansion + 0.003 * rng.standard_normal(draws)
        economics[:, s, MARGIN] = 0.8
        economics[:, s, SPEND] = LEADS[s] * cost_per_lead
        economics[:, s, SALES_COST] = sales_cost
    key = _random.key_words(np.random.SeedSequence(seed))
    return key, conversion, churn, economics


def run_both(draws: int, horizon: int = HORIZON, seed: int = 0):
    """Both ways on the same draws: ((totals, company) draw by draw, the same in lanes,
    paths: how many lanes took each path, see ``in_lanes``)."""
    key, conversion, churn, economics = inputs(draws, seed)
    results = []
    paths = np.zeros(4, dtype=np.int64)
    for model, extra in ((draw_by_draw, ()), (in_lanes, (paths,))):
        totals, company = np.zeros((draws, SEGMENTS, TOTALS)), np.zeros((draws, COMPANY))
        model(key, conversion, churn, economics, LEADS, horizon, totals, company, *extra)
        results.append((totals, company))
    return results[0], results[1], paths


def _same(first, second) -> bool:
    return all(np.array_equal(a, b) for a, b in zip(first, second))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    scalar, lanes, paths = run_both(args.draws)
    same = _same(scalar, lanes)
    key, conversion, churn, economics = inputs(args.draws)
    totals, company = np.zeros((args.draws, SEGMENTS, TOTALS)), np.zeros((args.draws, COMPANY))
    best = {}
    for _ in range(args.repeats):  # alternated, so a slow moment hits both
        for name, model, extra in (("draw by draw", draw_by_draw, ()), ("8 draws in lanes", in_lanes, (paths,))):
            start = time.perf_counter()
            model(key, conversion, churn, economics, LEADS, HORIZON, totals, company, *extra)
            best[name] = min(best.get(name, np.inf), time.perf_counter() - start)
    print(f"{args.draws:,} draws x {HORIZON} months, best of {args.repeats}:")
    for name, seconds in best.items():
        print(f"  {name:18s} {seconds / args.draws * 1e6:6.2f} us a draw")
    per_draw = paths / args.draws / (1 + args.repeats)
    print(f"  churn variates a draw in lanes: {per_draw[0]:.1f} inverted ({per_draw[1]:.2f} past the branch-free "
          f"steps), {per_draw[2]:.1f} BTRD accepted at once, {per_draw[3]:.1f} finished alone")
    ratio = best["8 draws in lanes"] / best["draw by draw"]
    print(f"  lanes / draw by draw: {ratio:.2f}; results {'identical' if same else 'DIFFER'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
