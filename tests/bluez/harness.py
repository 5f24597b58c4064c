"""A fake BlueZ for the BLE tests: a private D-Bus system bus (dbus-daemon with a minimal config
in a temp dir) serving org.bluez from bluezoo (patched launcher, own process, GPL-2.0-only) with
one adapter for the central (hci0) and one per virtual sensor (hci1...)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
"""


def available() -> str:
    """'' if the fake BlueZ can run here, else why not."""
    if shutil.which("dbus-daemon") is None:
        return "dbus-daemon not installed (apt-get install dbus-daemon)"
    try:
        import bluezoo  # noqa: F401
    except ImportError:
        return "bluezoo not installed (pip install -e '.[test]')"
    return ""


class FakeBluez:
    """Context manager: starts the bus and bluezoo; `env` points DBUS_SYSTEM_BUS_ADDRESS at it."""

    def __init__(self, workdir: Path, sensors: int = 1):
        self.workdir = workdir
        self.sensors = sensors
        self.procs: list[subprocess.Popen] = []
        socket = workdir / "system_bus_socket"
        self.address = f"unix:path={socket}"
        self.env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": self.address}
        (workdir / "bus.conf").write_text(BUS_CONFIG.format(socket=socket))

    def start(self, *argv: str, log: str) -> subprocess.Popen:
        out = open(self.workdir / log, "w")  # noqa: SIM115  (closed with the process)
        proc = subprocess.Popen(
            argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs.append(proc)
        return proc

    def __enter__(self) -> FakeBluez:
        self.start("dbus-daemon", "--nofork", f"--config-file={self.workdir / 'bus.conf'}", log="dbus.log")
        _wait_for(lambda: (self.workdir / "system_bus_socket").exists(), "dbus-daemon socket")
        adapters = [f"00:1A:7D:DA:71:{k:02X}" for k in range(self.sensors + 1)]
        argv = [sys.executable, str(HERE / "bluezoo_patched.py"), "--auto-enable", "--scan-interval", "1"]
        for a in adapters:
            argv += ["-a", a]
        self.start(*argv, log="bluezoo.log")
        _wait_for(
            lambda: f"Adding adapter[{self.sensors}]" in (self.workdir / "bluezoo.log").read_text(),
            "bluezoo",
        )
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.procs):
            stop(proc)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(ready, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout} s")
        time.sleep(0.05)
