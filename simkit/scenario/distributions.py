"""Uncertain numbers: the distributions a scenario input may follow.

Every numeric input of a scenario is a :class:`Distribution`; a plain number is a
:class:`Fixed` one. Each distribution can

* ``sample(rng, size)``: draw with the Generator's own fast sampler (independent inputs);
* ``ppf(u)``: map uniforms through the inverse CDF (inputs tied by a copula, so that the
  marginal stays exactly the one the analyst wrote);
* ``mean()``: the expectation, used by the deterministic economics view.

Randomness only ever comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special

__all__ = [
    "Distribution",
    "Fixed",
    "Beta",
    "LogNormal",
    "LogitNormal",
    "Pert",
    "Triangular",
    "Normal",
    "Uniform",
]

# z such that P(Z <= z) = 0.95: the "90% range" shortcut puts low and high at p5 and p95.
_Z90 = 1.6448536269514722
# z such that P(Z <= z) = 0.90: lognormal given by p10 / p90.
_Z80 = 1.2815515655446004


# --- fast, verified beta quantiles ---------------------------------------------------------
# scipy's betaincinv costs 1-2 microseconds a value, which at a million draws and a dozen
# rate inputs would cost more than the whole simulation. A beta's quantile function, read
# on the logit scale against normal scores z = ndtri(u), is smooth enough for piecewise
# cubic Hermite interpolation on a fine grid, with knots and slopes computed exactly. Each
# table is checked when it is built, at the midpoint of every interval, against
# betaincinv itself; a table that misses the tolerance is refined, and a distribution for
# which no table meets it is sampled with betaincinv directly.
_TABLE_Z = 8.3  # ndtr(-8.3) < 2**-54, the smallest uniform simkit draws
# Largest relative error in x accepted at any checked point. betaincinv is itself only
# accurate to about 1e-12 relative in the tails, so a tighter check would test scipy.
_TABLE_TOLERANCE = 5e-12
_TABLE_SIZES = (2049, 8193, 32769)


def _hermite(z, knots_y, slopes, start, step):
    position = np.clip((z - start) / step, 0.0, len(knots_y) - 1.000000001)
    index = position.astype(np.intp)
    s = position - index
    s2, s3 = s * s, s * s * s
    return ((2 * s3 - 3 * s2 + 1) * knots_y[index] + (s3 - 2 * s2 + s) * step * slopes[index]
            + (3 * s2 - 2 * s3) * knots_y[index + 1] + (s3 - s2) * step * slopes[index + 1])


def _beta_quantile_exact(a, b, z):
    """Beta(a, b) quantile at normal score z, exact; the upper half through the complement,
    since ndtr(z) rounds to 1 well before z = 8.3."""
    lower = z <= 0
    return np.where(lower, special.betaincinv(a, b, special.ndtr(np.minimum(z, 0.0))),
                    special.betainccinv(a, b, special.ndtr(-np.maximum(z, 0.0))))


def _logit_slopes(z, x, a, b):
    # d logit(x) / dz = phi(z) / (pdf(x) x (1 - x)), in logs to survive the tails.
    log_pdf = (a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - special.betaln(a, b)
    log_phi = -0.5 * z * z - 0.5 * math.log(2 * math.pi)
    return np.exp(log_phi - log_pdf - np.log(x) - np.log1p(-x))


@functools.lru_cache(maxsize=512)
def _beta_quantile_table(a: float, b: float):
    """(knot logits, slopes, start, step) for Beta(a, b), or None to use betaincinv."""
    for size in _TABLE_SIZES:
        z = np.linspace(-_TABLE_Z, _TABLE_Z, size)
        x = _beta_quantile_exact(a, b, z)
        if not np.all((x > 0) & (x < 1)):
            return None  # quantiles at the representable edge: no logit to interpolate
        y = special.logit(x)
        slopes = _logit_slopes(z, x, a, b)
        if not np.all(np.isfinite(slopes)):
            return None
        step = z[1] - z[0]
        middle = z[:-1] + 0.5 * step
        exact = _beta_quantile_exact(a, b, middle)
        approx = special.expit(_hermite(middle, y, slopes, z[0], step))
        with np.errstate(divide="ignore", invalid="ignore"):  # exact quantile 0: no table
            error = np.abs(approx - exact) / exact
        if np.all(np.isfinite(error)) and error.max() <= _TABLE_TOLERANCE:
            return y, slopes, float(z[0]), float(step)
    return None


def beta_quantile(a: float, b: float, u):
    """Beta(a, b) quantiles of ``u``: a verified table when one exists, else betaincinv."""
    u = np.asarray(u, dtype=float)
    table = _beta_quantile_table(float(a), float(b)) if u.size >= 256 else None
    if table is None:
        return special.betaincinv(a, b, u)
    y, slopes, start, step = table
    return special.expit(_hermite(special.ndtri(u), y, slopes, start, step))


@dataclass(frozen=True)
class Distribution:
    """Base class. Subclasses are immutable value objects (hashable, comparable)."""

    #: How the analyst wrote it, e.g. ``range = [0.1, 0.3]``; for messages and reports.
    source: str = field(default="", compare=False, repr=False, kw_only=True)

    @property
    def is_fixed(self) -> bool:
        return False

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` independent values with ``rng``."""
        return self.ppf(rng.random(size))

    def ppf(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def mean(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def quantile(self, q: float) -> float:
        """The value below which a fraction ``q`` of draws fall."""
        return float(self.ppf(np.asarray([q], dtype=float))[0])

    @property
    def support(self) -> tuple[float, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        return self.source or repr(self)


@dataclass(frozen=True)
class Fixed(Distribution):
    """A number known for certain."""

    value: float

    @property
    def is_fixed(self) -> bool:
        return True

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        # Consumes no randomness: fixing an input must not shift the stream of the others.
        return np.full(size, self.value, dtype=float)

    def ppf(self, u):
        return np.full(np.shape(u), self.value, dtype=float)

    def mean(self) -> float:
        return float(self.value)

    @property
    def support(self):
        return (float(self.value), float(self.value))

    def describe(self) -> str:
        return self.source or f"{self.value:g}"


@dataclass(frozen=True)
class Beta(Distribution):
    """Beta(alpha, beta) on [0, 1]; for rates. Written as mean + concentration or alpha/beta."""

    alpha: float
    beta: float

    @classmethod
    def from_mean(cls, mean: float, concentration: float, **kw) -> "Beta":
        return cls(mean * concentration, (1.0 - mean) * concentration, **kw)

    def sample(self, rng, size):
        return rng.beta(self.alpha, self.beta, size)

    def ppf(self, u):
        return beta_quantile(self.alpha, self.beta, u)

    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def support(self):
        return (0.0, 1.0)

    def describe(self) -> str:
        return self.source or f"beta(mean {self.mean():.4g}, concentration {self.alpha + self.beta:.4g})"


@dataclass(frozen=True)
class LogNormal(Distribution):
    """exp(Normal(mu, sigma)); for money and other positive amounts. ``median = exp(mu)``."""

    mu: float
    sigma: float

    @classmethod
    def from_median(cls, median: float, sigma: float, **kw) -> "LogNormal":
        return cls(math.log(median), sigma, **kw)

    @classmethod
    def from_quantiles(cls, low: float, high: float, z: float, **kw) -> "LogNormal":
        """Lognormal with ``low`` and ``high`` at the standard-normal quantiles -z and +z."""
        mu = 0.5 * (math.log(low) + math.log(high))
        sigma = (math.log(high) - math.log(low)) / (2.0 * z)
        return cls(mu, sigma, **kw)

    def sample(self, rng, size):
        return rng.lognormal(self.mu, self.sigma, size)

    def ppf(self, u):
        return np.exp(self.mu + self.sigma * special.ndtri(np.asarray(u, dtype=float)))

    def mean(self) -> float:
        return math.exp(self.mu + 0.5 * self.sigma**2)

    @property
    def support(self):
        return (0.0, math.inf)

    def describe(self) -> str:
        return self.source or f"lognormal(median {math.exp(self.mu):.4g}, sigma {self.sigma:.3g})"


@dataclass(frozen=True)
class LogitNormal(Distribution):
    """expit(Normal(mu, sigma)) on (0, 1): what a 90% range on a rate becomes."""

    mu: float
    sigma: float

    @classmethod
    def from_quantiles(cls, low: float, high: float, z: float, **kw) -> "LogitNormal":
        lo, hi = special.logit(low), special.logit(high)
        return cls(0.5 * (lo + hi), (hi - lo) / (2.0 * z), **kw)

    def sample(self, rng, size):
        return special.expit(rng.normal(self.mu, self.sigma, size))

    def ppf(self, u):
        return special.expit(self.mu + self.sigma * special.ndtri(np.asarray(u, dtype=float)))

    def mean(self) -> float:
        # No closed form; 64-point Gauss-Hermite is exact to ~1e-12 for the sigmas used here.
        x, w = np.polynomial.hermite_e.hermegauss(64)
        return float(np.sum(w * special.expit(self.mu + self.sigma * x)) / math.sqrt(2 * math.pi))

    @property
    def support(self):
        return (0.0, 1.0)


@dataclass(frozen=True)
class Pert(Distribution):
    """PERT(min, mode, max): a Beta stretched over [min, max] peaking at the mode."""

    low: float
    mode: float
    high: float
    shape: float = 4.0

    @property
    def _ab(self) -> tuple[float, float]:
        width = self.high - self.low
        a = 1.0 + self.shape * (self.mode - self.low) / width
        b = 1.0 + self.shape * (self.high - self.mode) / width
        return a, b

    def sample(self, rng, size):
        a, b = self._ab
        return self.low + (self.high - self.low) * rng.beta(a, b, size)

    def ppf(self, u):
        a, b = self._ab
        return self.low + (self.high - self.low) * beta_quantile(a, b, u)

    def mean(self) -> float:
        return (self.low + self.shape * self.mode + self.high) / (self.shape + 2.0)

    @property
    def support(self):
        return (self.low, self.high)

    def describe(self) -> str:
        return self.source or f"pert(min {self.low:g}, mode {self.mode:g}, max {self.high:g})"


@dataclass(frozen=True)
class Triangular(Distribution):
    """Triangular(min, mode, max)."""

    low: float
    mode: float
    high: float

    def sample(self, rng, size):
        return rng.triangular(self.low, self.mode, self.high, size)

    def ppf(self, u):
        u = np.asarray(u, dtype=float)
        a, c, b = self.low, self.mode, self.high
        split = (c - a) / (b - a)
        left = a + np.sqrt(u * (b - a) * (c - a))
        right = b - np.sqrt((1.0 - u) * (b - a) * (b - c))
        return np.where(u < split, left, right)

    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3.0

    @property
    def support(self):
        return (self.low, self.high)


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform(min, max)."""

    low: float
    high: float

    def sample(self, rng, size):
        return rng.uniform(self.low, self.high, size)

    def ppf(self, u):
        return self.low + (self.high - self.low) * np.asarray(u, dtype=float)

    def mean(self) -> float:
        return 0.5 * (self.low + self.high)

    @property
    def support(self):
        return (self.low, self.high)


@dataclass(frozen=True)
class Normal(Distribution):
    """Normal(mean, sd), truncated to [low, high] (the field's valid range by default)."""

    loc: float
    scale: float
    low: float = -math.inf
    high: float = math.inf

    @property
    def _cdf_bounds(self) -> tuple[float, float]:
        return (
            float(special.ndtr((self.low - self.loc) / self.scale)),
            float(special.ndtr((self.high - self.loc) / self.scale)),
        )

    def sample(self, rng, size):
        lo, hi = self._cdf_bounds
        if hi - lo < 0.5:
            # Mostly truncated away: rejection would loop; invert the CDF instead.
            return self.ppf(rng.random(size))
        values = rng.normal(self.loc, self.scale, size)
        outside = (values < self.low) | (values > self.high)
        while outside.any():
            # Redraw only the rejected ones: exact truncated normal, fast when little is cut.
            values[outside] = rng.normal(self.loc, self.scale, int(outside.sum()))
            outside = (values < self.low) | (values > self.high)
        return values

    def ppf(self, u):
        lo, hi = self._cdf_bounds
        u = lo + (hi - lo) * np.asarray(u, dtype=float)
        return np.clip(self.loc + self.scale * special.ndtri(u), self.low, self.high)

    def mean(self) -> float:
        lo, hi = self._cdf_bounds
        alpha = (self.low - self.loc) / self.scale
        beta = (self.high - self.loc) / self.scale
        pdf = lambda z: 0.0 if math.isinf(z) else math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)  # noqa: E731
        return self.loc + self.scale * (pdf(alpha) - pdf(beta)) / (hi - lo)

    @property
    def support(self):
        return (self.low, self.high)

    def describe(self) -> str:
        return self.source or f"normal(mean {self.loc:g}, sd {self.scale:g})"
