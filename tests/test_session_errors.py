"""Every kind of bad session file: one InputError naming file and line, through the API and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imurun.cli import main as cli_main
from imurun.errors import InputError
from imurun.session.reader import iter_chunks, read_header, read_session

HEADER = (
    "# imurun-session: 1\n# device: test\n# placement: sacrum\n# sample_rate_hz: 100\n"
    "# acc_unit: m/s^2\n# gyr_unit: rad/s\nt,ax,ay,az,gx,gy,gz\n"
)
FIRST_DATA_LINE = HEADER.count("\n") + 1


def rows(n: int, start: int = 0) -> str:
    return "".join(f"{i / 100:.6f},0.1,0.2,9.8,0.01,0.02,0.03\n" for i in range(start, start + n))


# name -> (file bytes, expected 1-based line or None, words the message must contain)
BAD: dict[str, tuple[bytes, int | None, str]] = {
    "no_magic": ((rows(3)).encode(), 1, "not an imurun session file"),
    "csv_without_header": (b"t,ax,ay,az,gx,gy,gz\n" + rows(2).encode(), 1, "not an imurun session file"),
    "future_version": (HEADER.replace("session: 1", "session: 2").encode(), 1, "unsupported session format"),
    "unknown_acc_unit": ((HEADER.replace("m/s^2", "mg") + rows(2)).encode(), 5, "unknown acc_unit 'mg'"),
    "unknown_gyr_unit": ((HEADER.replace("rad/s", "rpm") + rows(2)).encode(), 6, "unknown gyr_unit 'rpm'"),
    "unknown_placement": (HEADER.replace("sacrum", "ankle").encode(), 3, "unknown placement 'ankle'"),
    "missing_unit_key": (HEADER.replace("# gyr_unit: rad/s\n", "").encode(), 6,
                         "missing header key 'gyr_unit'"),
    "bad_rate": (HEADER.replace(": 100", ": fast").encode(), 4, "sample_rate_hz is not a number"),
    "zero_rate": (HEADER.replace(": 100", ": 0").encode(), 4, "sample_rate_hz must be a positive number"),
    "duplicate_key": (HEADER.replace("# device: test\n", "# device: a\n# device: b\n").encode(), 3,
                      "duplicate header key 'device'"),
    "header_line_not_key_value": (HEADER.replace("# device: test", "# just a comment").encode(), 2,
                                  "expected a '# key: value' header line"),
    "no_column_row": (HEADER.replace("t,ax,ay,az,gx,gy,gz\n", "").encode(), 7, "no column row"),
    "wrong_column_row": (HEADER.replace("t,ax", "time,ax").encode(), 7, "column row must start with"),
    "unknown_column": (HEADER.replace("gz\n", "gz,temp\n").encode(), 7, "unknown column 'temp'"),
    "too_few_values": ((HEADER + rows(3) + "0.03,1,2,3,4,5\n").encode(), FIRST_DATA_LINE + 3,
                       "expected 7 values, found 6"),
    "too_many_values": ((HEADER + rows(3) + "0.03,1,2,3,4,5,6,7\n").encode(), FIRST_DATA_LINE + 3,
                        "expected 7 values, found 8"),
    "non_numeric": ((HEADER + rows(2) + "0.02,0.1,abc,9.8,0,0,0\n").encode(), FIRST_DATA_LINE + 2,
                    "column ay: not a number: 'abc'"),
    "empty_value": ((HEADER + rows(2) + "0.02,0.1,,9.8,0,0,0\n").encode(), FIRST_DATA_LINE + 2,
                    "column ay: not a number: ''"),
    "time_backwards": ((HEADER + rows(3) + rows(1, start=1)).encode(), FIRST_DATA_LINE + 3,
                       "time goes backwards (0.010000 s after 0.020000 s)"),
    "duplicate_time": ((HEADER + rows(3) + rows(1, start=2)).encode(), FIRST_DATA_LINE + 3,
                       "duplicate timestamp 0.020000 s"),
    "nan_time": ((HEADER + rows(1) + "nan,0,0,0,0,0,0\n").encode(), FIRST_DATA_LINE + 1,
                 "time is not a finite number"),
    "empty_line": ((HEADER + rows(2) + "\n" + rows(1, start=2)).encode(), FIRST_DATA_LINE + 2, "empty line"),
    "bad_note": ((HEADER + rows(2) + "# note: soon outage\n").encode(), FIRST_DATA_LINE + 2, "note line"),
    "empty_file": (b"", None, "empty file"),
    "binary_garbage": (bytes(range(256)) * 8, 1, "not an imurun session file"),
    "binary_after_header": ((HEADER + rows(2)).encode() + b"\x00\x01\xff\xfe,\x89PNG\n",
                            FIRST_DATA_LINE + 2, "expected 7 values, found 2"),
}


def write_bad(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.csv"
    path.write_bytes(BAD[name][0])
    return path


def expected_where(path: Path, line: int | None) -> str:
    return f"{path}:{line}: " if line is not None else f"{path}: "


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_file_raises_one_located_error(tmp_path, name):
    path = write_bad(tmp_path, name)
    _, line, words = BAD[name]
    with pytest.raises(InputError) as info:
        read_session(path)
    assert info.value.line == line
    assert words in info.value.message
    assert str(info.value).startswith(expected_where(path, line))
    assert "\n" not in str(info.value)


def test_header_errors_come_from_read_header_too(tmp_path):
    with pytest.raises(InputError, match="unknown acc_unit"):
        read_header(write_bad(tmp_path, "unknown_acc_unit"))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_session(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is a directory"):
        read_session(tmp_path)


def test_blocks_before_the_bad_line_are_delivered(tmp_path):
    path = tmp_path / "late.csv"
    path.write_text(HEADER + rows(10) + "0.1,x,0,0,0,0,0\n")
    got = []
    with pytest.raises(InputError) as info:
        for chunk in iter_chunks(path, rows=4, chunk_bytes=64):
            got.append(chunk.block.t)
    assert info.value.line == FIRST_DATA_LINE + 10
    assert np.array_equal(np.concatenate(got), np.arange(8) / 100)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    data=st.data(),
    kind=st.sampled_from(["junk", "backwards", "duplicate", "columns", "empty"]),
    chunk_bytes=st.integers(1, 400),
    rows_per_block=st.integers(1, 50),
)
def test_first_bad_line_is_found_exactly_wherever_it_falls(tmp_path_factory, n, data, kind, chunk_bytes,
                                                           rows_per_block):
    """The line number is exact across chunk and block boundaries, with notes in between."""
    bad_at = data.draw(st.integers(0, n - 1))
    lines = [f"{i / 100:.6f},0.1,0.2,9.8,0.01,0.02,0.03\n" for i in range(n)]
    if kind == "junk":
        lines[bad_at] = lines[bad_at].replace("9.8", "9.8x")
    elif kind == "backwards":
        lines[bad_at] = "-1.0,0,0,0,0,0,0\n" if bad_at == 0 else lines[bad_at - 1]
        if bad_at == 0:  # a first row is never "backwards": make the second one go back instead
            lines.insert(1, "-2.0,0,0,0,0,0,0\n")
            bad_at = 1
    elif kind == "duplicate":
        lines.insert(bad_at + 1, lines[bad_at])
        bad_at += 1
    elif kind == "columns":
        lines[bad_at] = lines[bad_at].replace(",0.03", "")
    else:
        lines[bad_at] = "\n"
    notes = data.draw(st.lists(st.integers(0, len(lines)), max_size=3))
    for at in sorted(notes, reverse=True):  # notes never shift the count wrongly
        lines.insert(at, f"# note: {at / 100:.3f} event\n")
        if at <= bad_at:
            bad_at += 1
    path = tmp_path_factory.mktemp("bad") / "s.csv"
    path.write_text(HEADER + "".join(lines))
    with pytest.raises(InputError) as info:
        for _ in iter_chunks(path, rows=rows_per_block, chunk_bytes=chunk_bytes):
            pass
    assert info.value.line == FIRST_DATA_LINE + bad_at, info.value.message


def test_cli_reports_each_bad_file_in_one_line(tmp_path, capsys):
    """In-process through the CLI table: exit 2, one stderr line, nothing on stdout."""
    for name, (_, line, words) in BAD.items():
        path = write_bad(tmp_path, name)
        assert cli_main(["info", str(path)]) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert err.count("\n") == 1 and words in err and expected_where(path, line) in err, err


# One file per kind of bad input in the brief; test_cli_reports_each_bad_file_in_one_line covers all.
SUBPROCESS_CASES = ("no_magic", "unknown_acc_unit", "too_few_values", "non_numeric", "time_backwards",
                    "duplicate_time", "empty_file", "binary_garbage")


def test_cli_subprocess_exit_2_without_traceback(tmp_path):
    """`python -m imurun info BAD` per kind of bad input, run in parallel to keep the test short."""
    paths = {name: write_bad(tmp_path, name) for name in SUBPROCESS_CASES}
    paths["missing_file"] = tmp_path / "nope.csv"
    paths["directory"] = tmp_path
    procs = {
        name: subprocess.Popen([sys.executable, "-m", "imurun", "info", str(p)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        for name, p in paths.items()
    }
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2, (name, err)
        assert out == "", name
        assert err.count("\n") == 1 and "Traceback" not in err, (name, err)
        assert err.startswith(f"imurun info: error: {paths[name]}"), (name, err)
