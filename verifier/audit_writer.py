"""The audit writer process: inserts the server's decision records into the store.

The server's audit buffer hands it each batch over a pipe and waits, in a worker thread, for the
commit to be acknowledged, so the database work (row conversion, SQL, commit) never competes with
the event loop for the server's GIL. The process ignores SIGINT and SIGTERM (a stopping server
flushes its buffer first, then closes the pipe) and exits when its input closes, so it never
outlives the server. If it dies, the batch in flight is kept by the server, which starts a new
writer for the next flush.

Time limits: a batch not acknowledged within `WRITE_SECONDS` (a store that stopped answering)
is abandoned and the process killed, as if it had died; a writer not ready within
`START_SECONDS` too. The writer's own PostgreSQL statements stop at the same limit.

Protocol (both ways: a 4-byte big-endian length, then a pickle): the server sends the store URL
once (answered `None` when ready), then per batch one or more `(rows, last)` chunks; after the
last chunk the writer inserts all the batch's rows in one transaction and answers `None`, or the
error's first line.
"""

from __future__ import annotations

import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
from typing import IO, Any

from sqlalchemy.exc import SQLAlchemyError

from verifier.audit import AuditRow, StoreWriter, WriteFailed
from verifier.store.engine import create_store_engine

_LENGTH = struct.Struct("!I")
# Rows pickled per chunk: pickling holds the GIL in one C call (about 0.7 us a row), so a large
# batch is sent in pieces and the event loop gets the GIL back between them.
CHUNK_ROWS = 500
WRITE_SECONDS = 15.0  # a batch not acknowledged by then is abandoned, the writer killed
START_SECONDS = 30.0  # from starting the process to its "ready"


class _NoAnswer(Exception):
    """The writer did not answer within its time limit."""


def _send(pipe: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(_LENGTH.pack(len(data)) + data)


def _answer(pipe: IO[bytes], timeout: float) -> Any:
    """The next message on `pipe` (the writer's stdout), waiting at most `timeout` seconds for
    it to begin (the protocol is strictly request-answer: nothing is buffered before it)."""
    readable, _, _ = select.select([pipe], [], [], timeout)
    if not readable:
        raise _NoAnswer
    return _receive(pipe)


def _receive(pipe: IO[bytes]) -> Any:
    header = pipe.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        raise EOFError("the pipe closed")
    (size,) = _LENGTH.unpack(header)
    data = pipe.read(size)
    if len(data) < size:
        raise EOFError("the pipe closed mid-message")
    return pickle.loads(data)


class WriterProcess:
    """The server's handle on the writer process: `write` blocks until the batch is committed.

    Thread-safe; the process is started on the first write and again after it died.
    """

    def __init__(self, store_url: str, *, timeout: float = WRITE_SECONDS) -> None:
        self._url = store_url
        self.timeout = timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "verifier.audit_writer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert proc.stdin is not None and proc.stdout is not None
        self.starts += 1
        try:
            _send(proc.stdin, self._url)  # on its pipe, not in argv: the URL may hold a password
            proc.stdin.flush()
            _answer(proc.stdout, START_SECONDS)  # ready: imported, engine created
        except _NoAnswer:
            self._discard(proc)
            raise WriteFailed(
                f"audit writer process not ready within {START_SECONDS:g} s"
            ) from None
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            self._discard(proc)
            raise WriteFailed(f"audit writer process did not start ({exc})") from None
        return proc

    def start(self) -> None:
        """Start the writer now (before the first batch needs it) unless it runs."""
        with self._lock:
            self._running()

    def _running(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is not None:
            self._discard(self._proc)  # died between batches
        if self._proc is None:
            try:
                self._proc = self._start()
            except OSError as exc:
                raise WriteFailed(f"audit writer process did not start ({exc})") from None
        return self._proc

    def write(self, rows: list[AuditRow]) -> None:
        """Insert `rows` in one transaction; WriteFailed if they were not committed (or not
        acknowledged within `timeout`: the writer is then killed, and the rows may or may not
        have been committed)."""
        with self._lock:
            proc = self._running()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                for start in range(0, len(rows), CHUNK_ROWS):
                    chunk = rows[start : start + CHUNK_ROWS]
                    _send(proc.stdin, (chunk, start + CHUNK_ROWS >= len(rows)))
                proc.stdin.flush()
                error = _answer(proc.stdout, self.timeout)
            except _NoAnswer:
                self._discard(proc)
                raise WriteFailed(
                    f"no answer from the store within {self.timeout:g} s (audit writer restarted)"
                ) from None
            except (OSError, EOFError, pickle.UnpicklingError) as exc:
                self._discard(proc)
                raise WriteFailed(f"audit writer process exited ({exc})") from None
            if error is not None:
                raise WriteFailed(error)

    def _discard(self, proc: subprocess.Popen[bytes]) -> None:
        proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
        self._proc = None

    def close(self, timeout: float = 30) -> None:
        """Let the writer finish and exit (it has nothing pending once `write` returned)."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is None:
                return
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.close()
                proc.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
            proc.stdout.close()


def main() -> int:
    """The writer process: batches from stdin, inserted, acknowledged on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but acknowledgements goes to the pipe
    try:
        engine = create_store_engine(_receive(source), statement_timeout=WRITE_SECONDS)
        writer = StoreWriter(engine)
        _send(sink, None)  # ready
        sink.flush()
        while True:
            rows: list[AuditRow] = []
            last = False
            while not last:
                chunk, last = _receive(source)
                rows += chunk
            try:
                writer.write(rows)
                error = None
            except SQLAlchemyError as exc:
                error = str(exc).splitlines()[0]
            _send(sink, error)
            sink.flush()
    except EOFError:  # the server closed the pipe: everything sent was acknowledged
        return 0


if __name__ == "__main__":
    sys.exit(main())
