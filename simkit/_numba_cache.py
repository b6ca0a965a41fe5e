"""numba's disk cache for the kernel, invalidated by any of the files its code comes from.

numba keys a cached function on its own source file only. The kernel inlines code from
``_random.py`` (the generators) and ``_lanes.py`` (the vector operations), so an edit to
either alone, or an upgrade that changes only them, would leave the kernel's cache in
force with the old code. ``_KernelSources`` is numba's usual locator (same folder, same
file names) whose source stamp covers all three files.
"""

from __future__ import annotations

from pathlib import Path

from numba.core import caching

__all__ = ["register"]

_HERE = Path(__file__).resolve().parent
_KERNEL = _HERE / "_kernel.py"
# The files whose code the kernel's compiled functions contain.
SOURCES = (_KERNEL, _HERE / "_random.py", _HERE / "_lanes.py")


def _stamp(path: Path):
    status = path.stat()
    hashed = getattr(caching, "_hash_source_file", None)  # numba >= 0.61 stamps by content
    return hashed(str(path), status.st_mtime, status.st_size) if hashed else (status.st_mtime, status.st_size)


class _KernelSources(getattr(caching, "_CacheLocator", object)):
    """The locator numba would pick for a function of ``_kernel.py``, stamped with every
    file in ``SOURCES``."""

    def __init__(self, inner):
        self._inner = inner

    def ensure_cache_path(self):
        return self._inner.ensure_cache_path()

    def get_cache_path(self):
        return self._inner.get_cache_path()

    def get_source_stamp(self):
        return tuple(_stamp(path) for path in SOURCES)

    def get_disambiguator(self):
        return self._inner.get_disambiguator()

    @classmethod
    def from_function(cls, py_func, py_file):
        try:
            if Path(py_file).resolve() != _KERNEL:
                return None
        except OSError:
            return None
        for locator in _implementation()._locator_classes:
            if locator is not cls:
                inner = locator.from_function(py_func, py_file)
                if inner is not None:
                    return cls(inner)
        return None


def _implementation():
    # CacheImpl since numba 0.61 (_CacheImpl before).
    return getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)


def register() -> None:
    """Put ``_KernelSources`` first among numba's locators (once); before ``_kernel.py``'s
    functions are decorated, since numba picks a function's locator then. Should a numba
    release rename these internals, numba's own locators stay in charge (and
    tests/test_lanes.py fails to say so)."""
    classes = getattr(_implementation(), "_locator_classes", None)
    if isinstance(classes, list) and _KernelSources not in classes:
        classes.insert(0, _KernelSources)
