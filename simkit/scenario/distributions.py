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
        return special.betaincinv(self.alpha, self.beta, np.asarray(u, dtype=float))

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
        return self.low + (self.high - self.low) * special.betaincinv(a, b, np.asarray(u, dtype=float))

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
