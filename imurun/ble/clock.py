"""Sample times on the session clock, from device timestamps or from arrival order.

Host receive times never become sample times: with device timestamps (unwrapped) the session time
is device time minus the device time of the first sample; without them (WitMotion) sample k is
one estimated period after sample k-1, the period coming from the configured rate corrected by
the measured clock drift. Host time is used for two things only: the drift estimate (lower
envelope of host-minus-device offsets, which delivery jitter cannot pull down) and bridging an
outage in which the device clock restarted or no device clock exists. Both compare least-delayed
offsets, never the arrival of single packets: a stalled host delivers a backlog seconds late.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np


class DriftEstimator:
    """Device clock rate relative to the host clock, and the least-delayed host - device offset.

    Radio delivery only ever delays a packet, so the smallest (host - device) offset within a
    window is an upper bound on the true clock offset that delay cannot lower. The true offset is
    the line below all those minima that hugs them closest (Moon, Skelly & Towsley, "Estimation and
    removal of clock skew from network delay measurements", IEEE INFOCOM 1999: the linear program
    whose solution is the lower convex hull edge over the centroid). Windows whose packets all
    came late (a stalled host) lie above that line and do not bend it, unlike a line through the
    first and the latest window.
    """

    WINDOW_S = 5.0
    MIN_SPAN_S = 20.0
    KEEP = 720  # window minima kept (1 h of 5 s windows): bounded memory on any run length

    def __init__(self) -> None:
        self._host0: float | None = None
        self._window = 0
        self._cur: tuple[float, float] = (math.nan, math.inf)  # (device time, min offset)
        self._minima: deque[tuple[float, float]] = deque(maxlen=self.KEEP)
        self._line: tuple[float, float, float] | None = None  # (device ref, offset there, slope)

    def add(self, host: np.ndarray, device: np.ndarray) -> None:
        if len(host) == 0:
            return
        if self._host0 is None:
            self._host0 = float(host[0])
        windows = np.floor((host - self._host0) / self.WINDOW_S).astype(np.int64)
        offsets = host - device
        for w in np.unique(windows):
            sel = windows == w
            k = int(np.argmin(offsets[sel]))
            cand = (float(device[sel][k]), float(offsets[sel][k]))
            if w != self._window:
                if math.isfinite(self._cur[1]):
                    self._minima.append(self._cur)
                    self._line = None
                self._window = int(w)
                self._cur = cand
            elif cand[1] < self._cur[1]:
                self._cur = cand

    def reset(self) -> None:
        """The device clock restarted: earlier offsets no longer relate to new ones."""
        self.__init__()

    def _fit(self) -> tuple[float, float, float] | None:
        """The lower-envelope line over the closed windows, None before MIN_SPAN_S of them."""
        if self._line is None and len(self._minima) >= 2:
            pts = sorted(self._minima)
            if pts[-1][0] - pts[0][0] >= self.MIN_SPAN_S:
                hull: list[tuple[float, float]] = []
                for p in pts:  # lower convex hull, monotone chain
                    while len(hull) >= 2 and _cross(hull[-2], hull[-1], p) <= 0:
                        hull.pop()
                    hull.append(p)
                centre = sum(x for x, _ in pts) / len(pts)
                a, b = next(
                    ((a, b) for a, b in zip(hull, hull[1:], strict=False) if b[0] >= centre), hull[-2:]
                )
                self._line = (a[0], a[1], (b[1] - a[1]) / (b[0] - a[0]))
        return self._line

    @property
    def ppm(self) -> float:
        line = self._fit()
        return math.nan if line is None else -line[2] * 1e6  # slope = d(host - device) / d(device)

    def offset_at(self, device_t: float) -> float:
        """Host - device offset of a packet delivered without delay at device time device_t: the
        envelope line once the drift is known, else the smallest offset seen (inf: none yet)."""
        line = self._fit()
        if line is None:
            return min([self._cur[1], *(o for _, o in self._minima)])
        x0, y0, slope = line
        return y0 + slope * (device_t - x0)


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


JUMP_S = 2.0  # a device clock further ahead than host time allows by more than this restarted


class StreamClock:
    """Maps one sensor's samples onto the session clock and counts what was lost.

    `host0` places a second sensor on the first one's session clock: the host time at which the
    first sensor's session time 0 arrives with the least delay. The second stream's first batch is
    then placed by its own least-delayed sample (radio delivery only ever delays a packet, so one
    packet's arrival can be tens of ms late, the smallest offset of a second of them is not). NaN
    (the first sensor): its first sample is session time 0.
    """

    def __init__(self, rate_hz: float, uses_device_time: bool, wrap_s: float = 0.0, host0: float = math.nan):
        self.period = 1.0 / rate_hz
        self.uses_device_time = uses_device_time
        self.wrap_s = wrap_s
        self.host0 = host0
        self.drift = DriftEstimator()
        self.lost = 0  # samples missing between received ones
        self.gaps = 0  # places where samples were missing
        self.resets = 0  # device clock restarts (re-anchored with host time)
        self._origin: float | None = None  # unwrapped device time at session time 0
        self._wraps = 0
        self._last_raw = math.nan
        self._last_dev = math.nan  # unwrapped device time of the last sample
        self._last_t = math.nan  # session time of the last sample
        self._count = 0  # samples since the arrival clock was (re)anchored
        self._outage = False

    @property
    def last_t(self) -> float:
        return self._last_t

    def device_time(self, t: np.ndarray) -> np.ndarray:
        """Unwrapped device time of session times t (NaN without device timestamps)."""
        if self._origin is None:
            return np.full(len(t), np.nan)
        return t + self._origin

    def outage(self) -> None:
        """The link dropped; the next sample may follow a long gap or a device clock restart."""
        self._outage = True

    def map(self, device_t: np.ndarray, host_t: np.ndarray) -> np.ndarray:
        """Session times of consecutive samples (device seconds, host arrival seconds)."""
        if len(host_t) == 0:
            return np.empty(0)
        if self.uses_device_time:
            return self._map_device(np.asarray(device_t, np.float64), np.asarray(host_t, np.float64))
        return self._map_arrival(np.asarray(host_t, np.float64))

    # -- devices with timestamps ------------------------------------------------------------------

    def _unwrap(self, raw: np.ndarray) -> np.ndarray:
        if not self.wrap_s:
            return raw
        prev = np.concatenate(([self._last_raw], raw[:-1]))
        wraps = self._wraps + np.cumsum(np.nan_to_num(raw - prev) < -self.wrap_s / 2)
        self._wraps = int(wraps[-1])
        self._last_raw = float(raw[-1])
        return raw + wraps * self.wrap_s

    def _map_device(self, raw: np.ndarray, host: np.ndarray) -> np.ndarray:
        dev = self._unwrap(raw)
        offset = float(np.min(host - dev))  # this batch's least-delayed host - device offset
        if self._origin is None:
            self._origin = float(dev[0]) if math.isnan(self.host0) else self.host0 - offset
        elif self._restarted(float(dev[0]), offset):
            # Re-anchor: the first new sample lands where host time says it was taken, measured
            # between the least-delayed arrivals on both sides, on the period grid.
            self.resets += 1
            taken_last = self._last_dev + self.drift.offset_at(self._last_dev)
            steps = max(1, round((float(dev[0]) + offset - taken_last) / self.period))
            self.drift.reset()
            self._origin = float(dev[0]) - (self._last_t + steps * self.period)
        self._outage = False
        t = dev - self._origin
        self._count_losses(t)
        self.drift.add(host, dev)
        self._last_dev, self._last_t = float(dev[-1]), float(t[-1])
        return t

    def _restarted(self, dev0: float, offset: float) -> bool:
        """Did the device clock jump: backwards, or (across an outage) further ahead than host time
        allows? A packet is never received before it is taken, so a continuing clock's offset can
        only be at or above the least-delayed one; a backlog (a stalled host, a reconnection) only
        raises it. The latest packets' arrival is no reference: they may have been the late ones."""
        if dev0 <= self._last_dev:
            return True
        return self._outage and offset < self.drift.offset_at(dev0) - JUMP_S

    def _count_losses(self, t: np.ndarray) -> None:
        prev = np.concatenate(([self._last_t], t[:-1])) if math.isfinite(self._last_t) else t[:-1]
        cur = t if math.isfinite(self._last_t) else t[1:]
        missing = np.rint((cur - prev) / self.period).astype(np.int64) - 1
        missing = missing[missing > 0]
        self.lost += int(missing.sum())
        self.gaps += len(missing)

    # -- devices without timestamps ---------------------------------------------------------------

    def _map_arrival(self, host: np.ndarray) -> np.ndarray:
        ppm = self.drift.ppm
        period = self.period / (1.0 + ppm * 1e-6) if math.isfinite(ppm) else self.period
        if not math.isfinite(self._last_t):
            start = 0.0
            if not math.isnan(self.host0):  # a second sensor: placed by its least-delayed sample
                start = float(np.min(host - period * np.arange(len(host)))) - self.host0
        elif self._outage:
            # No device clock: bridge the outage with host time, on the period grid, between the
            # least-delayed arrivals on both sides (the last packets before it may have come late).
            last = (self._count - 1) * self.period  # the drift estimator's clock: nominal periods
            taken_last = last + self.drift.offset_at(last)
            taken_first = float(np.min(host - period * np.arange(len(host))))
            steps = max(1, round((taken_first - taken_last) / period))
            self.lost += steps - 1
            self.gaps += steps > 1
            self._count += steps - 1
            start = self._last_t + steps * period
        else:
            start = self._last_t + period
        self._outage = False
        t = start + period * np.arange(len(host))
        k = self._count + np.arange(len(host))
        self.drift.add(host, k * self.period)
        self._count += len(host)
        self._last_t = float(t[-1])
        return t
