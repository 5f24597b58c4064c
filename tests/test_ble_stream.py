"""SensorStream: decode + pairing + clock on packets of the real encoders (no radio involved)."""

import numpy as np

from imurun.ble.decoders import DECODERS, polar_pmd
from imurun.ble.profiles import load_profiles
from imurun.ble.stream import SensorStream

PROFILES = load_profiles()


def recorded_source(profile, rate, paths):
    """A BLE source with the live app's recorder stage, its sensors in place of connected links
    (the test fills their inboxes and ticks it)."""
    from imurun.ble.source import BleSource, Sensor
    from imurun.live.recorder import Recorder

    recorder = Recorder(paths, "sacrum", say=lambda _: None)
    source = BleSource({role: {profile.id: profile} for role in paths}, rate, None,
                       "trunk" if "trunk" in paths else None, say=lambda _: None, stage=recorder)
    source.sensors += [Sensor(role, profile, SensorStream(profile, rate)) for role in paths]
    return source, recorder


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
    from imurun.session.reader import read_notes, read_session

    rate, path = 200, tmp_path / "wit.csv"
    profile = PROFILES["witmotion-wt901ble"]
    packets, _, _ = packets_for(profile.id, 4, rate)  # one sample per packet
    host = 10.0 + np.arange(len(packets)) / rate
    source, recorder = recorded_source(profile, rate, {"pelvis": path})
    sensor = source.sensors[0]
    sensor.inbox += zip(host[:300], packets[:300], strict=True)
    source.tick()
    sensor.inbox += zip(host[300:304], packets[300:304], strict=True)  # arrived, not yet processed
    source._event(sensor, "lost", "disconnected")
    sensor.inbox += zip(host[504:], packets[504:], strict=True)  # back after 1 s: 200 samples missed
    source.tick(final=True)
    recorder.close(source.sensors)
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
    rate, profile = 200, PROFILES["imurun-nus"]
    params = profile.decode_params(rate)
    rng = np.random.default_rng(2)
    paths = {"pelvis": tmp_path / "p.csv", "trunk": tmp_path / "p.trunk.csv"}
    run, recorder = recorded_source(profile, rate, paths)
    inboxes = []
    for start in (0.0, 0.5):
        dev = 500.0 + start + np.arange(4 * rate) / rate
        packets = DECODERS[profile.decoder].encode(dev, rng.normal(0, 5, (dev.size, 3)),
                                                   rng.normal(0, 1, (dev.size, 3)), params)
        d = DECODERS[profile.decoder].decode(packets, params)
        sent = np.array([d.device_t[d.packet == k].max() for k in range(len(packets))])
        host = 10.0 + (sent - 500.0) + rng.uniform(0.002, 0.008, len(packets))
        if start:  # the trunk's
            host[0] += 0.040
        host = np.maximum.accumulate(host)  # packets arrive in order
        inboxes.append(list(zip(host, packets, strict=True)))
    for now in np.arange(10.0, 15.0, 0.02):  # the ticks of a live run
        for sensor, inbox in zip(run.sensors, inboxes, strict=True):
            sensor.inbox += [item for item in inbox if now - 0.02 < item[0] <= now]
        run.tick()
    run.tick(final=True)
    recorder.close(run.sensors)
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
        run, recorder = recorded_source(profile, rate, {"pelvis": path})
        sensor = run.sensors[0]
        sensor.inbox += zip(host2[:9], twice[:9], strict=True)  # the first repeat within one batch
        run.tick()
        sensor.inbox += zip(host2[9:], twice[9:], strict=True)  # the second across batches
        run.tick(final=True)
        recorder.close(run.sensors)
        s = sensor.stream
        assert s.counters.repeated == 2, profile_id
        assert s.clock.lost == 0 and s.clock.resets == 0, profile_id
        np.testing.assert_allclose(read_session(path).t, clean.t, atol=2e-6, err_msg=profile_id)
        assert "repeated 2" in run.status_line()
        assert [n.text for n in read_notes(path)] == ["repeated notifications dropped: 2"]


def test_a_live_trunk_recording_replays_to_the_live_steps(tmp_path):
    """Two sensors on one device clock, the trunk joining 0.8 s after the pelvis and silent for
    1.5 s mid-run (a lost link), packets arriving 2-8 ms late: the steps the live pipeline gave
    (trunk lean included) are exactly those `analyze` finds in the two recorded files."""
    from imurun.analyze import StepCollector, analyze
    from imurun.pipeline import Pipeline, make_engine
    from imurun.sources.simulate import simulate

    rate, profile = 200, PROFILES["imurun-nus"]
    params = profile.decode_params(rate)
    sim = simulate("trunk", seed=3, rate_hz=rate, duration_s=30.0)
    rng = np.random.default_rng(4)
    paths = {"pelvis": tmp_path / "two.pelvis.csv", "trunk": tmp_path / "two.trunk.csv"}
    source, recorder = recorded_source(profile, rate, paths)
    inboxes = []
    trunk_on = (sim.t >= 0.8) & ((sim.t < 12.0) | (sim.t > 13.5))
    for keep, acc, gyr in ((sim.t >= 0, sim.acc, sim.gyr), (trunk_on, sim.trunk_acc, sim.trunk_gyr)):
        dev = 500.0 + sim.t[keep]
        packets = DECODERS[profile.decoder].encode(dev, acc[keep], gyr[keep], params)
        d = DECODERS[profile.decoder].decode(packets, params)
        sent = np.array([d.device_t[d.packet == k].max() for k in range(len(packets))])
        host = np.maximum.accumulate(10.0 + (sent - 500.0) + rng.uniform(0.002, 0.008, len(packets)))
        inboxes.append(list(zip(host, packets, strict=True)))
    live = StepCollector()
    pipeline = Pipeline(make_engine(rate), [live])
    for now in np.arange(10.0, 41.0, 0.02):  # the ticks of a live run
        for sensor, inbox in zip(source.sensors, inboxes, strict=True):
            sensor.inbox += [item for item in inbox if now - 0.02 < item[0] <= now]
        for delivery in source.tick():
            pipeline.feed(delivery.block)
    for delivery in source.tick(final=True):
        pipeline.feed(delivery.block)
    status = pipeline.close()
    recorder.close(source.sensors)
    replayed, _ = analyze(paths["pelvis"])
    assert status.trunk and len(live.steps) > 50
    assert np.isfinite(live.steps["trunk_lean_deg"]).sum() > 40
    assert live.steps.tobytes() == replayed.tobytes()
