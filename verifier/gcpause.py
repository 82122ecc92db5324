"""Building a large snapshot or report without the cyclic garbage collector rescanning the heap.

A snapshot or report of 20,000 versions allocates up to a million small containers, none of
them in a cycle; each allocation burst triggers collections that walk every tracked object, the
whole inventory included. Pausing the collector while one is built cuts the time by a third to
a half; reference counting still frees everything as usual.
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
