"""Firmware profiles load, and every kind of mistake is one clear line naming file and key."""

import shutil
import subprocess
import sys

import pytest

from imurun.ble.profiles import PROFILE_DIR, load_profile, load_profiles
from imurun.errors import InputError


def test_bundled_profiles_load_and_cite_sources():
    profiles = load_profiles()
    expected = {"witmotion-wt901ble", "movella-dot", "polar-h10", "polar-verity-sense", "imurun-nus"}
    assert expected <= set(profiles)
    for p in profiles.values():
        assert p.sources and p.default_rate_hz in p.rates_hz


def test_start_commands_render_documented_bytes():
    p = load_profiles()
    assert p["witmotion-wt901ble"].commands("start", 100)[-1][1] == bytes.fromhex("FFAA030900")
    assert p["witmotion-wt901ble"].commands("start", 200)[-1][1] == bytes.fromhex("FFAA030A00")
    assert p["polar-h10"].commands("start", 200)[0][1] == bytes.fromhex("02020001C800010110000201 0800")
    dot = p["movella-dot"].commands("start", 60)
    assert len(dot[0][1]) == 32 and dot[0][1][24:26] == (60).to_bytes(2, "little")
    assert dot[1] == ("15172001-4947-11e9-8646-d663bd873d93", bytes([1, 1, 21]))


def test_advertisement_matching():
    p = load_profiles()
    assert p["witmotion-wt901ble"].matches("WT901BLE68", [])
    assert p["imurun-nus"].matches(None, ["6E400001-B5A3-F393-E0A9-E50E24DCCA9E"])
    assert not p["polar-h10"].matches("Polar Sense 1234", [])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace('decoder = "witmotion"', 'decoder = "nope"'), "decoder: unknown decoder 'nope'"),
        (lambda s: s.replace('id = "witmotion-wt901ble"', 'id = "other"'), "id: must equal the file name"),
        (lambda s: s.replace("0000ffe4-0000", "0000ffe4-00"), "gatt.notify: not a 128-bit UUID"),
        (lambda s: s.replace("default_rate_hz = 200", "default_rate_hz = 150"), "150 is not in rates_hz"),
        (lambda s: s.replace('200 = "0A"', '200 = "ZZ"'), "stream.start: at 200 Hz: not hex bytes"),
        (lambda s: s.replace("acc_full_scale_g = 16.0", ""), "decode: missing parameter 'acc_full_scale_g'"),
        (lambda s: "surprise = 1\n" + s, "surprise: unknown key"),
        (lambda s: s.replace("[match]", "[match"), "not valid TOML"),
        (lambda s: s.replace('clock = "arrival"', "clock = 3"), "clock: must be str, got int"),
    ],
)
def test_bad_profile_is_one_clear_error(tmp_path, edit, message):
    path = tmp_path / "witmotion-wt901ble.toml"
    path.write_text(edit((PROFILE_DIR / "witmotion-wt901ble.toml").read_text()))
    with pytest.raises(InputError) as err:
        load_profile(path)
    assert message in str(err.value)
    assert str(err.value).startswith(str(path))


def test_empty_directory_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no firmware profiles"):
        load_profiles(tmp_path)


def test_scan_with_bad_profile_dir_exits_2_with_one_line(tmp_path):
    shutil.copy(PROFILE_DIR / "polar-h10.toml", tmp_path / "polar-h10.toml")
    (tmp_path / "broken.toml").write_text("id = 'broken'\n")
    proc = subprocess.run(
        [sys.executable, "-m", "imurun", "scan", "--profiles", str(tmp_path), "--timeout", "1"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "broken.toml" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
