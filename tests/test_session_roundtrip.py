"""Writer -> reader round trips, chunking at every position, and the parser's exactness."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from realdata import REAL

from imurun.session.format import (
    ACC_DECIMALS,
    ACC_UNITS,
    EXTRA_COLUMNS,
    GYR_DECIMALS,
    GYR_UNITS,
    SessionHeader,
)
from imurun.session.reader import (
    iter_blocks,
    iter_chunks,
    read_header,
    read_notes,
    read_session,
    read_session_data,
)
from imurun.session.writer import SessionWriter

REAL_FILE = str(REAL / "HA_001_Test5_Trial1.csv")  # a real recording, 100 Hz
HEAD = ("# imurun-session: 1\r\n# sample_rate_hz: 100\r\n# acc_unit: m/s^2\r\n# gyr_unit: rad/s\r\n"
        "t,ax,ay,az,gx,gy,gz\r\n")


@st.composite
def sessions(draw):
    """(header, t, acc, gyr, extra, notes-after-write-index) for a random small session."""
    n = draw(st.integers(0, 30))
    extra_cols = draw(st.lists(st.sampled_from(EXTRA_COLUMNS), unique=True, max_size=5))
    keys = draw(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(
        lambda k: k not in ("device", "placement", "sample_rate_hz", "acc_unit", "gyr_unit", "note")),
        st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Zl", "Zp", "Cs")), max_size=20).map(
            str.strip), max_size=3))
    header = SessionHeader(
        device=draw(st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Zl", "Zp", "Cs")),
                            max_size=30)).strip(),
        placement=draw(st.sampled_from(["sacrum", "lower-back", "upper-back"])),
        sample_rate_hz=draw(st.sampled_from([50.0, 100.0, 104.1666, 200.0, 400.0])),
        acc_unit=draw(st.sampled_from(list(ACC_UNITS))),
        gyr_unit=draw(st.sampled_from(list(GYR_UNITS))),
        columns=("t", "ax", "ay", "az", "gx", "gy", "gz", *extra_cols),
        extra=keys,
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    t = np.round(np.cumsum(rng.uniform(1e-5, 0.5, n)) - 1.0, 6)
    acc = rng.normal(0, 30, (n, 3))
    gyr = rng.normal(0, 10, (n, 3))
    if n and draw(st.booleans()):  # NaN rows mark unusable samples
        acc[rng.integers(0, n)] = np.nan
    extra = {c: (np.arange(n) + 7.0 if c == "seq" else rng.normal(0, 50, n)) for c in extra_cols}
    splits = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
    return header, t, acc, gyr, extra, splits


def write(path, header, t, acc, gyr, extra, splits):
    """Write in pieces cut at `splits`, with a note after each piece; returns the notes' (t, text)."""
    notes = []
    with SessionWriter(path, header) as w:
        bounds = [0, *splits, len(t)]
        for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            w.write(t[a:b], acc[a:b], gyr[a:b], {c: v[a:b] for c, v in extra.items()})
            if k < len(splits):
                notes.append((k + 0.5, f"event {k}: ütf-8, commas, colons"))
                w.note(*notes[-1])
    return notes


def assert_close_to_precision(header, got, t, acc, gyr, extra):
    assert np.array_equal(got.block.t, np.round(t, 6))
    acc_tol = 0.5 * 10.0 ** -ACC_DECIMALS[header.acc_unit] * ACC_UNITS[header.acc_unit] * (1 + 1e-9)
    gyr_tol = 0.5 * 10.0 ** -GYR_DECIMALS[header.gyr_unit] * GYR_UNITS[header.gyr_unit] * (1 + 1e-9)
    np.testing.assert_array_equal(np.isnan(got.block.acc), np.isnan(acc))
    assert np.all(np.abs(np.nan_to_num(got.block.acc - acc)) <= acc_tol + 1e-12 * np.abs(np.nan_to_num(acc)))
    assert np.all(np.abs(got.block.gyr - gyr) <= gyr_tol + 1e-12 * np.abs(gyr))
    for c, v in extra.items():
        tol = 0 if c == "seq" else 0.5e-6 if c == "device_t" else 0.5e-3
        assert np.all(np.abs(got.extra[c] - v) <= tol * (1 + 1e-9) + 1e-12 * np.abs(v)), c


@settings(max_examples=80, deadline=None)
@given(s=sessions(), rows=st.integers(1, 12), chunk_bytes=st.integers(1, 300))
def test_round_trip_in_any_chunking(tmp_path_factory, s, rows, chunk_bytes):
    header, t, acc, gyr, extra, splits = s
    path = tmp_path_factory.mktemp("rt") / "run.csv"
    notes = write(path, header, t, acc, gyr, extra, splits)

    assert read_header(path) == header
    whole = read_session_data(path)
    assert whole.header == header
    assert_close_to_precision(header, whole, t, acc, gyr, extra)
    assert [(n.t, n.text) for n in whole.notes] == notes
    lines = path.read_text(encoding="utf-8").split("\n")
    assert all(lines[n.line - 1].startswith(f"# note: {n.t:.6f} ") for n in whole.notes)

    chunks = list(iter_chunks(path, rows=rows, chunk_bytes=chunk_bytes))
    sizes = [len(c.block) for c in chunks]
    assert all(size == rows for size in sizes[:-1] if size)
    assert sum(sizes) == len(t)
    joined_t = np.concatenate([c.block.t for c in chunks]) if chunks else np.empty(0)
    assert np.array_equal(joined_t, whole.block.t)
    for name in ("acc", "gyr"):
        joined = np.concatenate([getattr(c.block, name) for c in chunks]) if chunks else np.empty((0, 3))
        np.testing.assert_array_equal(joined, getattr(whole.block, name))
    for c in header.extra_columns if chunks else ():
        np.testing.assert_array_equal(np.concatenate([ch.extra[c] for ch in chunks]), whole.extra[c])
    assert [n for c in chunks for n in c.notes] == list(whole.notes)
    for c in chunks:  # a chunk's rows start where it says
        if len(c.block):
            assert lines[c.first_line - 1].startswith(f"{c.block.t[0] / 1:.6f},")


# decimal tokens of every shape the parser meets: fast path (<= 15 digits, |exp| <= 22) and slow path
tokens = st.one_of(
    st.builds(
        lambda sign, whole, frac, exp: f"{sign}{whole}{frac}{exp}",
        st.sampled_from(["", "-", "+"]),
        st.from_regex(r"[0-9]{1,20}", fullmatch=True),
        st.sampled_from([""]) | st.from_regex(r"\.[0-9]{0,20}", fullmatch=True),
        st.sampled_from([""])
        | st.builds(lambda e, x: f"{e}{x}", st.sampled_from("eE"), st.integers(-40, 40)),
    ),
    st.from_regex(r"[+-]?\.[0-9]{1,18}", fullmatch=True),
    st.sampled_from(["nan", "NaN", "-nan", "inf", "-Infinity", "-0", "1e-320", "1.7976931348623157e308"]),
    st.floats(allow_nan=False).map(repr),
)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.lists(tokens, min_size=6, max_size=6), min_size=1, max_size=20),
       chunk_bytes=st.integers(8, 200))
def test_parsed_values_equal_python_float_exactly(tmp_path_factory, values, chunk_bytes):
    """The numba fast path rounds exactly like float(): bit-identical values for every token."""
    path = tmp_path_factory.mktemp("exact") / "s.csv"
    head = HEAD.replace("\r\n", "\n")
    body = "".join(f"{i},{','.join(row)}\n" for i, row in enumerate(values))
    path.write_text(head + body)
    got = np.concatenate([np.column_stack([c.block.acc, c.block.gyr])
                          for c in iter_chunks(path, rows=3, chunk_bytes=chunk_bytes)])
    want = np.array([[float(v) for v in row] for row in values])
    np.testing.assert_array_equal(got, want)
    real = ~np.isnan(want)  # the sign of a NaN carries no meaning
    assert np.array_equal(np.signbit(got[real]), np.signbit(want[real]))


def test_units_are_converted_to_si(tmp_path):
    path = tmp_path / "g.csv"
    header = SessionHeader(acc_unit="g", gyr_unit="deg/s")
    with SessionWriter(path, header) as w:
        w.write(np.array([0.0]), np.array([[9.80665, 0, -9.80665]]), np.array([[math.pi, 0, -math.pi / 2]]))
    row = path.read_text().splitlines()[-1]
    assert row == "0.000000,1.000000,0.000000,-1.000000,180.0000,0.0000,-90.0000"
    session = read_session(path)
    np.testing.assert_allclose(session.acc, [[9.80665, 0, -9.80665]], rtol=1e-15)
    np.testing.assert_allclose(session.gyr, [[math.pi, 0, -math.pi / 2]], rtol=1e-15)


def test_session_unpacks_and_exposes_arrays():
    header, block = read_session(REAL_FILE)
    session = read_session(REAL_FILE)
    assert header.sample_rate_hz == 100 and header.gyr_unit == "deg/s" and header.placement == "lower-back"
    assert header.extra["source"].startswith("mobgap 1.2.0")
    assert session.t is session.block.t and len(block) == 1246
    assert session.t[0] == 0.0 and np.all(np.diff(session.t) > 0)
    # the first data row, 7.5401 deg/s, read in rad/s
    assert session.gyr[0, 0] == pytest.approx(7.5401 * math.pi / 180, rel=1e-15)
    assert sum(len(b) for b in iter_blocks(REAL_FILE, rows=100)) == 1246


def test_crlf_line_endings_and_spaces_are_read(tmp_path):
    path = tmp_path / "win.csv"
    path.write_bytes(HEAD.encode() + b"0,1,2,3,4,5,6\r\n0.01, 1, 2, 3, 4, 5, 6\r\n")
    session = read_session(path)
    np.testing.assert_array_equal(session.t, [0, 0.01])
    np.testing.assert_array_equal(session.acc, [[1, 2, 3], [1, 2, 3]])


def test_notes_are_kept_out_of_the_data(tmp_path):
    path = tmp_path / "n.csv"
    with SessionWriter(path, SessionHeader()) as w:
        w.write(np.array([0.0, 0.005]), np.zeros((2, 3)), np.zeros((2, 3)))
        w.note(0.005, "BLE outage\nstarted")
        w.write(np.array([1.0]), np.ones((1, 3)), np.ones((1, 3)))
        w.note(1.0, "BLE back after 0.995 s")
    notes = read_notes(path)
    assert [(n.t, n.text, n.line) for n in notes] == [(0.005, "BLE outage started", 10),
                                                       (1.0, "BLE back after 0.995 s", 12)]
    assert len(read_session(path).block) == 3


@pytest.mark.parametrize(
    "kwargs, problem",
    [
        (dict(t=[0.0, 0.0]), "increase strictly"),
        (dict(t=[0.0, np.nan]), "finite"),
        (dict(acc=np.zeros((2, 2))), r"acc \(n, 3\)"),
        (dict(extra={"seq": np.arange(2)}), "extra columns must be exactly"),
    ],
)
def test_writer_refuses_bad_calls(tmp_path, kwargs, problem):
    args = dict(t=[0.0, 0.01], acc=np.zeros((2, 3)), gyr=np.zeros((2, 3)), extra=None) | kwargs
    with SessionWriter(tmp_path / "w.csv", SessionHeader()) as w, pytest.raises(ValueError, match=problem):
        w.write(**args)


def test_writer_refuses_bad_headers(tmp_path):
    for header, problem in [
        (SessionHeader(acc_unit="mg"), "unknown acc_unit"),
        (SessionHeader(device="two\nlines"), "one line"),
        (SessionHeader(extra={"acc_unit": "g"}), "not allowed"),
        (SessionHeader(columns=("t", "ax", "ay", "az", "gx", "gy", "gz", "temp")), "unknown column"),
    ]:
        with pytest.raises(ValueError, match=problem):
            SessionWriter(tmp_path / "h.csv", header)
    assert not (tmp_path / "h.csv").exists()


def test_time_must_increase_across_writes(tmp_path):
    with SessionWriter(tmp_path / "w.csv", SessionHeader()) as w:
        w.write([0.0, 0.01], np.zeros((2, 3)), np.zeros((2, 3)))
        with pytest.raises(ValueError, match="increase strictly"):
            w.write([0.01], np.zeros((1, 3)), np.zeros((1, 3)))


def test_accelerometer_only_session_round_trips_with_nan_gyro(tmp_path):
    """`t,ax,ay,az` (a sensor without a gyroscope, DESIGN "Files"): read back with NaN gyro columns,
    extra columns after the three axes; a gyro column alone is still an unknown column."""
    path = tmp_path / "h10.csv"
    header = SessionHeader(sample_rate_hz=50.0, acc_unit="g", columns=("t", "ax", "ay", "az", "seq"))
    t = np.arange(5) / 50.0
    acc = np.tile([0.0, 0.0, 9.80665], (5, 1))
    with SessionWriter(path, header) as w:
        w.write(t, acc, np.zeros((5, 3)), {"seq": np.arange(5.0)})
    assert path.read_text().splitlines()[6:8] == ["t,ax,ay,az,seq", "0.000000,0.000000,0.000000,1.000000,0"]
    data = read_session_data(path)
    assert not data.header.has_gyro and data.header.extra_columns == ("seq",)
    assert np.array_equal(data.block.acc, acc) and np.all(np.isnan(data.block.gyr))
    assert np.array_equal(data.extra["seq"], np.arange(5.0))
    # its gyr_unit describes no column: a file written by hand without it reads the same
    bare = tmp_path / "bare.csv"
    bare.write_text(path.read_text().replace("# gyr_unit: rad/s\n", ""))
    again = read_session_data(bare)
    assert "gyr_unit" not in bare.read_text() and np.array_equal(again.block.acc, acc)
    header.columns = ("t", "ax", "ay", "az", "gx")
    assert "unknown column 'gx'" in header.problem()[1]


_PURE_PYTHON_READ = """
import sys
import numpy as np
from imurun.session.reader import read_session
block = read_session(sys.argv[1])[1]
np.save(sys.argv[2], np.c_[block.t, block.acc, block.gyr])
"""


def test_a_session_reads_the_same_in_plain_python(tmp_path):
    """NUMBA_DISABLE_JIT=1 (stepping through a kernel on a real recording) runs the parser as
    Python, where a digit taken from the uint8 buffer kept numpy's uint8 arithmetic: a mantissa
    wrapped at 256 and a real file failed with "time goes backwards". A file with exponents, signs
    and long mantissas reads the same either way."""
    import os
    import subprocess
    import sys

    path = tmp_path / "s.csv"
    text = (REAL / "HA_001_Test5_Trial1.csv").read_text().splitlines()[:400]
    text += ["4.0000,-1.2345678901234e+01,9.8E-3,+12345.678,0,-0.5e2,1e-22"]
    path.write_text("\n".join(text) + "\n")
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    run = [sys.executable, "-c", _PURE_PYTHON_READ, str(path), str(tmp_path / "out.npy")]
    proc = subprocess.run(run, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    block = read_session(path)[1]
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), np.c_[block.t, block.acc, block.gyr])
