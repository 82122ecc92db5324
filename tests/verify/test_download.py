"""Streaming downloads against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import random
import resource
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.verify import (
    DownloadError,
    DownloadLimits,
    HTTPStatus,
    RedirectNotAllowed,
    Timeout,
    TooLarge,
    Truncated,
    download,
)

BODY = bytes(range(256)) * 8192  # 2 MiB: several chunks


def sized(size: int) -> bytes:
    """The body of /sized/SIZE: random-looking bytes, the same for the same size."""
    return random.Random(size).randbytes(size)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/sized/"):
            return self._send(sized(int(self.path.removeprefix("/sized/"))))
        route = {
            "/trivy.tar.gz": self._asset,
            "/truncated": self._truncated,
            "/big": self._big,
            "/big-unannounced": self._big_unannounced,
            "/slow": self._slow,
            "/trickle": self._trickle,
            "/missing": lambda: self._status(404),
            "/error": lambda: self._status(503),
            "/to-localhost": lambda: self._redirect(f"http://localhost:{self._port}/trivy.tar.gz"),
            "/to-evil": lambda: self._redirect("http://evil.example/trivy.tar.gz"),
            "/to-https-evil": lambda: self._redirect("https://evil.example/x"),
            "/loop": lambda: self._redirect("/loop"),
        }.get(self.path)
        (route or (lambda: self._status(404)))()

    @property
    def _port(self) -> int:
        return self.server.server_address[1]

    def _asset(self) -> None:
        self._send(BODY)

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _truncated(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY[: len(BODY) // 2])
        self.close_connection = True

    def _big(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(10 * len(BODY)))
        self.end_headers()
        self.close_connection = True

    def _big_unannounced(self) -> None:
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        for _ in range(5):
            self.wfile.write(BODY)
        self.close_connection = True

    def _slow(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY[:1000])
        self.wfile.flush()
        time.sleep(1.5)
        self.close_connection = True

    def _trickle(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        for offset in range(0, 30_000, 1000):
            self.wfile.write(BODY[offset : offset + 1000])
            self.wfile.flush()
            time.sleep(0.1)
        self.close_connection = True

    def _status(self, code: int) -> None:
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as c:
        yield c


LIMITS = DownloadLimits(max_bytes=4 * len(BODY), timeout=0.5, deadline=30)


def get(client: httpx.Client, url: str, dest: Path, limits: DownloadLimits = LIMITS, **kw):
    return download(client, url, dest, allowed_hosts={"localhost"}, limits=limits, **kw)


def test_download_hashes_in_one_pass_and_renames_into_place(server, client, tmp_path) -> None:
    result = get(client, f"{server}/trivy.tar.gz", tmp_path, sha512=True)
    assert result.path == tmp_path / "trivy.tar.gz"
    assert result.path.read_bytes() == BODY
    assert result.size == len(BODY)
    assert result.sha256 == hashlib.sha256(BODY).hexdigest()
    assert result.sha512 == hashlib.sha512(BODY).hexdigest()
    assert list(tmp_path.iterdir()) == [result.path]


def test_sha512_is_computed_only_when_asked(server, client, tmp_path) -> None:
    result = get(client, f"{server}/trivy.tar.gz", tmp_path)
    assert (result.sha256, result.sha512) == (hashlib.sha256(BODY).hexdigest(), None)
    assert result.path.read_bytes() == BODY


@settings(max_examples=25, deadline=None)
@given(size=st.integers(0, 3 << 20) | st.sampled_from([(1 << 20) - 1, 1 << 20, (2 << 20) + 1]))
def test_random_sizes_give_hashlib_digests_and_the_exact_file(server, size) -> None:
    body = sized(size)
    with httpx.Client() as client, tempfile.TemporaryDirectory() as tmp:
        result = get(client, f"{server}/sized/{size}", Path(tmp), name="a", sha512=True)
        assert result.path.read_bytes() == body
    assert result.size == size
    assert result.sha256 == hashlib.sha256(body).hexdigest()
    assert result.sha512 == hashlib.sha512(body).hexdigest()


def test_redirect_to_allowed_host(server, client, tmp_path) -> None:
    result = get(client, f"{server}/to-localhost", tmp_path, name="asset")
    assert result.path == tmp_path / "asset"
    assert result.sha256 == hashlib.sha256(BODY).hexdigest()


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        ("/truncated", Truncated, "closed before the body ended"),
        ("/big", TooLarge, "above the"),
        ("/big-unannounced", TooLarge, "exceeds the"),
        ("/slow", Timeout, "timed out"),
        ("/missing", HTTPStatus, "answered 404"),
        ("/error", HTTPStatus, "answered 503"),
        ("/to-evil", RedirectNotAllowed, "host 'evil.example', which is not allowed"),
        ("/loop", RedirectNotAllowed, "more than 5 redirects"),
    ],
)
def test_failures_leave_no_file(server, client, tmp_path, path, error, message) -> None:
    with pytest.raises(error, match=message):
        get(client, f"{server}{path}", tmp_path, name="asset")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("size", [0, 4095, 1 << 20, (1 << 20) + 4096, (3 << 20) + 7])
def test_aligned_and_partial_buffers_on_disk_and_tmpfs(server, client, tmp_path, size) -> None:
    """Full buffers go out with O_DIRECT where allowed, the partial last one buffered."""
    shm = Path("/dev/shm")
    for where in [tmp_path, *([shm] if shm.is_dir() else [])]:
        with tempfile.TemporaryDirectory(dir=where) as tmp:
            result = get(client, f"{server}/sized/{size}", Path(tmp), name="a")
            assert result.path.read_bytes() == sized(size)
            assert result.sha256 == hashlib.sha256(sized(size)).hexdigest()


@pytest.mark.parametrize(
    ("path", "error"),
    [("/truncated", Truncated), ("/big", TooLarge), ("/big-unannounced", TooLarge)],
)
def test_failures_with_both_hashes_leave_no_file(server, client, tmp_path, path, error) -> None:
    with pytest.raises(error):
        get(client, f"{server}{path}", tmp_path, name="asset", sha512=True)
    assert list(tmp_path.iterdir()) == []


def test_whole_download_deadline(server, client, tmp_path) -> None:
    with pytest.raises(Timeout, match="took longer"):
        get(client, f"{server}/trickle", tmp_path, DownloadLimits(len(BODY), timeout=5, deadline=1))
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_kept_when_a_new_download_fails(server, client, tmp_path) -> None:
    (tmp_path / "asset").write_bytes(b"verified earlier")
    with pytest.raises(Truncated):
        get(client, f"{server}/truncated", tmp_path, name="asset")
    assert (tmp_path / "asset").read_bytes() == b"verified earlier"


def test_a_missing_directory_is_a_download_error(server, client, tmp_path) -> None:
    with pytest.raises(DownloadError, match="cannot create a file in"):
        get(client, f"{server}/trivy.tar.gz", tmp_path / "gone", name="asset")


def test_a_full_disk_is_a_download_error_and_leaves_no_file(server, client, tmp_path) -> None:
    """A write refused by the file system (here: a file-size limit, as a full disk or a quota
    would) fails this download only, with the temporary file removed."""
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(BODY) // 2, hard))
    try:
        with pytest.raises(DownloadError, match=r"failed: .*File too large"):
            get(client, f"{server}/trivy.tar.gz", tmp_path, name="asset")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert list(tmp_path.iterdir()) == []


def test_https_downgrade_is_refused(tmp_path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "http://github.com/x"})

    mocked = httpx.Client(transport=httpx.MockTransport(handler))
    with mocked, pytest.raises(RedirectNotAllowed, match="downgrade"):
        download(
            mocked,
            "https://github.com/x",
            tmp_path,
            allowed_hosts={"github.com"},
            limits=LIMITS,
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["", "..", "a/b", "a\\b"])
def test_unsafe_names_are_refused(client, tmp_path, name: str) -> None:
    with pytest.raises(DownloadError, match="plain file name"):
        get(client, "http://127.0.0.1:1/x", tmp_path, name=name)


def test_connection_refused_is_a_download_error(client, tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens
    with pytest.raises(DownloadError, match="failed"):
        get(client, f"http://127.0.0.1:{port}/x", tmp_path)
    assert list(tmp_path.iterdir()) == []
