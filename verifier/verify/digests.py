"""SHA-256 and SHA-512 in one pass over a stream (optionally written to a file), each
consumer on its own thread."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

CHUNK = 1 << 20
_MAX_PENDING = 8  # chunks queued per hash: bounds memory when hashing lags reading


@dataclass(frozen=True)
class Digests:
    """Size and lowercase-hex digests of some bytes."""

    size: int
    sha256: str
    sha512: str


class Digester:
    """Feeds SHA-256, SHA-512 and an optional `sink` file from worker threads (hashlib and
    file writes release the GIL), so hashing, writing and receiving overlap instead of
    adding up. Small chunks are joined into batches of about CHUNK bytes: one thread
    hand-off per batch instead of one per network read."""

    def __init__(self, sink: BinaryIO | None = None) -> None:
        self._hashes = [hashlib.sha256(), hashlib.sha512()]
        self._consumers: list[Callable[[bytes], object]] = [h.update for h in self._hashes]
        if sink is not None:
            self._consumers.append(sink.write)
        self._pools = [ThreadPoolExecutor(max_workers=1) for _ in self._consumers]
        self._pending: list[deque[Future[None]]] = [deque() for _ in self._consumers]
        self._batch: list[bytes] = []
        self._batch_size = 0
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
        """Queue `chunk` for every consumer (waits if too many batches are queued)."""
        self._size += len(chunk)
        self._batch.append(chunk)
        self._batch_size += len(chunk)
        if self._batch_size >= CHUNK:
            self._submit()

    def result(self) -> Digests:
        """Wait until every consumer has all the bytes and return the digests."""
        self._submit()
        for pending in self._pending:
            while pending:
                pending.popleft().result()
        sha256, sha512 = (h.hexdigest() for h in self._hashes)
        return Digests(self._size, sha256, sha512)

    def _submit(self) -> None:
        batch = b"".join(self._batch)
        self._batch, self._batch_size = [], 0
        for consume, pool, pending in zip(self._consumers, self._pools, self._pending, strict=True):
            if len(pending) >= _MAX_PENDING:
                pending.popleft().result()
            pending.append(pool.submit(consume, batch))


def hash_file(path: Path) -> Digests:
    """Digests of a local file, read in chunks (memory stays flat)."""
    with path.open("rb") as f, Digester() as hasher:
        while chunk := f.read(CHUNK):
            hasher.update(chunk)
        return hasher.result()
