"""The shipped unit: systemd accepts it, its offline security exposure is at most 2.0, and the
daemon runs under the memory rule it sets (MemoryDenyWriteExecute=, here the kernel's MDWE)."""

from __future__ import annotations

import ctypes
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.ops.conftest import TOOLGATE, DaemonProcess
from verifier.config import Config

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "toolgate.service"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
MAX_EXPOSURE = 2.0


def _unit_with_local_binary(tmp_path: Path) -> Path:
    """The unit as shipped, but starting this checkout's toolgate (verify checks it exists)."""
    text = UNIT.read_text().replace("/opt/toolgate/.venv/bin/toolgate", str(TOOLGATE))
    copy = tmp_path / "toolgate.service"
    copy.write_text(text)
    return copy


def test_unit_security_exposure_is_at_most_two(tmp_path: Path):
    unit = _unit_with_local_binary(tmp_path)
    done = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    match = re.search(r"Overall exposure level for toolgate\.service: (\d+\.\d+)", done.stdout)
    assert match, done.stdout
    assert float(match.group(1)) <= MAX_EXPOSURE, done.stdout
    # systemd's own threshold check agrees (the threshold is in tenths: 20 = 2.0).
    threshold = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=yes", "--threshold=20", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert threshold.returncode == 0, threshold.stdout


def test_unit_parses_without_warnings(tmp_path: Path):
    unit = _unit_with_local_binary(tmp_path)
    done = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Unknown key" not in done.stderr and "Failed to parse" not in done.stderr, done.stderr
    text = UNIT.read_text()
    for setting in ("Type=notify", "NotifyAccess=main", "WatchdogSec=", "Restart=on-failure"):
        assert setting in text


PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1


def _deny_write_execute() -> None:  # runs in the child between fork and exec
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0):
        raise OSError(ctypes.get_errno(), "PR_SET_MDWE")


def test_daemon_runs_with_memory_deny_write_execute(
    write_config: Callable[..., Config], start_daemon: Callable[..., DaemonProcess]
):
    """The kernel's MDWE (Linux 6.3+) refuses what MemoryDenyWriteExecute= refuses: memory
    that is writable and executable. The daemon starts, reloads and stops under it."""
    wx = "import mmap; mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)"
    assert subprocess.run([sys.executable, "-c", wx], capture_output=True).returncode == 0
    refused = subprocess.run(
        [sys.executable, "-c", wx], preexec_fn=_deny_write_execute, capture_output=True
    )
    assert refused.returncode != 0 and b"PermissionError" in refused.stderr  # the rule holds

    # The signature path (sigstore on cryptography's Rust/OpenSSL) under the same rule.
    crypto = (
        "from cryptography.hazmat.primitives import hashes;"
        "from cryptography.hazmat.primitives.asymmetric import ec;"
        "from sigstore.verify import Verifier;"
        "k = ec.generate_private_key(ec.SECP256R1());"
        "k.public_key().verify(k.sign(b'x', ec.ECDSA(hashes.SHA256())), b'x',"
        " ec.ECDSA(hashes.SHA256()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", crypto], preexec_fn=_deny_write_execute, capture_output=True
    )
    assert done.returncode == 0, done.stderr

    config = write_config()
    daemon = start_daemon(config.source_path, preexec_fn=_deny_write_execute)
    daemon.notify.wait_for("READY", "1")
    daemon.process.send_signal(signal.SIGHUP)
    daemon.notify.wait_for("READY", "1", count=2, timeout=10)
    assert daemon.terminate() == 0, daemon.log_path.read_text()
    assert not [r for r in daemon.log_records() if r["level"] == "ERROR"]
