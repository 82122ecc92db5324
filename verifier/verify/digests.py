"""SHA-256 and SHA-512 in one pass over a stream, each on its own thread."""

from __future__ import annotations

import hashlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

CHUNK = 1 << 20
_MAX_PENDING = 8  # chunks queued per hash: bounds memory when hashing lags reading


@dataclass(frozen=True)
class Digests:
    """Size and lowercase-hex digests of some bytes."""

    size: int
    sha256: str
    sha512: str


class DualHasher:
    """Feeds SHA-256 and SHA-512 from worker threads (hashlib releases the GIL), so both
    hashes and the I/O that produces the chunks overlap instead of adding up."""

    def __init__(self) -> None:
        self._hashes = [hashlib.sha256(), hashlib.sha512()]
        self._pools = [ThreadPoolExecutor(max_workers=1) for _ in self._hashes]
        self._pending: list[deque[Future[None]]] = [deque() for _ in self._hashes]
        self._size = 0

    def __enter__(self) -> DualHasher:
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
        """Queue `chunk` for both hashes (waits if too many chunks are queued)."""
        self._size += len(chunk)
        for hash_, pool, pending in zip(self._hashes, self._pools, self._pending, strict=True):
            if len(pending) >= _MAX_PENDING:
                pending.popleft().result()
            pending.append(pool.submit(hash_.update, chunk))

    def result(self) -> Digests:
        """Wait for queued chunks and return the digests."""
        for pending in self._pending:
            while pending:
                pending.popleft().result()
        sha256, sha512 = (h.hexdigest() for h in self._hashes)
        return Digests(self._size, sha256, sha512)


def hash_file(path: Path) -> Digests:
    """Digests of a local file, read in chunks (memory stays flat)."""
    with path.open("rb") as f, DualHasher() as hasher:
        while chunk := f.read(CHUNK):
            hasher.update(chunk)
        return hasher.result()
