"""Bulk work without the cyclic garbage collector rescanning the heap.

An advisory import, or a snapshot or report of 20,000 versions, allocates up to a million small
containers, none of them in a cycle; each allocation burst triggers collections that walk every
tracked object, the whole inventory included. Pausing the collector for the run cuts the time by
a quarter to a half; reference counting still frees everything as usual. The pause is
process-wide, so other threads only defer their cycle collection.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector for the block (re-enabled after, if it was enabled)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
