"""Runner profile (TOML + flags) and the cue log format."""

import argparse
import math
from dataclasses import replace

import pytest

from imurun.coach.cues import Cue, CueLog, read_cues_csv, write_cues_csv
from imurun.coach.options import add_coach_arguments, coach_sink_from_args
from imurun.coach.profile import RunnerProfile, default_profile_path, load_profile
from imurun.errors import ImurunError, InputError


def test_missing_default_profile_gives_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_profile_path() == tmp_path / "imurun" / "runner.toml"
    assert load_profile() == RunnerProfile()


def test_profile_from_toml(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    path = tmp_path / "imurun" / "runner.toml"
    path.parent.mkdir()
    path.write_text(
        "[cadence]\nincrease_pct = 7.5\n[thresholds]\npelvic_drop_deg = 6\n"
        "[wording]\nlevel_hips = \"{side} hip low\"\n[metronome]\nenabled = true\nvolume = 0.5\n"
    )
    p = load_profile()
    assert p.cadence.increase_pct == 7.5 and p.thresholds.pelvic_drop_deg == 6.0
    assert p.wording.level_hips == "{side} hip low" and p.metronome.enabled and p.metronome.volume == 0.5
    assert p.timing == RunnerProfile().timing


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[cadense]\n", "unknown section [cadense]"),
        ("[cadence]\ntarget = 170\n", "unknown key cadence.target"),
        ("[metronome]\nenabled = 1\n", "metronome.enabled must be bool"),
        ("[thresholds]\npelvic_drop_deg = \"7\"\n", "thresholds.pelvic_drop_deg must be float"),
        ("[timing]\nmin_steps = 11\n", "timing.min_steps must be in 1..timing.window_steps"),
        ("[wording]\nlevel_hips = \"Level your hips\"\n", "must contain {side}"),
        ("[wording]\nlevel_hips_unsided = \"{side} hip\"\n", "level_hips_unsided must not contain {side}"),
        ("[cadence\n", "not valid TOML"),
    ],
)
def test_bad_profile_is_one_clear_error_naming_the_file(tmp_path, text, message):
    path = tmp_path / "runner.toml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_profile(path)
    assert str(err.value).startswith(str(path)) and message in str(err.value)


def parse(argv):
    parser = argparse.ArgumentParser()
    add_coach_arguments(parser, audio_default="none")
    return parser.parse_args(argv)


def test_flags_override_the_profile_and_write_the_cue_log(tmp_path):
    toml = tmp_path / "runner.toml"
    toml.write_text("[cadence]\ntarget_spm = 170\n")
    args = parse(["--runner", str(toml), "--cadence-increase", "5", "--metronome", "--voice", "en-gb",
                  "--quiet-start", "10"])
    sink = coach_sink_from_args(args, tmp_path)
    p = sink.profile
    assert (p.cadence.target_spm, p.cadence.increase_pct) == (0.0, 5.0)
    assert p.metronome.enabled and p.voice.name == "en-gb" and p.timing.quiet_start_s == 10.0
    assert sink.outputs == []
    sink.close()
    assert (tmp_path / "cues.csv").read_text() == "t,cue,side,priority,reason,metric,before,after\n"
    assert coach_sink_from_args(parse(["--no-coach"])) is None


def test_bad_flags_are_errors():
    with pytest.raises(InputError, match="command line: metronome.volume must be in 0..1"):
        coach_sink_from_args(parse(["--metronome-volume", "3"]))
    with pytest.raises(ImurunError, match="expected live, wav:PATH or none"):
        coach_sink_from_args(parse(["--audio", "speaker"]))


def test_cue_log_round_trip_and_errors(tmp_path):
    reason = "pelvic drop median 9.0 deg, 8 of last 10 L-stance steps > 7.0 deg"  # has a comma
    cues = [Cue(2.5, "start", "", 5, "first running steps", ""),
            Cue(64.25, "level_hips", "R", 4, reason, "", "pelvic_drop_deg", 9.125, 6.5)]
    path = tmp_path / "cues.csv"
    write_cues_csv(path, cues)
    back = read_cues_csv(path)
    fields = ("t", "cue", "side", "priority", "reason", "metric", "before", "after")
    row = lambda c: [getattr(c, f) for f in fields]  # noqa: E731
    assert [row(c) for c in back[1:]] == [row(c) for c in cues[1:]]
    assert back[0].metric == "" and math.isnan(back[0].before) and math.isnan(back[0].after)
    path.write_text(path.read_text() + "70.0,shout,,1,loud,,,\n")
    with pytest.raises(InputError, match=r"cues.csv:4: unknown cue 'shout'"):
        read_cues_csv(path)


def test_cue_log_of_an_earlier_version_reads(tmp_path):
    path = tmp_path / "cues.csv"
    path.write_text('t,cue,side,priority,reason\n11.494,start,,5,first running steps\n'
                    '160.606,level_hips,L,4,"pelvic drop median 7.3 deg, 8 of last 10 R-stance steps"\n')
    back = read_cues_csv(path)
    assert [(c.t, c.cue, c.side) for c in back] == [(11.494, "start", ""), (160.606, "level_hips", "L")]
    assert all(c.metric == "" and math.isnan(c.after) for c in back)
    path.write_text('t,cue,side,priority,reason\n11.494,start,,5,first,x,1,2\n')
    with pytest.raises(InputError, match=r"cues.csv:2: expected 5 fields, got 8"):
        read_cues_csv(path)


def test_a_response_replaces_its_cue_row_in_the_log(tmp_path):
    path = tmp_path / "cues.csv"
    log = CueLog(path)
    first = Cue(30.0, "ease_arch", "", 2, "anterior tilt median 7.0 deg", "", "tilt_deg", 7.0)
    log.write(first)
    log.write(Cue(40.0, "level_hips", "L", 4, "why", "", "pelvic_drop_deg", 8.0))
    assert math.isnan(read_cues_csv(path)[0].after)  # written at once, response not known yet
    log.update(0, replace(first, after=5.5))
    log.write(Cue(70.0, "praise", "", 0, "ease_arch fixed", ""))
    log.close()
    back = read_cues_csv(path)
    assert (back[0].t, back[0].after) == (30.0, 5.5)
    assert [c.cue for c in back][1:] == ["level_hips", "praise"]
    assert not (tmp_path / "cues.csv.tmp").exists()


def test_unwritable_cue_log_is_one_clear_error(tmp_path):
    with pytest.raises(InputError, match=r"no-such-dir/cues.csv: cannot write cue log: No such file"):
        write_cues_csv(tmp_path / "no-such-dir" / "cues.csv", [])
