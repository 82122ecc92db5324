"""The Digester's worker threads and reusable buffers: every consumer sees exactly the bytes
fed, in order, whatever the chunking; memory stays bounded when a consumer lags; a failing
consumer surfaces its error."""

from __future__ import annotations

import hashlib
import random
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.verify import digests
from verifier.verify.digests import Digester

SMALL_CHUNK = 4096  # many buffer cycles from little data


class Recorder:
    """A sink that copies what it is handed (optionally slowly, so the reader gets ahead)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.parts: list[bytes] = []
        self.delay = delay

    def __call__(self, view: memoryview) -> None:
        if self.delay:
            time.sleep(self.delay)
        self.parts.append(bytes(view))


def feed(data: bytes, sizes: list[int], sink: Recorder | None, sha512: bool) -> digests.Digests:
    with Digester(sink, sha512=sha512) as hasher:
        offset = 0
        for size in sizes:
            hasher.update(data[offset : offset + size])
            offset += size
        hasher.update(data[offset:])
        return hasher.result()


def assert_digests(result: digests.Digests, data: bytes, sha512: bool) -> None:
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.sha512 == (hashlib.sha512(data).hexdigest() if sha512 else None)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    sizes=st.lists(st.integers(0, 3 * SMALL_CHUNK), max_size=40),
    sha512=st.booleans(),
)
def test_any_chunking_gives_hashlib_digests_and_the_exact_bytes(seed, sizes, sha512) -> None:
    data = random.Random(seed).randbytes(sum(sizes) + seed % 100)
    sink = Recorder()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(digests, "CHUNK", SMALL_CHUNK)
        result = feed(data, sizes, sink, sha512)
    assert_digests(result, data, sha512)
    assert b"".join(sink.parts) == data
    assert all(len(part) <= SMALL_CHUNK for part in sink.parts)


@pytest.mark.parametrize("sha512", [False, True])
def test_megabyte_buffers_across_boundaries(sha512) -> None:
    chunk = digests.CHUNK
    sizes = [chunk - 1, 1, 1, chunk + 5, 65536, 3 * chunk, 0, 7]
    data = random.Random(1).randbytes(sum(sizes) + 12345)
    sink = Recorder()
    assert_digests(feed(data, sizes, sink, sha512), data, sha512)
    assert b"".join(sink.parts) == data


def test_a_buffer_is_refilled_only_after_a_slow_consumer_is_done_with_it(monkeypatch) -> None:
    monkeypatch.setattr(digests, "CHUNK", SMALL_CHUNK)
    data = random.Random(2).randbytes(5 * digests._MAX_PENDING * SMALL_CHUNK)
    sink = Recorder(delay=0.002)  # the reader laps the buffer ring many times over
    assert_digests(feed(data, [1000] * (len(data) // 1000), sink, False), data, False)
    assert b"".join(sink.parts) == data


def test_a_blocked_consumer_bounds_what_the_reader_takes(monkeypatch) -> None:
    monkeypatch.setattr(digests, "CHUNK", SMALL_CHUNK)
    release = threading.Event()
    fed = 0

    def blocked(view: memoryview) -> None:
        release.wait(10)

    def reader(hasher: Digester) -> None:
        nonlocal fed
        for _ in range(4 * digests._MAX_PENDING):
            hasher.update(bytes(SMALL_CHUNK))
            fed += 1

    with Digester(blocked, sha512=False) as hasher:
        thread = threading.Thread(target=reader, args=(hasher,))
        thread.start()
        seen, deadline = -1, time.monotonic() + 30
        while (seen != fed or not fed) and time.monotonic() < deadline:  # until it stops advancing
            seen = fed
            time.sleep(0.1)
        assert 1 <= fed < digests._MAX_PENDING  # waiting on the sink, buffers bounded
        release.set()
        thread.join(10)
        assert fed == 4 * digests._MAX_PENDING
        assert hasher.result().size == 4 * digests._MAX_PENDING * SMALL_CHUNK


def test_a_failing_consumer_surfaces_its_error() -> None:
    def full_disk(view: memoryview) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"), Digester(full_disk) as hasher:
        for _ in range(3 * digests._MAX_PENDING):
            hasher.update(bytes(digests.CHUNK))
        hasher.result()
