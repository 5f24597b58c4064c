"""CoachSink: engine output -> rules -> cue log, console text and sound (imurun/sinks.py protocol)."""

from __future__ import annotations

import contextlib
import math
import sys
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from imurun.blocks import SampleBlock
from imurun.coach.cues import Cue, CueLog
from imurun.coach.live import open_live
from imurun.coach.profile import RunnerProfile
from imurun.coach.response import ResponseTracker
from imurun.coach.rules import SIDE_NAMES, CoachState, cadence_target, coach_steps
from imurun.coach.speech import SPEECH_RATE_HZ, SpeechUnavailable, render_phrase
from imurun.coach.tones import chime, resample
from imurun.coach.wav import WavOutput
from imurun.core.output import EngineOutput
from imurun.errors import ImurunError


class AudioOutput(Protocol):
    rate_hz: int

    def play(self, t: float, pcm: np.ndarray) -> None: ...
    def set_metronome(self, t: float, beats_per_min: float | None) -> None: ...
    def advance(self, t: float) -> None: ...
    def close(self) -> None: ...


def print_notice(message: str) -> None:
    print(f"imurun: {message}", file=sys.stderr)


def console_line(t: float, text: str, why: str) -> str:
    """The console line of something said at session time t: the words, then why."""
    return f"[{t:8.2f} s] {text}  ({why})"


def build_outputs(
    specs: Sequence[str],
    profile: RunnerProfile,
    notice: Callable[[str], None] = print_notice,
    stage: Callable[[Path], Path] = Path,
) -> list[AudioOutput]:
    """Audio outputs from specs `live`, `wav:PATH`, `none` (console text is always on); a WAV is
    written to stage(PATH) (imurun.outputs.Outputs.path: a temporary file renamed later)."""
    outputs: list[AudioOutput] = []
    for spec in specs:
        if spec == "none":
            continue
        if spec == "live":
            live = open_live(profile.metronome.volume, notice)
            if live is not None:
                outputs.append(live)
        elif spec.startswith("wav:") and len(spec) > 4:
            outputs.append(WavOutput(stage(Path(spec[4:])), profile.metronome.volume))
        else:
            raise ImurunError(f"audio output {spec!r}: expected live, wav:PATH or none")
    return outputs


class CueSounds:
    """What each cue sounds like at each output rate; every phrase is rendered once, up front."""

    def __init__(self, profile: RunnerProfile, rates: set[int], notice: Callable[[str], None]):
        self._profile = profile
        self._rates = rates
        self._notice = notice
        self._cache: dict[tuple[str, int], np.ndarray] = {}
        self.speech = bool(rates)
        w = profile.wording
        texts = [w.start, w.quicker_steps, w.ease_arch, w.lean_forward, w.praise, w.level_hips_unsided]
        self.prepare(texts + [w.level_hips.replace("{side}", name) for name in SIDE_NAMES.values()])

    def prepare(self, texts: Iterable[str]) -> None:
        """Render these phrases now, at every output rate: saying them later costs no synthesis
        (espeak-ng takes ~20 ms a phrase here: a stall the live loop need not take)."""
        if not self.speech:
            return
        try:
            for text in texts:
                for rate in self._rates:
                    self._phrase(text, rate)
        except SpeechUnavailable as exc:
            self._notice(f"no speech ({exc}); cues are text only")
            self.speech = False

    def _phrase(self, text: str, rate: int) -> np.ndarray:
        key = (text, rate)
        if key not in self._cache:
            v = self._profile.voice
            pcm = render_phrase(text, v.name, v.rate_wpm) * np.float32(v.volume)
            self._cache[key] = resample(pcm, SPEECH_RATE_HZ, rate)
        return self._cache[key]

    def spoken(self, text: str, rate: int) -> np.ndarray | None:
        """The phrase spoken at this rate (None without speech)."""
        return self._phrase(text, rate) if self.speech else None

    def sound(self, cue: Cue, rate: int) -> np.ndarray | None:
        speech = self.spoken(cue.text, rate)
        if speech is None:
            return None
        if cue.cue == "praise":
            return np.concatenate([chime(rate, 0.5 * self._profile.voice.volume), speech])
        return speech


class CoachSink:
    """Turns each block's steps into cues: logged to cue_log, one line to console, played on outputs.

    A cue is timed at the session time of the block that delivered its step (the block's last
    sample), so the WAV renderer places it exactly there and the live output plays it at once.
    Each cue's response (before / after, imurun/coach/response.py) replaces it in `cues` and in the
    cue log once measured; `responded` lists the indices into `cues` in the order they were.
    `speak()` says other phrases (the calibration guide's) through the same outputs, one voice.
    """

    def __init__(
        self,
        profile: RunnerProfile,
        outputs: Sequence[AudioOutput] = (),
        cue_log: Path | None = None,
        console: Callable[[str], None] | None = print,
        notice: Callable[[str], None] = print_notice,
    ):
        self.profile = profile
        self.outputs = list(outputs)
        self.state = CoachState()
        self.cues: list[Cue] = []
        self.responded: list[int] = []
        self._responses = ResponseTracker(profile)
        self._sounds = CueSounds(profile, {o.rate_hz for o in self.outputs}, notice)
        self._log = CueLog(cue_log) if cue_log is not None else None
        self._console = console
        self._notice = notice
        self._metronome: float | None = None
        # One voice: sounds waiting their turn (sound, is a phrase), and when the last sound and
        # the last phrase played end (session s).
        self._waiting: deque[tuple[Callable[[int], np.ndarray | None], bool]] = deque()
        self._voice_until = -math.inf
        self._phrase_until = -math.inf

    def consume(self, block: SampleBlock, out: EngineOutput) -> None:
        status = out.status
        t = float(block.t[-1]) if len(block) else status.t
        cues, self.state = coach_steps(out.steps, t, self.state, self.profile, status)
        self._responses.add(out.steps)
        self._play_due(t)
        for cue in cues:
            self._give(self._responses.start(cue)[1])
        for index, cue in self._responses.due(t):
            self._respond(index, cue)
        self._update_metronome(t, status.activity == "run")
        self._each_output(lambda o: o.advance(t))

    def _give(self, cue: Cue) -> None:
        self.cues.append(cue)
        if self._log is not None:
            self._log.write(cue)
        if self._console is not None:
            side = f" {cue.side}" if cue.side else ""
            self._console(console_line(cue.t, cue.text, f"{cue.cue}{side}: {cue.reason}"))
        self._voice(cue.t, lambda rate: self._sounds.sound(cue, rate), phrase=False)

    def _respond(self, index: int, cue: Cue) -> None:
        self.cues[index] = cue
        self.responded.append(index)
        if self._log is not None:
            self._log.update(index, cue)

    def prepare(self, texts: Iterable[str]) -> None:
        """Render phrases for `speak()` now, before the run: none is synthesised in the live loop."""
        self._sounds.prepare(texts)

    def speak(self, t: float, text: str) -> None:
        """Say a phrase that is not a rule's cue at session time t, or once the voice is free.
        No console line and no cue log row: the caller prints it, the cue log is the rules' own."""
        self._voice(t, lambda rate: self._sounds.spoken(text, rate), phrase=True)

    def _voice(self, t: float, sound: Callable[[int], np.ndarray | None], phrase: bool) -> None:
        """One voice. Nothing starts while a phrase is being said, and a phrase waits until the
        voice is free; what had to wait plays in order, one at a time. A cue with nothing before
        it plays at once, as it always did: the rules space cues themselves."""
        free_at = self._voice_until if phrase else self._phrase_until
        if not self._waiting and t >= free_at:
            self._start(t, sound, phrase)
        else:
            self._waiting.append((sound, phrase))

    def _play_due(self, t: float) -> None:
        while self._waiting and t >= self._voice_until:
            self._start(t, *self._waiting.popleft())

    def _start(self, t: float, sound: Callable[[int], np.ndarray | None], phrase: bool) -> None:
        end = self._play(t, sound)
        self._voice_until = max(self._voice_until, end)
        if phrase:
            self._phrase_until = end

    def _play(self, t: float, sound: Callable[[int], np.ndarray | None]) -> float:
        """Play on every output from t; returns when the sound ends."""
        end = t

        def play(output: AudioOutput) -> None:
            nonlocal end
            pcm = sound(output.rate_hz)
            if pcm is not None:
                output.play(t, pcm)
                end = max(end, t + len(pcm) / output.rate_hz)

        self._each_output(play)
        return end

    def _update_metronome(self, t: float, running: bool) -> None:
        """Clicks at the target cadence while running (none while its baseline is measured)."""
        target = cadence_target(self.state, self.profile)
        want = target if self.profile.metronome.enabled and running and target > 0 else None
        if want != self._metronome:
            self._metronome = want
            self._each_output(lambda o: o.set_metronome(t, want))

    def _each_output(self, call: Callable[[AudioOutput], None]) -> None:
        """Audio never ends a run: an output that fails is dropped with a one-line notice."""
        for output in list(self.outputs):
            try:
                call(output)
            except Exception as exc:  # noqa: BLE001 - PortAudio, disk full, ...: keep coaching
                self._notice(f"audio output {type(output).__name__} failed ({exc}); continuing without it")
                self.outputs.remove(output)
                with contextlib.suppress(Exception):  # release it; it already said what went wrong
                    output.close()

    def close(self) -> None:
        while self._waiting:  # given but still waiting: each after the one before
            self._play_due(self._voice_until)
        for index, cue in self._responses.finish():
            self._respond(index, cue)
        self._each_output(lambda o: o.close())
        if self._log is not None:
            self._log.close()
