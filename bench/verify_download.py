"""Benchmark: hashing while downloading a 1 GiB asset from a loopback HTTP server.

Compares `verifier.verify.download` (SHA-256 + SHA-512 while receiving, written to disk)
with in-memory hashlib SHA-256 over the same bytes, measured in the same run; also reports
`sha256sum`. Targets: throughput >= 50 % of in-memory SHA-256; peak RSS growth <= 64 MB.
Run: .venv/bin/python bench/verify_download.py [--size-mib 1024]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

from verifier.verify import DownloadLimits, download

THROUGHPUT_TARGET = 0.50
RSS_TARGET_MB = 64

SERVER = textwrap.dedent(
    """
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    path = sys.argv[1]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            with open(path, "rb") as f:
                size = f.seek(0, 2)
                f.seek(0)
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                self.wfile.flush()
                self.connection.sendfile(f)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()
    """
)


def make_asset(path: Path, size: int) -> None:
    block = os.urandom(64 << 20)
    with path.open("wb") as f:
        written = 0
        while written < size:
            written += f.write(block[: size - written])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def receive_only(url: str) -> float:
    """Seconds httpx needs just to receive the body: the client's own ceiling."""
    with httpx.Client() as client, client.stream("GET", url) as response:
        start = time.perf_counter()
        for _ in response.iter_raw():
            pass
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    size = parser.parse_args().size_mib << 20
    with tempfile.TemporaryDirectory(dir=Path.cwd() / "bench") as tmp:
        work = Path(tmp)
        asset = work / "asset.bin"
        make_asset(asset, size)
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(asset)], stdout=subprocess.PIPE, text=True
        )
        try:
            port = int(server.stdout.readline())  # type: ignore[union-attr]
            dest = work / "dest"
            dest.mkdir()
            rss_before = peak_rss_mb()
            with httpx.Client() as client:
                start = time.perf_counter()
                result = download(
                    client,
                    f"http://127.0.0.1:{port}/asset.bin",
                    dest,
                    allowed_hosts=(),
                    limits=DownloadLimits(max_bytes=size),
                )
                download_s = time.perf_counter() - start
            rss_growth = peak_rss_mb() - rss_before
            receive_s = receive_only(f"http://127.0.0.1:{port}/asset.bin")
        finally:
            server.terminate()
            server.wait()

        data = asset.read_bytes()
        start = time.perf_counter()
        memory_sha256 = hashlib.sha256(data).hexdigest()
        hashlib_s = time.perf_counter() - start
        start = time.perf_counter()
        hashlib.sha512(data).hexdigest()
        sha512_s = time.perf_counter() - start
        del data
        sha256sum_s = None
        if shutil.which("sha256sum"):
            start = time.perf_counter()
            subprocess.run(["sha256sum", str(asset)], check=True, capture_output=True)
            sha256sum_s = time.perf_counter() - start

    assert result.sha256 == memory_sha256, "download digest differs from in-memory digest"
    mb = size / 1e6
    ratio = hashlib_s / download_s
    print(f"asset: {size >> 20} MiB over loopback HTTP")
    print(f"download+sha256+sha512+write: {download_s:6.2f} s  {mb / download_s:7.0f} MB/s")
    print(f"hashlib sha256 in memory:      {hashlib_s:6.2f} s  {mb / hashlib_s:7.0f} MB/s")
    print(f"hashlib sha512 in memory:      {sha512_s:6.2f} s  {mb / sha512_s:7.0f} MB/s")
    if sha256sum_s:
        print(f"sha256sum (page cache):        {sha256sum_s:6.2f} s  {mb / sha256sum_s:7.0f} MB/s")
        print(f"ratio sha256sum / hashlib sha256: {hashlib_s / sha256sum_s:.0%}")
    print(f"ratio download / hashlib sha256: {ratio:.0%} (target >= {THROUGHPUT_TARGET:.0%})")
    print(f"httpx receive only, no hashing:  {receive_s:6.2f} s  {mb / receive_s:7.0f} MB/s")
    print(
        f"ceilings vs hashlib sha256: httpx receive {hashlib_s / receive_s:.0%}, "
        f"sha512 alone {hashlib_s / sha512_s:.0%}"
    )
    print(f"peak RSS growth: {rss_growth:.1f} MB (target <= {RSS_TARGET_MB} MB)")
    missed = []
    if ratio < THROUGHPUT_TARGET:
        missed.append("throughput")
    if rss_growth > RSS_TARGET_MB:
        missed.append("memory")
    if missed:
        print(f"MISSED: {', '.join(missed)}")
        return 1
    print("targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
