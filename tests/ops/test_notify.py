"""The sd_notify client on its own: abstract sockets, WATCHDOG_USEC/WATCHDOG_PID, no manager."""

from __future__ import annotations

import os
import socket
import uuid

from verifier.notify import Notifier


def test_abstract_namespace_socket_receives_one_datagram_per_state():
    name = f"tg-notify-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind("\0" + name)
        receiver.settimeout(2)
        notifier = Notifier({"NOTIFY_SOCKET": f"@{name}"})
        notifier.ready("serving 3 tools")
        notifier.reloading()
        notifier.stopping()
        notifier.close()
        ready, reloading, stopping = (receiver.recv(4096).decode() for _ in range(3))
    assert ready == "READY=1\nSTATUS=serving 3 tools"
    assert reloading.startswith("RELOADING=1\nMONOTONIC_USEC=")
    assert stopping.startswith("STOPPING=1\nSTATUS=stopping")


def test_watchdog_interval_is_half_of_watchdog_usec_and_only_for_this_process():
    assert Notifier({"WATCHDOG_USEC": "30000000"}).watchdog_interval == 15.0
    mine = {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(mine).watchdog_interval == 15.0
    theirs = {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}
    assert Notifier(theirs).watchdog_interval is None
    assert Notifier({"WATCHDOG_USEC": "0"}).watchdog_interval is None
    assert Notifier({}).watchdog_interval is None


def test_without_a_manager_nothing_is_sent_and_a_dead_socket_is_not_fatal(tmp_path, caplog):
    silent = Notifier({})
    assert not silent.enabled
    silent.ready("x")  # no socket: nothing to do
    gone = Notifier({"NOTIFY_SOCKET": str(tmp_path / "no-such-socket")})
    gone.watchdog()
    gone.watchdog()
    assert caplog.text.count("cannot notify the service manager") == 1
