"""Worker processes that end with the process that started them."""

from __future__ import annotations

import os
import signal
import sys

__all__ = ["end_with_parent"]

# prctl(2) option: the signal this process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


def end_with_parent(parent_pid: int) -> None:
    """Ask the kernel to kill this worker when ``parent_pid`` dies (Linux; a no-op elsewhere).

    A pool's workers otherwise outlive a killed run: orphaned, they keep the run's inherited
    files open, including the lock of a ``simkit batch`` folder, so the rerun that should
    complete the batch is refused as "another batch is writing". Used as the pools'
    ``initializer``, with the parent's pid: if the parent died before the request was made,
    the worker leaves at once.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl in this C library: nothing to ask
            pass
    if os.getppid() != parent_pid:
        os._exit(1)
