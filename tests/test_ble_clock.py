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
