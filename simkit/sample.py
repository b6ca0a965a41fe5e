"""Parameter uncertainty: one value of every uncertain input per draw.

Each uncertain input is drawn by its inverse CDF from uniforms of its own random stream,
keyed by the block and by the input's dotted path. That choice buys three things:

* **exact marginals under correlation**: inputs tied by ``[[correlations]]`` share a
  Gaussian copula (their uniforms come from correlated normals), and the inverse CDF
  keeps every marginal exactly as written;
* **common random numbers**: a stressed or alternative scenario sees the *same* uniform
  for the same input in the same draw, so a harsher distribution gives a harsher value
  draw by draw (the inverse CDF is monotone), and an input that is added, removed or
  fixed leaves every other input's draws untouched;
* **determinism**: nothing depends on the order in which blocks are computed.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
from scipy import special

from .scenario.model import Correlation, Scenario

__all__ = ["sample_inputs", "correlation_matrix", "input_stream"]

# Spawn-key tags: which part of a block a stream feeds.
_PARAMETERS = 0
_CORRELATED = 1


def path_key(path: str) -> int:
    # crc32 is stable across Python runs (unlike hash()), so streams are reproducible.
    return zlib.crc32(path.encode())


def input_stream(seed_sequence: np.random.SeedSequence, block: int, path: str) -> np.random.Generator:
    """The Generator that feeds one input (dotted ``path``) in one block of draws."""
    child = np.random.SeedSequence(
        seed_sequence.entropy, spawn_key=(*seed_sequence.spawn_key, block, _PARAMETERS, path_key(path))
    )
    return np.random.Generator(np.random.PCG64(child))


def correlation_matrix(correlations: Sequence[Correlation]) -> tuple[list[str], np.ndarray]:
    """Input names and the Gaussian-copula correlation matrix for the given rank correlations.

    A Gaussian copula with Pearson correlation ``r = 2 sin(pi * rho_s / 6)`` between the
    normals has exactly the Spearman rank correlation ``rho_s`` (Kruskal 1958).
    """
    names: list[str] = []
    for c in correlations:
        for name in c.inputs:
            if name not in names:
                names.append(name)
    matrix = np.eye(len(names))
    for c in correlations:
        i, j = names.index(c.inputs[0]), names.index(c.inputs[1])
        matrix[i, j] = matrix[j, i] = 2.0 * np.sin(np.pi * c.rank_correlation / 6.0)
    return names, matrix


def _matrix_root(matrix: np.ndarray) -> np.ndarray:
    """A square root L with L @ L.T == matrix, valid for positive semi-definite matrices."""
    values, vectors = np.linalg.eigh(matrix)
    return vectors * np.sqrt(np.clip(values, 0.0, None))


def sample_inputs(
    scenario: Scenario, size: int, seed_sequence: np.random.SeedSequence, block: int = 0
) -> dict[str, np.ndarray]:
    """Draw ``size`` values of every input of ``scenario`` for one block.

    Parameters
    ----------
    scenario : Scenario
    size : int
        Draws in this block.
    seed_sequence : numpy.random.SeedSequence
        The run's root seed sequence.
    block : int
        Block number; block ``k`` always gets the same streams.

    Returns
    -------
    dict
        Dotted input path -> float array of shape ``(size,)``; a fixed input is a read-only
        view of its one value.
    """
    inputs = scenario.inputs()
    uniforms: dict[str, np.ndarray] = {}
    if scenario.correlations:
        names, matrix = correlation_matrix(scenario.correlations)
        key = path_key("|".join(sorted(names)))
        child = np.random.SeedSequence(
            seed_sequence.entropy, spawn_key=(*seed_sequence.spawn_key, block, _CORRELATED, key)
        )
        normals = np.random.Generator(np.random.PCG64(child)).standard_normal((size, len(names)))
        correlated = np.clip(special.ndtr(normals @ _matrix_root(matrix).T), 2.0**-54, 1.0 - 2.0**-53)
        for i, name in enumerate(names):
            uniforms[name] = correlated[:, i]
    values = {}
    for path, dist in inputs.items():
        if dist.is_fixed:
            # A read-only view of one number: a scenario has dozens of fixed inputs, and a
            # block's worth of copies of each would be written only to be read once.
            values[path] = np.broadcast_to(np.float64(dist.mean()), (size,))
            continue
        u = uniforms.get(path)
        if u is None:
            # Shifted by half a step so u is never exactly 0 (ppf(0) may be -inf), and capped
            # because the largest random(), 1 - 2**-53, plus 2**-54 rounds to exactly 1.0
            # (ppf(1) = inf for a lognormal); no other value changes.
            u = np.minimum(input_stream(seed_sequence, block, path).random(size) + 2.0**-54, 1.0 - 2.0**-53)
        values[path] = np.asarray(dist.ppf(u), dtype=float)
    return values
