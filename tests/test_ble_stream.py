"""SensorStream: decode + pairing + clock on packets of the real encoders (no radio involved)."""

import numpy as np

from imurun.ble.decoders import DECODERS, polar_pmd
from imurun.ble.stream import SensorStream
from imurun.profiles import load_profiles

PROFILES = load_profiles()


def packets_for(profile_id, seconds, rate):
    p = PROFILES[profile_id]
    n = int(seconds * rate)
    t = 500.0 + np.arange(n) / rate
    rng = np.random.default_rng(0)
    acc, gyr = rng.normal(0, 5, (n, 3)), rng.normal(0, 1, (n, 3))
    return DECODERS[p.decoder].encode(t, acc, gyr, p.decode_params(rate)), acc, gyr


def feed_all(stream, packets, batch=3):
    out = [
        stream.feed(packets[i : i + batch], np.full(len(packets[i : i + batch]), 1.0))
        for i in range(0, len(packets), batch)
    ]
    return out


def test_verity_sense_pairs_acc_and_gyro_frames_and_flags_a_missing_half():
    packets, acc, gyr = packets_for("polar-verity-sense", 10, 52)
    lost = 5  # a gyroscope frame (frames alternate acc, gyr)
    assert packets[lost][0] == polar_pmd.GYRO
    stream = SensorStream(PROFILES["polar-verity-sense"], 52)
    out = feed_all(stream, packets[:lost] + packets[lost + 1 :])
    t = np.concatenate([o.t for o in out])
    a = np.concatenate([o.acc for o in out])
    g = np.concatenate([o.gyr for o in out])
    assert np.all(np.diff(t) > 0)
    per = PROFILES["polar-verity-sense"].decode["frame_samples"]
    missing = slice(per * (lost // 2), per * (lost // 2 + 1))
    assert np.isnan(g[missing]).all() and stream.counters.unpaired == per
    keep = np.ones(len(t), bool)
    keep[missing] = False
    np.testing.assert_allclose(a, acc[: len(a)], atol=0.005)
    np.testing.assert_allclose(g[keep], gyr[: len(g)][keep], atol=0.001)


def test_malformed_packets_counted_and_skipped():
    packets, acc, _ = packets_for("imurun-nus", 2, 200)
    stream = SensorStream(PROFILES["imurun-nus"], 200)
    noisy = [packets[0], b"\x00\x01", packets[1], packets[2][:-3], packets[3]]
    s = stream.feed(noisy, np.arange(5.0))
    assert stream.counters.malformed == 2 and stream.counters.packets == 5
    # packet 2 was malformed: its 8 samples are a gap, counted as lost
    assert len(s) == 24 and stream.clock.lost == 8
    np.testing.assert_allclose(s.t[:8], np.arange(8) / 200)


def test_polar_start_response_sets_the_scale():
    stream = SensorStream(PROFILES["polar-verity-sense"], 52)
    stream.response(polar_pmd.start_response(polar_pmd.GYRO, 0.5))
    assert stream.params["gyr_factor"] == 0.5


def test_packets_queued_when_the_link_drops_are_recorded_before_the_outage_note(tmp_path):
    """WitMotion (no device clock): the outage is bridged with host time once, at the first packet
    after it. Packets still in the inbox when the loss is reported belong before the note."""
    from imurun.ble.live import LiveRun, Sensor
    from imurun.core.engine import Engine
    from imurun.session.reader import read_notes, read_session

    rate, path = 200, tmp_path / "wit.csv"
    profile = PROFILES["witmotion-wt901ble"]
    packets, _, _ = packets_for(profile.id, 4, rate)  # one sample per packet
    host = 10.0 + np.arange(len(packets)) / rate
    run = LiveRun({"pelvis": {profile.id: profile}}, rate, None, None, path, None, [], say=lambda _: None)
    sensor = Sensor("pelvis", profile, SensorStream(profile, rate), path)
    run.sensors.append(sensor)
    run.engine = Engine(sample_rate_hz=rate)
    sensor.inbox += zip(host[:300], packets[:300], strict=True)
    run._tick()
    sensor.inbox += zip(host[300:304], packets[300:304], strict=True)  # arrived, not yet processed
    run._event(sensor, "lost", "disconnected")
    sensor.inbox += zip(host[504:], packets[504:], strict=True)  # back after 1 s: 200 samples missed
    run._tick()
    run._close()
    t = read_session(path).t
    assert [(n.t, n.text) for n in read_notes(path)] == [
        (303 / rate, "link lost: disconnected"),
        (504 / rate, "link restored"),
    ]
    assert sensor.stream.clock.lost == 200 and sensor.stream.clock.gaps == 1
    np.testing.assert_allclose(t, np.r_[np.arange(304), np.arange(504, len(packets))] / rate, atol=2e-6)


def test_trunk_clock_is_placed_by_its_least_delayed_packets_not_its_first(tmp_path):
    """Both sensors sample on one device clock (same epoch); the trunk starts 0.5 s later and its
    first packet arrives 40 ms late (a busy host). The same device time must give the same session
    time: placing the trunk by its first packet's arrival put it 40 ms late."""
    from imurun.ble.live import LiveRun, Sensor
    from imurun.core.engine import Engine

    rate, profile = 200, PROFILES["imurun-nus"]
    params = profile.decode_params(rate)
    rng = np.random.default_rng(2)
    run = LiveRun({"pelvis": {profile.id: profile}, "trunk": {profile.id: profile}}, rate, None, None,
                  tmp_path / "p.csv", tmp_path / "p.trunk.csv", [], say=lambda _: None)
    inboxes = []
    for role, start, path in (("pelvis", 0.0, tmp_path / "p.csv"), ("trunk", 0.5, tmp_path / "p.trunk.csv")):
        dev = 500.0 + start + np.arange(4 * rate) / rate
        packets = DECODERS[profile.decoder].encode(dev, rng.normal(0, 5, (dev.size, 3)),
                                                   rng.normal(0, 1, (dev.size, 3)), params)
        d = DECODERS[profile.decoder].decode(packets, params)
        sent = np.array([d.device_t[d.packet == k].max() for k in range(len(packets))])
        host = 10.0 + (sent - 500.0) + rng.uniform(0.002, 0.008, len(packets))
        if role == "trunk":
            host[0] += 0.040
        host = np.maximum.accumulate(host)  # packets arrive in order
        run.sensors.append(Sensor(role, profile, SensorStream(profile, rate), path))
        inboxes.append(list(zip(host, packets, strict=True)))
    run.engine = Engine(sample_rate_hz=rate)
    for now in np.arange(10.0, 15.0, 0.02):  # the ticks of a live run
        for sensor, inbox in zip(run.sensors, inboxes, strict=True):
            sensor.inbox += [item for item in inbox if now - 0.02 < item[0] <= now]
        run._tick()
    run._tick(final=True)
    run._close()
    from imurun.session.reader import read_session

    pelvis, trunk = read_session(tmp_path / "p.csv"), read_session(tmp_path / "p.trunk.csv")
    assert len(trunk.t) == len(pelvis.t) == 4 * rate  # every sample recorded
    np.testing.assert_allclose(trunk.t[0], 0.5, atol=0.002)  # its first sample: device 500.5 s
    np.testing.assert_allclose(pelvis.t[:2], [0.0, 1 / rate], atol=1e-6)


def test_a_notification_delivered_twice_is_dropped_and_counted(tmp_path):
    """BLE stacks repeat a notification on retransmission. The repeat, within a batch or across
    batches, is dropped and counted: the samples are those of a clean link, nothing is lost, the
    device clock is not taken for restarted, and the recording goes on (it used to stop the run:
    "t must increase strictly")."""
    from imurun.ble.live import LiveRun, Sensor
    from imurun.core.engine import Engine
    from imurun.session.reader import read_notes, read_session

    for profile_id, rate in (("imurun-nus", 200), ("movella-dot", 60), ("witmotion-wt901ble", 200),
                             ("polar-verity-sense", 52)):
        profile = PROFILES[profile_id]
        packets, _, _ = packets_for(profile_id, 3, rate)
        host = 10.0 + np.arange(len(packets)) * 0.01
        clean = SensorStream(profile, rate).feed(packets, host)
        # packet 4 again at once, packet 8 again a tick later
        twice = [*packets[:5], packets[4], *packets[5:9], packets[8], *packets[9:]]
        host2 = np.r_[host[:5], host[4], host[5:9], host[8] + 0.02, host[9:] + 0.02]
        path = tmp_path / f"{profile_id}.csv"
        run = LiveRun({"pelvis": {profile.id: profile}}, rate, None, None, path, None, [], say=lambda _: None)
        sensor = Sensor("pelvis", profile, SensorStream(profile, rate), path)
        run.sensors.append(sensor)
        run.engine = Engine(sample_rate_hz=rate)
        sensor.inbox += zip(host2[:9], twice[:9], strict=True)  # the first repeat within one batch
        run._tick()
        sensor.inbox += zip(host2[9:], twice[9:], strict=True)  # the second across batches
        run._tick(final=True)
        run._close()
        s = sensor.stream
        assert s.counters.repeated == 2, profile_id
        assert s.clock.lost == 0 and s.clock.resets == 0, profile_id
        np.testing.assert_allclose(read_session(path).t, clean.t, atol=2e-6, err_msg=profile_id)
        assert "repeated 2" in run.status_line()
        assert [n.text for n in read_notes(path)] == ["repeated notifications dropped: 2"]
