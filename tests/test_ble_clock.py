"""Session clock from device timestamps / arrival order: loss, jitter, bursts, wrap, drift."""

import numpy as np

from imurun.ble.clock import StreamClock

RATE = 200.0


def deliver(rng, device_t, burst_s=0.0):
    """Host arrival times: device time + latency jitter; optionally held and released in bursts."""
    host = 1000.0 + device_t + rng.exponential(0.004, len(device_t)) + 0.010
    if burst_s:
        host = (np.floor(host / burst_s) + 1) * burst_s
    return np.maximum.accumulate(host)


def feed(clock, device_t, host_t, batch):
    out = [clock.map(device_t[i : i + batch], host_t[i : i + batch]) for i in range(0, len(host_t), batch)]
    return np.concatenate(out)


def test_loss_counted_exactly_and_times_unaffected_by_jitter_and_bursts():
    rng = np.random.default_rng(3)
    true_t = np.arange(60 * int(RATE)) / RATE
    keep = rng.random(len(true_t)) > 0.01  # 1 % loss
    keep[0] = True
    for burst in (0.0, 0.1):
        clock = StreamClock(RATE, uses_device_time=True, wrap_s=2.0**32 * 1e-6)
        dev = (true_t[keep] + 4000.0) % (2.0**32 * 1e-6)  # starts near the uint32 us wrap
        t = feed(clock, dev, deliver(rng, true_t[keep], burst), batch=7)
        np.testing.assert_allclose(t, true_t[keep], atol=1e-9)
        assert clock.lost == int((~keep).sum())


def test_drift_estimated_from_lower_envelope():
    rng = np.random.default_rng(4)
    host_elapsed = np.arange(60 * int(RATE)) / RATE
    dev = host_elapsed * (1 + 80e-6)  # device clock 80 ppm fast
    clock = StreamClock(RATE, uses_device_time=True)
    feed(clock, dev, deliver(rng, host_elapsed, 0.03), batch=10)
    assert abs(clock.drift.ppm - 80.0) < 15.0


def test_arrival_clock_ignores_jitter_and_corrects_drift():
    rng = np.random.default_rng(5)
    n = 120 * int(RATE)
    true_t = np.arange(n) / (RATE * (1 + 300e-6))  # sensor really runs 300 ppm fast
    clock = StreamClock(RATE, uses_device_time=False)
    t = feed(clock, np.full(n, np.nan), deliver(rng, true_t, 0.02), batch=5)
    dt = np.diff(t)
    assert np.all(dt > 0) and np.ptp(dt[:1000]) < 1e-12  # host jitter never reaches sample times
    assert abs(clock.drift.ppm - 300.0) < 60.0
    # with the corrected period the end of the session lands within a few samples of the truth
    assert abs(t[-1] - true_t[-1]) < 3 / RATE


def test_outage_with_continuing_device_clock_counts_the_missing_samples():
    clock = StreamClock(RATE, uses_device_time=True)
    a = np.arange(400) / RATE
    b = np.arange(1000, 1400) / RATE  # 600 samples missed during the outage
    clock.map(a, a + 5)
    clock.outage()
    t = clock.map(b, b + 5)
    np.testing.assert_allclose(t, b)
    assert clock.lost == 600 and clock.gaps == 1 and clock.resets == 0


def test_outage_with_restarted_device_clock_is_bridged_by_host_time():
    clock = StreamClock(RATE, uses_device_time=True)
    a = np.arange(400) / RATE
    clock.map(a + 50.0, a + 5)
    clock.outage()
    host_resume = 5 + 3.0  # 3 s after the last sample by host time
    t = clock.map(np.arange(10) / RATE, host_resume + a[:10])  # device restarted at 0
    assert clock.resets == 1
    np.testing.assert_allclose(t[0], a[-1] + round((host_resume - (a[-1] + 5)) * RATE) / RATE)
    np.testing.assert_allclose(np.diff(t), 1 / RATE)


def test_second_sensor_is_placed_by_its_least_delayed_sample():
    """The first sensor's session time 0 arrived (least delayed) at host 1.002 s; the second one
    sampled its first value 0.125 s later. Its first packet came 40 ms late, the others 2-10 ms:
    its first sample must still land at 0.125 s (one packet's arrival put it at 0.163), on both
    clock kinds."""
    dev = 77.0 + np.arange(200) / RATE
    delay = np.random.default_rng(1).uniform(0.002, 0.010, dev.size)
    delay[0], delay[57] = 0.040, 0.002
    host = 1.125 + (dev - 77.0) + delay
    for uses_device_time in (True, False):
        clock = StreamClock(RATE, uses_device_time=uses_device_time, host0=1.002)
        t = clock.map(dev, host)
        np.testing.assert_allclose(t[:2], [0.125, 0.130], atol=1e-9)
    first = StreamClock(RATE, uses_device_time=True)  # no host0: the first sensor starts at 0
    np.testing.assert_allclose(first.map(dev[:2], host[:2]), [0.0, 0.005])


def stalled_host_then_outage(uses_device_time, backlog_after=0.7):
    """The issue's reproduction: device times 1000 + k/200 (k < 2400) arrive at host 50 + k/200,
    except the last 400, which a stalled host received 6 s late; then the link drops and comes
    back at k = 3600, whose sample arrives at host 68 s + backlog_after, the samples after it
    arriving 2 ms after they are taken once the backlog has drained."""
    clock = StreamClock(RATE, uses_device_time=uses_device_time)
    k = np.arange(2400)
    host = 50.0 + k / RATE
    host[2000:] += 6.0
    feed(clock, 1000.0 + k / RATE, host, batch=4)
    clock.outage()
    k2 = np.arange(3600, 4000)
    host2 = np.maximum(68.0 + backlog_after, 50.0 + k2 / RATE + 0.002)
    return clock, feed(clock, 1000.0 + k2 / RATE, host2, batch=4)


def test_a_backlog_before_an_outage_is_not_taken_for_a_device_clock_restart():
    """The issue's reproduction, literally (it gave t = 12.7 s and 140 lost)."""
    clock = StreamClock(200, True)
    k = np.arange(2400)
    host = 50.0 + k / 200
    host[-400:] += 6.0
    clock.map(1000.0 + k / 200, host)
    clock.outage()
    k2 = np.arange(3600, 3700)
    t = clock.map(1000.0 + k2 / 200, np.full(k2.size, 68.7))
    np.testing.assert_allclose(t[0], 18.0, atol=1e-9)
    assert clock.lost == 1200 and clock.gaps == 1 and clock.resets == 0
    # and in the small batches of a live run, with the backlog draining after the reconnection
    clock, t = stalled_host_then_outage(uses_device_time=True)
    np.testing.assert_allclose(t[0], 18.0, atol=1e-9)
    assert clock.lost == 1200 and clock.gaps == 1 and clock.resets == 0


def test_arrival_clock_bridges_an_outage_by_the_least_delayed_arrivals():
    """No device clock (WitMotion): the outage is bridged with host time, but measured between the
    least-delayed arrivals on both sides, not from the last packets (6 s late). (A backlog in the
    first packets after the outage cannot be told from the outage's length without a device
    clock: docs/ble.md says so.)"""
    clock, t = stalled_host_then_outage(uses_device_time=False, backlog_after=0.002)
    np.testing.assert_allclose(t[0], 18.0, atol=1e-9)
    assert clock.lost == 1200 and clock.gaps == 1


def test_arrival_clock_outage_lands_on_the_right_sample_under_jitter():
    """Ordinary delivery jitter (2-12 ms) on both sides of an outage: the first sample after it
    lands on its own slot, not one period off."""
    rng = np.random.default_rng(11)
    for seed_shift in range(20):
        clock = StreamClock(RATE, uses_device_time=False)
        k = np.arange(1000)
        delay = rng.uniform(0.002, 0.012, k.size)
        delay[-1] = 0.012  # the last packet before the drop came late
        feed(clock, np.full(k.size, np.nan), 10.0 + k / RATE + delay, batch=4)
        clock.outage()
        k2 = np.arange(1500 + seed_shift, 1700)
        delay2 = rng.uniform(0.002, 0.012, k2.size)
        delay2[0] = 0.002  # the first one after it came early
        t = feed(clock, np.full(k2.size, np.nan), np.maximum.accumulate(10.0 + k2 / RATE + delay2), batch=4)
        np.testing.assert_allclose(t[0], k2[0] / RATE, atol=1e-9)


def test_a_restart_after_a_backlog_is_placed_by_the_least_delayed_arrivals():
    """The device clock restarts at 0 during the outage: the first new sample lands where host time
    says it was taken, measured from the least-delayed arrivals, not from the stalled last one."""
    clock = StreamClock(RATE, uses_device_time=True)
    k = np.arange(2400)
    host = 50.0 + k / RATE
    host[2000:] += 6.0
    feed(clock, 1000.0 + k / RATE, host, batch=4)
    clock.outage()
    k2 = np.arange(3600, 4000)  # taken at host 50 + k2/200, device clock now counts from 0
    t = feed(clock, (k2 - 3600) / RATE, 50.0 + k2 / RATE, batch=4)
    assert clock.resets == 1
    np.testing.assert_allclose(t[0], 18.0, atol=1e-9)
    assert clock.lost == 1200


def test_drift_estimate_survives_a_stalled_window():
    """A 5 s window in which every packet arrived seconds late must not bend the drift estimate."""
    rng = np.random.default_rng(4)
    host_elapsed = np.arange(90 * int(RATE)) / RATE
    dev = host_elapsed * (1 + 80e-6)
    host = deliver(rng, host_elapsed)
    host[(host_elapsed > 78) & (host_elapsed < 86)] += 3.0  # a stalled host near the end
    clock = StreamClock(RATE, uses_device_time=True)
    feed(clock, dev, np.maximum.accumulate(host), batch=10)
    assert abs(clock.drift.ppm - 80.0) < 15.0
