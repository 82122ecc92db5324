"""SHA-256 (and SHA-512 when asked) in one pass over a stream, optionally also handed to a
sink such as a file writer, each consumer on its own thread."""

from __future__ import annotations

import hashlib
import mmap
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

CHUNK = 1 << 20
_MAX_PENDING = 8  # buffers handed to the consumers and not yet done with by all of them


@dataclass(frozen=True)
class Digests:
    """Size and lowercase-hex digests of some bytes."""

    size: int
    sha256: str
    sha512: str | None  # None: not computed (see `Digester`)


class Digester:
    """Feeds SHA-256, SHA-512 (unless `sha512=False`) and an optional `sink` (e.g. a file
    writer) from worker threads (hashlib and file writes release the GIL), so hashing,
    writing and receiving overlap instead of adding up.

    Chunks are copied into a few reusable CHUNK-byte buffers: one thread hand-off per buffer
    instead of one per network read, and no megabyte allocation per batch (glibc may serve
    those with fresh mmaps, one page fault per 4 KiB: a run was seen doubling its CPU time).
    Buffers are page-aligned (anonymous mmaps) and every one but the last is full, so a sink
    may write them with O_DIRECT. A buffer is refilled only after every consumer is done with
    it; at most _MAX_PENDING are in flight, which bounds memory when consumers lag the reader.

    SHA-512 runs at about half SHA-256's speed on CPUs with SHA-256 instructions (x86 SHA-NI,
    ARMv8 SHA2), so callers that do not need it should say so."""

    def __init__(
        self, sink: Callable[[memoryview], object] | None = None, *, sha512: bool = True
    ) -> None:
        self._hashes = [hashlib.sha256(), hashlib.sha512()] if sha512 else [hashlib.sha256()]
        self._consumers: list[Callable[[memoryview], object]] = [h.update for h in self._hashes]
        if sink is not None:
            self._consumers.append(sink)
        self._pools = [ThreadPoolExecutor(max_workers=1) for _ in self._consumers]
        self._in_flight: deque[tuple[mmap.mmap, list[Future[object]]]] = deque()
        self._buffer = mmap.mmap(-1, CHUNK)
        self._fill = 0
        self._size = 0

    def __enter__(self) -> Digester:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)

    @property
    def size(self) -> int:
        """Bytes fed so far."""
        return self._size

    def update(self, chunk: bytes) -> None:
        """Queue `chunk` for every consumer (waits if too many buffers are in flight)."""
        self._size += len(chunk)
        view = memoryview(chunk)
        while view:
            taken = min(len(view), CHUNK - self._fill)
            self._buffer[self._fill : self._fill + taken] = view[:taken]
            self._fill += taken
            view = view[taken:]
            if self._fill == CHUNK:
                self._submit()

    def result(self) -> Digests:
        """Wait until every consumer has all the bytes and return the digests."""
        if self._fill:
            self._submit()
        while self._in_flight:
            self._wait_oldest()
        sha256, *sha512 = (h.hexdigest() for h in self._hashes)
        return Digests(self._size, sha256, sha512[0] if sha512 else None)

    def _submit(self) -> None:
        batch = memoryview(self._buffer)[: self._fill]
        futures = [
            pool.submit(consume, batch)
            for consume, pool in zip(self._consumers, self._pools, strict=True)
        ]
        self._in_flight.append((self._buffer, futures))
        self._buffer = (
            self._wait_oldest() if len(self._in_flight) >= _MAX_PENDING else mmap.mmap(-1, CHUNK)
        )
        self._fill = 0

    def _wait_oldest(self) -> mmap.mmap:
        """Wait until every consumer is done with the oldest buffer in flight; return it."""
        buffer, futures = self._in_flight.popleft()
        for future in futures:
            future.result()
        return buffer


def hash_file(path: Path) -> Digests:
    """Digests of a local file, read in chunks (memory stays flat)."""
    with path.open("rb") as f, Digester() as hasher:
        while chunk := f.read(CHUNK):
            hasher.update(chunk)
        return hasher.result()
