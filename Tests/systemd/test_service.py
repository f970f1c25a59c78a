#!/usr/bin/env python3
"""Checks plumbd's systemd integration: the exposure score of Board/systemd/plumbd.service
(systemd-analyze security --offline=true, target 2.5 or lower), and the daemon's own
sd_notify: READY=1 after start-up, WATCHDOG=1 at the rate WATCHDOG_USEC asks for, and
STOPPING=1 on SIGTERM. Usage: test_service.py [COMMAND...] (default: the host plumbd;
e.g. qemu-aarch64 -L /usr/aarch64-linux-gnu build/aarch64/plumbd for the firmware)"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fail(msg):
    print("test_service: FAIL: " + msg)
    sys.exit(1)


def exposure():
    unit = os.path.join(ROOT, "Board/systemd/plumbd.service")
    out = subprocess.run(["systemd-analyze", "security", "--offline=true", unit],
                         capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for plumbd.service: ([0-9.]+)", out.stdout)
    if not m:
        fail("no exposure score from systemd-analyze:\n" + out.stdout[-500:] + out.stderr[-500:])
    score = float(m.group(1))
    print(f"test_service: systemd-analyze security exposure of plumbd.service: {score} (target <= 2.5)")
    if score > 2.5:
        fail("exposure above 2.5")


def notify(command):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(0.2)
        env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="200000")
        config = os.path.join(ROOT, "Tests/fixtures/unprivileged.toml")
        board = os.path.join(ROOT, "Tests/fixtures/no-hardware.toml")
        p = subprocess.Popen(command + ["--config", config, "--board", board], env=env,
                             stderr=subprocess.PIPE, text=True)
        messages = []
        deadline = time.time() + 10
        watchdogs = 0
        try:
            while time.time() < deadline and watchdogs < 5:
                try:
                    m = sock.recv(4096).decode()
                except socket.timeout:
                    continue
                messages.append(m)
                watchdogs += m.count("WATCHDOG=1")
            p.send_signal(signal.SIGTERM)
            end = time.time() + 5
            while time.time() < end:
                try:
                    m = sock.recv(4096).decode()
                    messages.append(m)
                    if "STOPPING=1" in m:
                        break
                except socket.timeout:
                    if p.poll() is not None:
                        break
            p.wait(timeout=5)
        finally:
            if p.poll() is None:
                p.kill()
        if not messages or not messages[0].startswith("READY=1"):
            fail(f"first notification is not READY=1: {messages[:2]}")
        if watchdogs < 5:
            fail(f"only {watchdogs} WATCHDOG=1 in 10 s with WATCHDOG_USEC=200000")
        if not any("STOPPING=1" in m for m in messages):
            fail("no STOPPING=1 on SIGTERM")
        if p.returncode != 0:
            fail(f"plumbd exited {p.returncode} on SIGTERM")
        print(f"test_service: READY=1, {watchdogs} WATCHDOG=1 (every 100 ms), STOPPING=1, exit 0")


if __name__ == "__main__":
    exposure()
    notify(sys.argv[1:] if len(sys.argv) > 1 else [os.path.join(ROOT, ".build/debug/plumbd")])
    print("test_service: OK")
