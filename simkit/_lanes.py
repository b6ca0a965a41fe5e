"""Eight draws at once: LLVM vector values in numba, for the kernel's lanes.

numba has no SIMD type of its own, and its loop vectoriser leaves loops over lanes of
small arrays scalar. Here each quantity of 8 draws is one ``<8 x double>`` (``DOUBLES``)
or ``<8 x i64>`` (``WORDS``) LLVM value, a comparison of two is an ``<8 x i1>`` mask
(``MASK``), and Python's arithmetic and comparison operators are overloaded on them, so a
function written for one draw compiles for 8 unchanged (numba types it with float64
arguments, and again with vectors). Each lane computes the same IEEE operations as its
draw does alone: results are the same bit for bit. LLVM lowers the vectors to whatever
the machine has (AVX-512, AVX2 or SSE2 halves); no C compiler is involved.

exp and log are simkit's own (``vexp``, ``vlog``: Cephes' approximations, within 2 ulp of
libm's), 8 lanes at a time: libm called lane by lane cost the kernel about 0.9 us a
reference draw. A lane's result never depends on the other lanes.
"""

from __future__ import annotations

import math
import operator

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.imputils import lower_builtin
from numba.core.typing.templates import AbstractTemplate, infer_global, signature
from numba.extending import intrinsic, models, overload, register_model

LANES = 8


class _Doubles(types.Type):
    def __init__(self):
        super().__init__(name="Doubles8")


class _Words(types.Type):
    def __init__(self):
        super().__init__(name="Words8")


class _Mask(types.Type):
    def __init__(self):
        super().__init__(name="Mask8")


DOUBLES, WORDS, MASK = _Doubles(), _Words(), _Mask()
_DOUBLE_VECTOR = ir.VectorType(ir.DoubleType(), LANES)
_WORD_VECTOR = ir.VectorType(ir.IntType(64), LANES)
_MASK_VECTOR = ir.VectorType(ir.IntType(1), LANES)


def _vector_model(llvm_type):
    class Model(models.PrimitiveModel):
        def __init__(self, dmm, fe_type):
            super().__init__(dmm, fe_type, llvm_type)

    return Model


register_model(_Doubles)(_vector_model(_DOUBLE_VECTOR))
register_model(_Words)(_vector_model(_WORD_VECTOR))
register_model(_Mask)(_vector_model(_MASK_VECTOR))


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
    """Store 8 lanes into a 1-d float64 (or uint64) array from ``start``."""
    vector = _DOUBLE_VECTOR if array.dtype == types.float64 else _WORD_VECTOR

    def codegen(context, builder, sig, args):
        builder.store(args[2], _pointer(context, builder, sig.args[0], args[0], args[1], vector), align=8)
        return context.get_dummy_value()

    return types.none(array, start, value), codegen


def _every_word(n):
    """The constant ``n`` in every lane of a word vector."""
    return ir.Constant(_WORD_VECTOR, [n] * LANES)


def _broadcast(builder, value, kind):
    """A number of numba type ``kind`` in every lane, as a double."""
    if isinstance(kind, types.Integer):
        value = builder.sitofp(value, ir.DoubleType())
    elif kind != types.float64:
        value = builder.fpext(value, ir.DoubleType())
    out = ir.Constant(_DOUBLE_VECTOR, ir.Undefined)
    for i in range(LANES):
        out = builder.insert_element(out, value, ir.Constant(ir.IntType(32), i))
    return out


@intrinsic
def splat(typingctx, x):
    """One number in every lane, as a double."""
    def codegen(context, builder, sig, args):
        return _broadcast(builder, args[0], sig.args[0])

    return DOUBLES(x), codegen


@intrinsic
def lane(typingctx, vector, i):
    """Lane ``i`` of a vector, as a float64 (doubles) or uint64 (words)."""
    def codegen(context, builder, sig, args):
        return builder.extract_element(args[0], args[1])

    return (types.float64 if vector == DOUBLES else types.uint64)(vector, i), codegen


@intrinsic
def with_lane(typingctx, vector, i, x):
    """The vector with lane ``i`` replaced by ``x``."""
    def codegen(context, builder, sig, args):
        value = args[2]
        if sig.args[0] == DOUBLES and isinstance(sig.args[2], types.Integer):
            value = builder.sitofp(value, ir.DoubleType())
        return builder.insert_element(args[0], value, args[1])

    return vector(vector, i, x), codegen


@intrinsic
def bits(typingctx, mask):
    """Lane i of a mask as bit i of an int64."""
    def codegen(context, builder, sig, args):
        return builder.zext(builder.bitcast(args[0], ir.IntType(LANES)), ir.IntType(64))

    return types.int64(MASK), codegen


@intrinsic
def lowest_bit(typingctx, value):
    """The index of the lowest set bit of a non-zero int64."""
    def codegen(context, builder, sig, args):
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(64), [ir.IntType(64), ir.IntType(1)]), "llvm.cttz.i64")
        return builder.call(function, [args[0], ir.Constant(ir.IntType(1), 1)])

    return types.int64(types.int64), codegen


def _lanewise(llvm_name):
    @intrinsic
    def operation(typingctx, a):
        def codegen(context, builder, sig, args):
            function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_DOUBLE_VECTOR, [_DOUBLE_VECTOR]),
                                                      llvm_name)
            return builder.call(function, [args[0]])

        return DOUBLES(DOUBLES), codegen

    return operation


# sqrt, floor and fabs are exact, however LLVM lowers them.
vsqrt, vfloor, vabs = (_lanewise(f"llvm.{name}.v8f64") for name in ("sqrt", "floor", "fabs"))


@intrinsic
def vcopysign(typingctx, magnitude, sign):
    """copysign lane by lane (exact)."""
    def codegen(context, builder, sig, args):
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_DOUBLE_VECTOR, [_DOUBLE_VECTOR, _DOUBLE_VECTOR]), "llvm.copysign.v8f64")
        return builder.call(function, list(args))

    return DOUBLES(DOUBLES, DOUBLES), codegen


@intrinsic
def _power_of_two(typingctx, n):
    """2 ** n lane by lane for integral n from -1022 to 1023 (exact), built from its bits."""
    def codegen(context, builder, sig, args):
        exponent = builder.add(builder.fptosi(args[0], _WORD_VECTOR), _every_word(1023))
        return builder.bitcast(builder.shl(exponent, _every_word(52)), _DOUBLE_VECTOR)

    return DOUBLES(DOUBLES), codegen


# exp's range reduction and rational approximation, from Cephes (S. Moshier, "Methods and
# programs for mathematical functions", 1989): ln 2 in two parts, the first with 16
# significant bits so that n times it is exact, and exp(r) = 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2))
# on |r| <= ln(2) / 2.
_LOG2_E = 1.4426950408889634
_LN2_HIGH, _LN2_LOW = 6.93145751953125e-1, 1.42860682030941723212e-6
_P0, _P1, _P2 = 1.26177193074810590878e-4, 3.02994407707441961300e-2, 9.99999999999999999910e-1
_Q0, _Q1, _Q2, _Q3 = 3.00198505138664455042e-6, 2.52448340349684104192e-3, 2.27265548208155028766e-1, 2.0
# exp(x) is 0 in double precision below this (the smallest subnormal is exp(-744.44)) and
# overflows above the upper one.
_EXP_LOWEST, _EXP_HIGHEST = -745.2, 709.8


@njit(inline="always")
def vexp(x):
    """exp lane by lane, within 2 ulp of libm's (numpy's) exp: 0 below -745.2, infinity
    above 709.8, NaN for NaN.

    8 lanes in about 20 vector operations and one division, where calling libm's exp lane
    by lane (as numba's ``math.exp`` does) made the inversions' start (1 - q)^n a tenth of
    the reference model's kernel time. Lanes' results do not depend on each other, so a
    draw gives the same numbers alone and in a group; they may differ from libm's exp in
    the last bit, which moves an inversion's variate only when its uniform falls within
    about 1e-16 of a cumulative probability."""
    inside = (x >= _EXP_LOWEST) & (x <= _EXP_HIGHEST)
    y = select(inside, x, 0.0)
    n = vfloor(_LOG2_E * y + 0.5)
    r = (y - n * _LN2_HIGH) - n * _LN2_LOW
    rr = r * r
    pr = r * ((_P0 * rr + _P1) * rr + _P2)
    e = 1.0 + 2.0 * (pr / ((((_Q0 * rr + _Q1) * rr + _Q2) * rr + _Q3) - pr))
    # 2^n in two factors: each is a normal number from the smallest subnormal result to the
    # largest finite one, and the second product rounds a subnormal result once.
    half = vfloor(0.5 * n)
    e = e * _power_of_two(half) * _power_of_two(n - half)
    return select(inside, e, select(x > 0.0, math.inf, select(x < 0.0, 0.0, x)))


@intrinsic
def _split(typingctx, x):
    """frexp lane by lane for normal positive x: (mantissa in [0.5, 1), exponent as a double)."""
    def codegen(context, builder, sig, args):
        word = builder.bitcast(args[0], _WORD_VECTOR)
        exponent = builder.sub(builder.lshr(word, _every_word(52)), _every_word(1022))
        mantissa = builder.or_(builder.and_(word, _every_word((1 << 52) - 1)), _every_word(1022 << 52))
        pair = (builder.bitcast(mantissa, _DOUBLE_VECTOR), builder.sitofp(exponent, _DOUBLE_VECTOR))
        return context.make_tuple(builder, sig.return_type, pair)

    return types.UniTuple(DOUBLES, 2)(DOUBLES), codegen


# log's rational approximation, from Cephes too: log(x) = 2 atanh(s), s = (x - 1) / (x + 1),
# for a mantissa x in [sqrt(1/2), sqrt(2)), as s + s^3 R(s^2) / S(s^2); the exponent's
# multiple of ln 2 is added in two parts, the first exact.
_R0, _R1, _R2 = -7.89580278884799154124e-1, 1.63866645699558079767e1, -6.41409952958715622951e1
_S0, _S1, _S2 = -3.56722798256324312549e1, 3.12093766372244180303e2, -7.69691943550460008604e2
_LN2_PART, _LN2_REST = 0.693359375, 2.121944400546905827679e-4
_SMALLEST_NORMAL = 2.2250738585072014e-308


@njit(inline="always")
def vlog(x):
    """log lane by lane, within 2 ulp of libm's (numpy's) log: -inf at 0, NaN below 0 and
    for NaN, infinity at infinity. As for ``vexp``, lanes do not depend on each other."""
    # A subnormal x is scaled up by 2^54 first, so its mantissa and exponent come from bits.
    tiny = x < _SMALLEST_NORMAL
    mantissa, exponent = _split(select(tiny, x * 18014398509481984.0, x))
    exponent = select(tiny, exponent - 54.0, exponent)
    low = mantissa < 0.7071067811865476
    exponent = select(low, exponent - 1.0, exponent)
    top = select(low, mantissa - 0.5, (mantissa - 0.5) - 0.5)
    s = top / select(low, 0.5 * top + 0.5, 0.5 * mantissa + 0.5)
    ss = s * s
    y = s * (ss * (((_R0 * ss + _R1) * ss + _R2) / (((ss + _S0) * ss + _S1) * ss + _S2)))
    y = ((y - exponent * _LN2_REST) + s) + exponent * _LN2_PART
    usual = (x > 0.0) & (x < math.inf)
    return select(usual, y, select(x == 0.0, -math.inf, select(x == math.inf, x, math.nan)))


@intrinsic
def vgather(typingctx, array, index):
    """array[index] lane by lane, as doubles, for a 1-d float64 (or int64) array and
    integral double indices (in bounds: they are not checked). Eight scalar loads: the
    CPU overlaps them, where a gather instruction is slower on some (Zen 4)."""
    def codegen(context, builder, sig, args):
        view = context.make_array(sig.args[0])(context, builder, args[0])
        positions = builder.fptosi(args[1], _WORD_VECTOR)
        out = ir.Constant(_DOUBLE_VECTOR, ir.Undefined)
        for i in range(LANES):
            at = ir.Constant(ir.IntType(32), i)
            position = builder.extract_element(positions, at)
            item = builder.load(cgutils.get_item_pointer(context, builder, sig.args[0], view, [position],
                                                         wraparound=False))
            if sig.args[0].dtype != types.float64:
                item = builder.sitofp(item, ir.DoubleType())
            out = builder.insert_element(out, item, at)
        return out

    return DOUBLES(array, index), codegen


@intrinsic
def uniforms(typingctx, a, b, c, counter):
    """SFC64 in every lane (``_random.step``), and its output as ``_random.uniform`` makes
    it a double: (uniforms, a, b, c, counter)."""
    typed = types.Tuple((DOUBLES, WORDS, WORDS, WORDS, WORDS))(WORDS, WORDS, WORDS, WORDS)

    def codegen(context, builder, sig, args):
        a, b, c, counter = args
        every = _every_word
        out = builder.add(builder.add(a, b), counter)
        next_a = builder.xor(b, builder.lshr(b, every(11)))
        next_b = builder.add(c, builder.shl(c, every(3)))
        next_c = builder.add(builder.or_(builder.shl(c, every(24)), builder.lshr(c, every(40))), out)
        u = builder.fmul(builder.uitofp(builder.lshr(out, every(11)), _DOUBLE_VECTOR),
                         ir.Constant(_DOUBLE_VECTOR, [2.0**-53] * LANES))
        return context.make_tuple(builder, sig.return_type, (u, next_a, next_b, next_c, builder.add(counter, every(1))))

    return typed, codegen


# --- Python's operators on the vectors ----------------------------------------------------------
#
# Typed by templates and lowered straight to one LLVM instruction, not through ``@overload``:
# the kernel has thousands of these operations, and an overload resolves each through a
# compiled wrapper function, a large part of the kernel's first compile.

_NUMBER = (types.Float, types.Integer)


def _vector_of(builder, value, kind):
    """``value`` of numba type ``kind`` as 8 lanes: a vector as it is, a number in every
    lane (as ``splat`` makes it)."""
    return value if kind == DOUBLES or kind == MASK else _broadcast(builder, value, kind)


def _binary(python_operator, result, emit, operand=DOUBLES):
    """``python_operator`` on two ``operand`` vectors, or (doubles) a vector and a number,
    giving a ``result`` from ``emit(builder, a, b)``."""
    @infer_global(python_operator)
    class _OnVectors(AbstractTemplate):
        def generic(self, args, kws):
            if kws or len(args) != 2:
                return None
            a, b = args
            if a == operand and b == operand:
                return signature(result, a, b)
            if operand == DOUBLES and ((a == DOUBLES and isinstance(b, _NUMBER))
                                       or (isinstance(a, _NUMBER) and b == DOUBLES)):
                return signature(result, a, b)
            return None

    def lower(context, builder, sig, args):
        a, b = (_vector_of(builder, value, kind) for value, kind in zip(args, sig.args))
        return emit(builder, a, b)

    pairs = [(operand, operand)]
    if operand == DOUBLES:
        pairs += [(DOUBLES, number) for number in _NUMBER] + [(number, DOUBLES) for number in _NUMBER]
    for left, right in pairs:
        lower_builtin(python_operator, left, right)(lower)


def _instruction(name):
    return lambda builder, a, b: getattr(builder, name)(a, b)


def _comparison(predicate, ordered=True):
    return lambda builder, a, b: (builder.fcmp_ordered if ordered else builder.fcmp_unordered)(predicate, a, b)


# != is unordered, as Python's: NaN != NaN holds.
for _operator, _result, _emit in (
    (operator.add, DOUBLES, _instruction("fadd")), (operator.sub, DOUBLES, _instruction("fsub")),
    (operator.mul, DOUBLES, _instruction("fmul")), (operator.truediv, DOUBLES, _instruction("fdiv")),
    (operator.lt, MASK, _comparison("<")), (operator.gt, MASK, _comparison(">")),
    (operator.le, MASK, _comparison("<=")), (operator.ge, MASK, _comparison(">=")),
    (operator.eq, MASK, _comparison("==")), (operator.ne, MASK, _comparison("!=", ordered=False)),
):
    _binary(_operator, _result, _emit)
_binary(operator.and_, MASK, _instruction("and_"), operand=MASK)
_binary(operator.or_, MASK, _instruction("or_"), operand=MASK)


@intrinsic
def _not(typingctx, a):
    def codegen(context, builder, sig, args):
        return builder.not_(args[0])

    return MASK(MASK), codegen


@overload(operator.invert)
def _invert_mask(a):
    if a == MASK:
        return lambda a: _not(a)
    return None


@intrinsic
def _select_lanes(typingctx, mask, x, y):
    def codegen(context, builder, sig, args):
        return builder.select(*args)

    return x(MASK, x, x), codegen


def select(mask, x, y):
    """x where ``mask`` holds, else y: lane by lane for vectors (doubles or words), ``x if
    mask else y`` for one draw. In numba-compiled code only."""
    raise NotImplementedError("select is for numba-compiled code")


@overload(select)
def _select(mask, x, y):
    if mask == MASK:
        if x == WORDS and y == WORDS:
            return lambda mask, x, y: _select_lanes(mask, x, y)
        if (x == DOUBLES or isinstance(x, _NUMBER)) and (y == DOUBLES or isinstance(y, _NUMBER)):
            return lambda mask, x, y: _select_lanes(mask, as_lanes(x), as_lanes(y))
    if isinstance(mask, types.Boolean):
        return lambda mask, x, y: x if mask else y
    return None


def as_lanes(x):
    """A vector as it is, a number in every lane. In numba-compiled code only."""
    raise NotImplementedError("as_lanes is for numba-compiled code")


@overload(as_lanes)
def _as_lanes(x):
    if x == DOUBLES:
        return lambda x: x
    if isinstance(x, _NUMBER):
        return lambda x: splat(x)
    return None
