"""What a crash leaves behind: a SessionWriter killed with SIGKILL mid-run, and a truncated last line."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from imurun.cli import main as cli_main
from imurun.session.format import SessionHeader
from imurun.session.reader import iter_chunks, read_session
from imurun.session.writer import SessionWriter

RATE_HZ = 200.0
BLOCK_ROWS = 10  # 50 ms blocks, as a live BLE run hands them to the recorder

# The child records like a live run: one block every 50 ms of wall time, and after each write()
# returns it prints the block's last t, so the parent knows what the writer was given.
CHILD = """
import sys, time
import numpy as np
from imurun.session.format import SessionHeader
from imurun.session.writer import SessionWriter

rate, rows = float(sys.argv[2]), int(sys.argv[3])
w = SessionWriter(sys.argv[1], SessionHeader(device="sigkill test", sample_rate_hz=rate))
start = time.monotonic()
for k in range(10_000):
    i = np.arange(k * rows, (k + 1) * rows)
    t = i / rate
    w.write(t, np.column_stack([np.sin(t), np.cos(t), 9.81 + 0 * t]), np.column_stack([t, -t, 0 * t]))
    print(f"{t[-1]:.6f}", flush=True)
    time.sleep(max(0.0, start + (k + 1) * rows / rate - time.monotonic()))
"""


def test_sigkill_during_a_live_recording_leaves_a_readable_file_missing_at_most_a_second(tmp_path):
    path = tmp_path / "killed.csv"
    kill_after_s = random.uniform(0.8, 2.5)  # of recording, after the first block
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(RATE_HZ), str(BLOCK_ROWS)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        out = [proc.stdout.readline()]
        assert out[0], "the child wrote nothing"
        started = time.monotonic()
        while time.monotonic() - started < kill_after_s:
            out.append(proc.stdout.readline())
        proc.send_signal(signal.SIGKILL)
        out.append(proc.stdout.read())
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    printed = [ln for ln in "".join(out).splitlines(keepends=True) if ln.endswith("\n")]
    reported = float(printed[-1])  # the last t the writer accepted before the kill
    assert reported >= 0.7, f"child only got to {reported} s (killed at {kill_after_s:.2f} s)"

    s = read_session(path)
    why = f"killed {kill_after_s:.2f} s in, writer had accepted t <= {reported}"
    assert s.t[-1] >= reported - 1.0, why  # the bound: at most the last second is lost
    # Each write() flushes its lines to the OS, so against SIGKILL (unlike a power cut) nothing
    # the writer accepted is lost, and at most one block it had not yet accepted may follow.
    assert reported <= s.t[-1] <= reported + BLOCK_ROWS / RATE_HZ, why
    n = len(s.t)
    assert np.array_equal(s.t, np.round(np.arange(n) / RATE_HZ, 6)), "rows lost or garbled inside"
    assert np.allclose(s.acc[:, 0], np.sin(s.t), atol=1e-5) and np.allclose(s.gyr[:, 1], -s.t, atol=1e-6)


def _complete_session(path, n: int = 1000) -> tuple[bytes, np.ndarray]:
    """A written session of n rows, and the bytes of the row that would come next."""
    t = np.arange(n + 1) / 100.0
    acc = np.column_stack([np.sin(t), np.cos(t), np.full(n + 1, 9.81)])
    gyr = np.column_stack([t, -t, np.zeros(n + 1)])
    with SessionWriter(path, SessionHeader(sample_rate_hz=100.0)) as w:
        w.write(t[:n], acc[:n], gyr[:n])
    complete = path.read_bytes()
    with SessionWriter(path, SessionHeader(sample_rate_hz=100.0)) as w:
        w.write(t, acc, gyr)
    next_row = path.read_bytes()[len(complete) :]
    assert next_row.endswith(b"\n") and next_row.count(b"\n") == 1
    return complete, next_row


@pytest.mark.parametrize("chunk_bytes", [37, 4096, 1 << 22])
@pytest.mark.parametrize("cut", [1, 9, 30, -1])  # -1: the whole row, only its newline missing
def test_truncated_last_line_is_skipped_with_a_warning_naming_file_and_line(tmp_path, capsys, cut,
                                                                            chunk_bytes):
    path = tmp_path / "cut.csv"
    complete, next_row = _complete_session(path)
    path.write_bytes(complete + next_row[:cut])
    line = complete.count(b"\n") + 1  # the truncated line's 1-based number

    chunks = list(iter_chunks(path, rows=64, chunk_bytes=chunk_bytes))
    err = capsys.readouterr().err
    why = "skipped a truncated last line (no newline at end of file)"
    assert err == f"imurun: warning: {path}:{line}: {why}\n"
    t = np.concatenate([c.block.t for c in chunks])
    assert np.array_equal(t, np.arange(1000) / 100.0)  # every complete row, none more
    gyr = np.concatenate([c.block.gyr for c in chunks])
    assert np.array_equal(gyr[:, 0], t)


def test_a_file_ending_in_a_newline_gives_no_warning(tmp_path, capsys):
    path = tmp_path / "whole.csv"
    _complete_session(path, n=10)
    assert len(read_session(path).t) == 11
    assert capsys.readouterr().err == ""


def test_commands_read_a_truncated_file_and_only_warn(tmp_path, capsys):
    path = tmp_path / "cut.csv"
    complete, next_row = _complete_session(path)
    path.write_bytes(complete + next_row[:12])
    assert cli_main(["info", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "1000 over 9.99 s" in " ".join(out.split())
    assert err.count("\n") == 1 and "skipped a truncated last line" in err
