"""ROS 2 bags: what ``write_sample_bag``/``BagWriter`` write, and what ``BagReader`` makes of it.

* Written bags (mcap and sqlite3) are checked with ``rosbags`` alone (topics, types, counts, rates,
  order, QoS) and, where rclpy is installed, with ``rclpy.serialization`` into real ROS messages.
* ``BagReader`` must give back the generator's frames, poses and extrinsic, and turn bad input into
  :class:`~depth_ros.errors.BagError` with a message naming the problem, while per-message problems
  are only counted in ``reader.issues``.
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import struct
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import DATA_SUFFIX, bag_data_file, copy_truncated
from rosbags.highlevel import AnyReader
from rosbags.interfaces import QosDurability

from depth_ros.data.bag_layout import EXTRINSIC_KEY, TYPESTORE, BagTopics
from depth_ros.data.bag_reader import BagReader
from depth_ros.data.bag_writer import BagWriter, image_message, write_sample_bag
from depth_ros.errors import BagError

EXPECTED_TOPICS = {
    "/camera/image_raw": "sensor_msgs/msg/Image",
    "/camera/camera_info": "sensor_msgs/msg/CameraInfo",
    "/camera/depth/ground_truth": "sensor_msgs/msg/Image",
    "/camera/depth/camera_info": "sensor_msgs/msg/CameraInfo",
    "/odom": "nav_msgs/msg/Odometry",
    "/tf": "tf2_msgs/msg/TFMessage",
    "/tf_static": "tf2_msgs/msg/TFMessage",
}
POSITION_TOL_M = 1e-3
ROTATION_TOL_RAD = 1e-3
MS = 1_000_000


# ----------------------------------------------------------------------------------------------- helpers


def read_messages(bag: Path, topic: str) -> list[tuple[int, object]]:
    """(bag timestamp, message deserialised by rosbags) of one topic."""
    with AnyReader([bag], default_typestore=TYPESTORE) as reader:
        connections = [c for c in reader.connections if c.topic == topic]
        return [(t, reader.deserialize(raw, c.msgtype)) for c, t, raw in reader.messages(connections=connections)]


def read_raw(bag: Path, topic: str) -> list[tuple[int, bytes]]:
    """(bag timestamp, raw CDR bytes) of one topic."""
    with AnyReader([bag], default_typestore=TYPESTORE) as reader:
        connections = [c for c in reader.connections if c.topic == topic]
        return [(t, bytes(raw)) for _, t, raw in reader.messages(connections=connections)]


def stamp_ns(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def rotation_angle(R_a: np.ndarray, R_b: np.ndarray) -> float:
    """Angle in radians of the rotation between two rotation matrices."""
    cos = (np.trace(R_a.T @ R_b) - 1.0) / 2.0
    return float(np.arccos(np.clip(cos, -1.0, 1.0)))


def quaternion_matrix(x: float, y: float, z: float, w: float) -> np.ndarray:
    """Rotation matrix of a unit quaternion (written out here, independent of depth_ros.geometry)."""
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def assert_pose_close(T_actual: np.ndarray, T_expected: np.ndarray) -> None:
    assert T_actual is not None
    assert np.linalg.norm(T_actual[:3, 3] - T_expected[:3, 3]) < POSITION_TOL_M
    assert rotation_angle(T_actual[:3, :3], T_expected[:3, :3]) < ROTATION_TOL_RAD


def storage_log_times(bag: Path) -> list[int]:
    """Bag timestamps in the order the messages were physically written to the storage file.

    rosbags' readers sort by time, so they cannot show the write order: sqlite3 is queried by row
    id, and mcap is walked record by record (uncompressed chunks, as rosbags writes them by default).
    """
    data = bag_data_file(bag)
    if data.suffix == ".db3":
        with sqlite3.connect(data) as db:
            return [row[0] for row in db.execute("SELECT timestamp FROM messages ORDER BY id")]
    times: list[int] = []

    def walk(buffer: bytes, offset: int) -> None:
        while offset + 9 <= len(buffer):
            opcode, length = struct.unpack_from("<BQ", buffer, offset)
            content = buffer[offset + 9 : offset + 9 + length]
            offset += 9 + length
            if opcode == 0x05:  # Message: channel u16, sequence u32, log_time u64, ...
                times.append(struct.unpack_from("<Q", content, 6)[0])
            elif opcode == 0x06:  # Chunk: 3 x u64, crc u32, compression string, records
                (name_length,) = struct.unpack_from("<I", content, 28)
                compression = content[32 : 32 + name_length]
                assert compression == b"", f"compressed mcap chunk ({compression!r}) not supported by this test"
                start = 32 + name_length + 8
                walk(content[start:], 0)
            elif opcode == 0x0F:  # Data End
                return

    raw = data.read_bytes()
    assert raw[:8] == b"\x89MCAP0\r\n"
    walk(raw, 8)
    return times


# -------------------------------------------------------------------------------- written bags, via rosbags


def test_sample_bag_has_expected_topics_and_types(sample_bag: Path) -> None:
    with AnyReader([sample_bag], default_typestore=TYPESTORE) as reader:
        found = {c.topic: c.msgtype for c in reader.connections}
    assert found == EXPECTED_TOPICS


def test_sample_bag_uses_requested_storage(sample_bag: Path, storage: str) -> None:
    assert bag_data_file(sample_bag).suffix == DATA_SUFFIX[storage]
    metadata = yaml.safe_load((sample_bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert metadata["storage_identifier"] == storage


def test_one_image_camera_info_and_depth_per_frame(sample_bag: Path, frames) -> None:
    expected_stamps = [f.stamp_ns for f in frames]
    for topic in (
        "/camera/image_raw",
        "/camera/camera_info",
        "/camera/depth/ground_truth",
        "/camera/depth/camera_info",
    ):
        messages = read_messages(sample_bag, topic)
        assert [t for t, _ in messages] == expected_stamps, topic
        assert [stamp_ns(m.header.stamp) for _, m in messages] == expected_stamps, topic


def test_colour_image_is_rgb8_and_depth_is_32fc1(sample_bag: Path, sequence) -> None:
    width, height = sequence.camera.width, sequence.camera.height
    for _, image in read_messages(sample_bag, "/camera/image_raw"):
        assert (image.encoding, image.width, image.height, image.step) == ("rgb8", width, height, 3 * width)
    for _, depth in read_messages(sample_bag, "/camera/depth/ground_truth"):
        assert (depth.encoding, depth.width, depth.height, depth.step) == ("32FC1", width, height, 4 * width)
        assert len(depth.data) == 4 * width * height


def test_odometry_at_50hz_and_camera_at_10hz(sample_bag: Path) -> None:
    odom = [t for t, _ in read_messages(sample_bag, "/odom")]
    images = [t for t, _ in read_messages(sample_bag, "/camera/image_raw")]
    assert set(np.diff(odom).tolist()) == {20 * MS}
    assert set(np.diff(images).tolist()) == {100 * MS}
    assert 4.5 <= len(odom) / len(images) <= 5.5
    # odometry covers every image so that each can be interpolated
    assert odom[0] <= images[0] and odom[-1] >= images[-1]


def test_tf_mirrors_odometry_and_tf_static_has_one_message(sample_bag: Path, sequence) -> None:
    odom = read_messages(sample_bag, "/odom")
    tf = read_messages(sample_bag, "/tf")
    assert [t for t, _ in tf] == [t for t, _ in odom]
    for (_, o), (_, m) in zip(odom, tf, strict=True):
        (transform,) = m.transforms
        assert (transform.header.frame_id, transform.child_frame_id) == ("odom", "base_link")
        p = o.pose.pose.position
        t = transform.transform.translation
        assert (t.x, t.y, t.z) == (p.x, p.y, p.z)
    (static,) = read_messages(sample_bag, "/tf_static")
    (transform,) = static[1].transforms
    assert (transform.header.frame_id, transform.child_frame_id) == ("base_link", "camera_optical_frame")
    t = transform.transform.translation
    np.testing.assert_allclose([t.x, t.y, t.z], sequence.T_base_cam[:3, 3], atol=1e-12)


def test_messages_written_in_non_decreasing_time_order(sample_bag: Path) -> None:
    times = storage_log_times(sample_bag)
    with AnyReader([sample_bag], default_typestore=TYPESTORE) as reader:
        total = sum(c.msgcount for c in reader.connections)
    assert len(times) == total
    assert times == sorted(times), "messages are not in time order in the storage file"


def test_tf_static_is_offered_transient_local(sample_bag: Path) -> None:
    with AnyReader([sample_bag], default_typestore=TYPESTORE) as reader:
        durability = {c.topic: [q.durability for q in c.ext.offered_qos_profiles] for c in reader.connections}
    assert durability["/tf_static"] == [QosDurability.TRANSIENT_LOCAL]
    for topic in set(EXPECTED_TOPICS) - {"/tf_static"}:
        assert durability[topic] == [QosDurability.VOLATILE], topic
    # the same in the metadata.yaml that `ros2 bag play` reads
    metadata = yaml.safe_load((sample_bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    profiles = {
        entry["topic_metadata"]["name"]: entry["topic_metadata"]["offered_qos_profiles"]
        for entry in metadata["topics_with_message_count"]
    }
    assert [p["durability"] for p in profiles["/tf_static"]] == ["transient_local"]
    assert [p["durability"] for p in profiles["/odom"]] == ["volatile"]


def test_extrinsic_is_stored_in_bag_metadata(sample_bag: Path, sequence) -> None:
    metadata = yaml.safe_load((sample_bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    stored = yaml.safe_load(metadata["custom_data"][EXTRINSIC_KEY])
    assert (stored["parent_frame"], stored["child_frame"]) == ("base_link", "camera_optical_frame")
    np.testing.assert_allclose(stored["T_parent_child"], sequence.T_base_cam, atol=1e-12)


# ------------------------------------------------------------------------ written bags, via rclpy messages


def _rclpy_deserialize():
    pytest.importorskip("rclpy", reason="rclpy is not installed (no ROS 2 and no ROS 2 wheels)")
    from rclpy.serialization import deserialize_message

    return deserialize_message


@pytest.mark.ros
def test_rclpy_deserialises_image(sample_bag: Path, frames) -> None:
    deserialize_message = _rclpy_deserialize()
    from sensor_msgs.msg import Image

    raw = read_raw(sample_bag, "/camera/image_raw")
    assert len(raw) == len(frames)
    for (bag_stamp, data), frame in zip(raw, frames, strict=True):
        image = deserialize_message(data, Image)
        assert isinstance(image, Image)
        assert image.encoding == "rgb8"
        assert (image.width, image.height, image.step) == (96, 72, 96 * 3)
        assert image.is_bigendian == 0
        assert image.header.frame_id == "camera_optical_frame"
        assert stamp_ns(image.header.stamp) == bag_stamp == frame.stamp_ns
        pixels = np.frombuffer(bytes(image.data), dtype=np.uint8).reshape(72, 96, 3)
        np.testing.assert_array_equal(pixels, frame.rgb)


@pytest.mark.ros
def test_rclpy_deserialises_depth_image(sample_bag: Path, frames) -> None:
    deserialize_message = _rclpy_deserialize()
    from sensor_msgs.msg import Image

    for (bag_stamp, data), frame in zip(read_raw(sample_bag, "/camera/depth/ground_truth"), frames, strict=True):
        depth = deserialize_message(data, Image)
        assert (depth.encoding, depth.step, depth.header.frame_id) == ("32FC1", 96 * 4, "camera_optical_frame")
        assert stamp_ns(depth.header.stamp) == bag_stamp
        values = np.frombuffer(bytes(depth.data), dtype="<f4").reshape(72, 96)
        np.testing.assert_array_equal(values, frame.depth)


@pytest.mark.ros
def test_rclpy_deserialises_camera_info(sample_bag: Path, sequence) -> None:
    deserialize_message = _rclpy_deserialize()
    from sensor_msgs.msg import CameraInfo

    K = sequence.camera.K
    raw = read_raw(sample_bag, "/camera/camera_info")
    assert len(raw) == len(sequence)
    for bag_stamp, data in raw:
        info = deserialize_message(data, CameraInfo)
        assert isinstance(info, CameraInfo)
        assert stamp_ns(info.header.stamp) == bag_stamp
        assert info.header.frame_id == "camera_optical_frame"
        assert (info.width, info.height) == (96, 72)
        np.testing.assert_array_equal(np.asarray(info.k).reshape(3, 3), K)
        np.testing.assert_array_equal(np.asarray(info.p).reshape(3, 4), np.hstack([K, np.zeros((3, 1))]))
        np.testing.assert_array_equal(np.asarray(info.r).reshape(3, 3), np.eye(3))
        assert info.distortion_model == "plumb_bob"
        assert not np.any(np.asarray(info.d))


@pytest.mark.ros
def test_rclpy_deserialises_odometry(sample_bag: Path, sequence) -> None:
    deserialize_message = _rclpy_deserialize()
    from nav_msgs.msg import Odometry

    raw = read_raw(sample_bag, "/odom")
    assert len(raw) == len(sequence.odometry())
    for bag_stamp, data in raw:
        odom = deserialize_message(data, Odometry)
        assert isinstance(odom, Odometry)
        assert stamp_ns(odom.header.stamp) == bag_stamp
        assert (odom.header.frame_id, odom.child_frame_id) == ("odom", "base_link")
        expected = sequence.trajectory.T_odom_base((bag_stamp - sequence.config.start_time_ns) / 1e9)
        p, q = odom.pose.pose.position, odom.pose.pose.orientation
        np.testing.assert_allclose([p.x, p.y, p.z], expected[:3, 3], atol=1e-9)
        assert abs(np.linalg.norm([q.x, q.y, q.z, q.w]) - 1.0) < 1e-9
        np.testing.assert_allclose(quaternion_matrix(q.x, q.y, q.z, q.w), expected[:3, :3], atol=1e-9)


# --------------------------------------------------------------------------------------- BagReader round trip


def test_reader_frames_equal_generator_frames(sample_bag: Path, frames) -> None:
    reader = BagReader(sample_bag)
    assert len(reader) == len(frames)
    read = reader.read_all()
    assert len(read) == len(frames)
    for got, want in zip(read, frames, strict=True):
        assert got.stamp_ns == want.stamp_ns
        assert got.frame_id == "camera_optical_frame"
        assert got.rgb.dtype == np.uint8 and got.rgb.shape == (72, 96, 3)
        np.testing.assert_array_equal(got.rgb, want.rgb)
        assert got.depth.dtype == np.float32
        np.testing.assert_array_equal(got.depth, want.depth)  # +inf sky compares equal to +inf
        np.testing.assert_array_equal(got.camera.K, want.camera.K)
        assert got.camera == want.camera
    assert any(np.isposinf(f.depth).any() for f in read), "the sample should contain sky (+inf depth)"
    assert not reader.issues


def test_reader_poses_match_generator(sample_bag: Path, frames) -> None:
    read = BagReader(sample_bag).read_all()
    for got, want in zip(read, frames, strict=True):
        assert_pose_close(got.T_world_cam, want.T_world_cam)


def test_reader_odometry_series_matches_generator(sample_bag: Path, odometry) -> None:
    reader = BagReader(sample_bag)
    np.testing.assert_array_equal(reader.odometry_stamps_ns, [s.stamp_ns for s in odometry])
    np.testing.assert_allclose(reader.T_odom_base, [s.T_odom_base for s in odometry], atol=1e-9)


def test_reader_takes_extrinsic_from_tf_static(sample_bag: Path, sequence) -> None:
    reader = BagReader(sample_bag)
    assert reader.extrinsic_source == "tf_static"
    np.testing.assert_allclose(reader.T_base_cam, sequence.T_base_cam, atol=1e-12)


def test_reader_iterates_twice(sample_bag: Path) -> None:
    reader = BagReader(sample_bag)
    first, second = list(reader), list(reader)
    assert [f.stamp_ns for f in first] == [f.stamp_ns for f in second]
    np.testing.assert_array_equal(first[-1].rgb, second[-1].rgb)


def test_reader_accepts_the_storage_file_itself(sample_bag: Path, frames) -> None:
    read = BagReader(bag_data_file(sample_bag)).read_all()
    assert [f.stamp_ns for f in read] == [f.stamp_ns for f in frames]
    np.testing.assert_array_equal(read[0].rgb, frames[0].rgb)


def test_bgr8_bag_reads_back_as_the_same_rgb(bgr8_bag: Path, frames) -> None:
    (_, first), *_ = read_messages(bgr8_bag, "/camera/image_raw")
    assert first.encoding == "bgr8"
    stored = np.asarray(first.data, dtype=np.uint8).reshape(72, 96, 3)
    np.testing.assert_array_equal(stored, frames[0].rgb[..., ::-1])  # really stored in BGR order
    read = BagReader(bgr8_bag).read_all()
    assert len(read) == len(frames)
    for got, want in zip(read, frames, strict=True):
        np.testing.assert_array_equal(got.rgb, want.rgb)


def test_bag_without_tf_static_falls_back_to_metadata_extrinsic(tmp_path: Path, build_bag, sequence, frames) -> None:
    bag = build_bag(tmp_path / "bag", topics=BagTopics(tf_static=None))
    with AnyReader([bag], default_typestore=TYPESTORE) as reader:
        assert "/tf_static" not in {c.topic for c in reader.connections}
    reader = BagReader(bag)
    assert reader.extrinsic_source == "metadata"
    np.testing.assert_allclose(reader.T_base_cam, sequence.T_base_cam, atol=1e-12)
    for got, want in zip(reader.read_all(), frames, strict=True):
        assert_pose_close(got.T_world_cam, want.T_world_cam)


def test_bag_without_any_extrinsic_gives_frames_without_pose(tmp_path: Path, build_bag, frames) -> None:
    bag = build_bag(tmp_path / "bag", topics=BagTopics(tf_static=None), with_metadata_extrinsic=False)
    reader = BagReader(bag)
    assert reader.extrinsic_source == "none"
    assert reader.T_base_cam is None
    read = reader.read_all()
    assert len(read) == len(frames)
    assert all(f.T_world_cam is None for f in read)
    assert sum(count for issue, count in reader.issues.items() if "without pose" in issue) == len(frames)


@pytest.mark.parametrize("with_tf_static", [True, False], ids=["over-tf_static", "over-metadata"])
def test_explicit_extrinsic_wins(tmp_path: Path, build_bag, sequence, frames, with_tf_static: bool) -> None:
    topics = BagTopics() if with_tf_static else BagTopics(tf_static=None)
    bag = build_bag(tmp_path / "bag", topics=topics)
    T_given = sequence.T_base_cam.copy()
    T_given[:3, 3] += [0.05, -0.1, 0.3]
    reader = BagReader(bag, T_base_cam=T_given)
    assert reader.extrinsic_source == "argument"
    np.testing.assert_array_equal(reader.T_base_cam, T_given)
    start = sequence.config.start_time_ns
    for frame in reader.read_all():
        expected = sequence.trajectory.T_odom_base((frame.stamp_ns - start) / 1e9) @ T_given
        assert_pose_close(frame.T_world_cam, expected)


# ---------------------------------------------------------------------------------------------- bad input


def test_missing_path_raises_bag_error(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_bag"
    with pytest.raises(BagError, match="not found") as error:
        BagReader(missing)
    assert str(missing) in str(error.value)


@pytest.mark.parametrize("fraction", [0.5, 0.9])
def test_truncated_bag_raises_bag_error(sample_bag: Path, storage: str, tmp_path: Path, fraction: float) -> None:
    """Both storages refuse a cut file at open: mcap misses its footer magic, and SQLite reports
    "database disk image is malformed" (rosbags does not read a truncated .db3 partially), so the
    honest result is a BagError for both, never a partial read or a raw rosbags/sqlite3 exception."""
    bag = copy_truncated(sample_bag, tmp_path / "cut", fraction)
    with pytest.raises(BagError) as error:
        BagReader(bag).read_all()
    message = str(error.value)
    assert str(bag) in message
    assert "truncated or corrupt" in message
    # the storage file given directly: the same
    with pytest.raises(BagError, match="truncated or corrupt"):
        BagReader(bag_data_file(bag)).read_all()


def _not_a_bag(kind: str, root: Path) -> Path:
    if kind == "empty folder":
        root.mkdir()
    elif kind == "folder with a text file":
        root.mkdir()
        (root / "notes.txt").write_text("not a bag\n")
    elif kind == "bag folder without metadata.yaml":
        root.mkdir()
        (root / "recording.mcap").write_bytes(b"\x89MCAP0\r\n" + b"\0" * 64)
    else:  # a text file
        root = root.with_suffix(".txt")
        root.write_text("not a bag\n")
    return root


@pytest.mark.parametrize(
    "kind", ["empty folder", "folder with a text file", "bag folder without metadata.yaml", "text file"]
)
def test_path_that_is_not_a_bag_raises_bag_error(tmp_path: Path, kind: str) -> None:
    path = _not_a_bag(kind, tmp_path / "thing")
    with pytest.raises(BagError) as error:
        BagReader(path)
    assert str(path) in str(error.value)


def test_bag_without_image_topic_lists_topics_found(tmp_path: Path, build_bag) -> None:
    bag = build_bag(tmp_path / "bag", topics=BagTopics(image="/front/image_raw"))
    with pytest.raises(BagError) as error:
        BagReader(bag)
    message = str(error.value)
    assert "'/camera/image_raw'" in message
    assert "/front/image_raw [sensor_msgs/msg/Image]" in message
    assert "/camera/camera_info [sensor_msgs/msg/CameraInfo]" in message
    assert "/odom [nav_msgs/msg/Odometry]" in message


def test_bag_without_camera_info_topic_raises_bag_error(sample_bag: Path) -> None:
    with pytest.raises(BagError, match=r"no camera_info topic '/cam/info'.*it has: .*/camera/camera_info"):
        BagReader(sample_bag, BagTopics(camera_info="/cam/info"))


@pytest.mark.parametrize(
    ("topics", "topic", "found", "expected"),
    [
        (BagTopics(image="/odom"), "/odom", "nav_msgs/msg/Odometry", "sensor_msgs/msg/Image"),
        (BagTopics(camera_info="/camera/image_raw"), "/camera/image_raw", "sensor_msgs/msg/Image", "CameraInfo"),
        (BagTopics(depth="/camera/camera_info"), "/camera/camera_info", "CameraInfo", "sensor_msgs/msg/Image"),
        (BagTopics(odometry="/tf"), "/tf", "tf2_msgs/msg/TFMessage", "nav_msgs/msg/Odometry"),
    ],
    ids=["image", "camera_info", "depth", "odometry"],
)
def test_topic_of_wrong_type_raises_bag_error(sample_bag: Path, topics, topic, found, expected) -> None:
    with pytest.raises(BagError) as error:
        BagReader(sample_bag, topics)
    message = str(error.value)
    assert topic in message and found in message and expected in message


def test_camera_info_with_zero_k_raises_bag_error(tmp_path: Path, frames) -> None:
    frame = frames[0]
    info = TYPESTORE.types["sensor_msgs/msg/CameraInfo"]
    zero_info = info(
        header=TYPESTORE.types["std_msgs/msg/Header"](
            stamp=TYPESTORE.types["builtin_interfaces/msg/Time"](
                sec=frame.stamp_ns // 10**9, nanosec=frame.stamp_ns % 10**9
            ),
            frame_id=frame.frame_id,
        ),
        height=72,
        width=96,
        distortion_model="",
        d=np.zeros(0),
        k=np.zeros(9),
        r=np.zeros(9),
        p=np.zeros(12),
        binning_x=0,
        binning_y=0,
        roi=TYPESTORE.types["sensor_msgs/msg/RegionOfInterest"](
            x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
        ),
    )
    bag = tmp_path / "uncalibrated"
    with BagWriter(bag) as writer:
        writer.write(
            "/camera/image_raw", image_message(frame.rgb, "rgb8", frame.stamp_ns, frame.frame_id), frame.stamp_ns
        )
        writer.write("/camera/camera_info", zero_info, frame.stamp_ns)
    with pytest.raises(BagError) as error:
        BagReader(bag)
    message = str(error.value)
    assert "camera_info" in message and "/camera/camera_info" in message
    assert "focal length" in message


def test_camera_info_topic_without_messages_raises_bag_error(tmp_path: Path, frames) -> None:
    frame = frames[0]
    bag = tmp_path / "no_info"
    with BagWriter(bag) as writer:
        writer.write(
            "/camera/image_raw", image_message(frame.rgb, "rgb8", frame.stamp_ns, frame.frame_id), frame.stamp_ns
        )
    # the camera_info topic is absent altogether: named in the error
    with pytest.raises(BagError, match="camera_info"):
        BagReader(bag)


def test_writing_to_existing_bag_refuses_and_keeps_it(sample_bag: Path, sequence, tmp_path: Path) -> None:
    bag = tmp_path / "existing"
    shutil.copytree(sample_bag, bag)
    before = {p.name: p.read_bytes() for p in bag.iterdir()}
    with pytest.raises(BagError, match="already exists"):
        write_sample_bag(bag, sequence, storage="mcap")
    assert {p.name: p.read_bytes() for p in bag.iterdir()} == before
    assert len(BagReader(bag).read_all()) == len(sequence)


@pytest.mark.parametrize("kind", ["folder", "file"])
def test_bag_writer_refuses_existing_path(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "taken"
    if kind == "folder":
        path.mkdir()
        (path / "keep.txt").write_text("precious")
    else:
        path.write_text("precious")
    with pytest.raises(BagError, match="already exists"):
        BagWriter(path)
    assert (path / "keep.txt" if kind == "folder" else path).read_text() == "precious"


def test_bag_writer_rejects_unknown_storage(tmp_path: Path) -> None:
    with pytest.raises(BagError, match="unknown bag storage 'rosbag1'"):
        BagWriter(tmp_path / "bag", storage="rosbag1")
    assert not (tmp_path / "bag").exists()


def test_bag_writer_removes_half_written_bag_on_error(tmp_path: Path, frames) -> None:
    bag = tmp_path / "half"
    with pytest.raises(BagError, match="rgb8 or bgr8"), BagWriter(bag) as writer:
        writer.write_frame(frames[0])
        writer.write_frame(frames[1], encoding="mono8")
    assert not bag.exists()


# ------------------------------------------------------------------------- per-message problems: counted


def test_odometry_with_nan_pose_is_dropped(tmp_path: Path, build_bag, odometry, frames) -> None:
    broken = list(odometry)
    T_nan_position = broken[10].T_odom_base.copy()
    T_nan_position[0, 3] = np.nan
    broken[10] = dataclasses.replace(broken[10], T_odom_base=T_nan_position)
    T_nan_rotation = broken[30].T_odom_base.copy()
    T_nan_rotation[:3, :3] = np.nan
    broken[30] = dataclasses.replace(broken[30], T_odom_base=T_nan_rotation)
    bag = build_bag(tmp_path / "bag", odometry=broken)
    reader = BagReader(bag)
    assert reader.issues["odometry messages with invalid pose dropped"] == 2
    kept = [s.stamp_ns for i, s in enumerate(odometry) if i not in (10, 30)]
    np.testing.assert_array_equal(reader.odometry_stamps_ns, kept)
    assert np.all(np.isfinite(reader.T_odom_base))
    read = reader.read_all()
    assert len(read) == len(frames)
    for got, want in zip(read, frames, strict=True):
        assert_pose_close(got.T_world_cam, want.T_world_cam)


def test_odometry_out_of_order_is_interpolated_correctly(tmp_path: Path, build_bag, odometry, frames) -> None:
    stamps = [s.stamp_ns for s in odometry]
    bag = build_bag(tmp_path / "bag", odometry_receive_ns=stamps[::-1])  # last sample first in the bag
    in_bag_order = [stamp_ns(m.header.stamp) for _, m in read_messages(bag, "/odom")]
    assert in_bag_order == stamps[::-1]  # precondition: header stamps really are out of order in the bag
    reader = BagReader(bag)
    np.testing.assert_array_equal(reader.odometry_stamps_ns, stamps)
    read = reader.read_all()
    assert len(read) == len(frames)
    for got, want in zip(read, frames, strict=True):
        assert_pose_close(got.T_world_cam, want.T_world_cam)
    assert not reader.issues


def test_images_outside_odometry_range_have_no_pose(tmp_path: Path, build_bag, odometry, frames) -> None:
    first, last = frames[3].stamp_ns - 20 * MS, frames[8].stamp_ns + 20 * MS
    partial = [s for s in odometry if first <= s.stamp_ns <= last]
    bag = build_bag(tmp_path / "bag", odometry=partial)
    reader = BagReader(bag)
    read = reader.read_all()
    assert len(read) == len(frames)  # frames without pose are kept, not dropped
    for index, (got, want) in enumerate(zip(read, frames, strict=True)):
        if 3 <= index <= 8:
            assert_pose_close(got.T_world_cam, want.T_world_cam)
        else:
            assert got.T_world_cam is None, f"frame {index} is outside the odometry and must not be extrapolated"
    assert reader.issues["frames without pose (stamp outside odometry or across a gap)"] == 6


def test_images_across_an_odometry_gap_have_no_pose(tmp_path: Path, build_bag, odometry, frames) -> None:
    centre = frames[5].stamp_ns
    gappy = [s for s in odometry if not centre - 150 * MS < s.stamp_ns < centre + 150 * MS]
    bag = build_bag(tmp_path / "bag", odometry=gappy)
    reader = BagReader(bag, max_pose_gap_s=0.25)  # the gap is 0.32 s
    read = reader.read_all()
    for index, (got, want) in enumerate(zip(read, frames, strict=True)):
        if index in (4, 5, 6):
            assert got.T_world_cam is None, f"frame {index} lies in the odometry gap"
        else:
            assert_pose_close(got.T_world_cam, want.T_world_cam)
    assert reader.issues["frames without pose (stamp outside odometry or across a gap)"] == 3


def test_frames_without_depth_keep_stamp_order(tmp_path: Path, build_bag, frames) -> None:
    missing = {1, 4, 7, 10}
    gappy = [dataclasses.replace(f, depth=None) if i in missing else f for i, f in enumerate(frames)]
    reader = BagReader(build_bag(tmp_path / "bag", frames=gappy))
    read = reader.read_all()
    assert [f.stamp_ns for f in read] == [f.stamp_ns for f in frames]
    assert [i for i, f in enumerate(read) if f.depth is None] == sorted(missing)
    np.testing.assert_array_equal(read[2].depth, frames[2].depth)
    assert reader.issues == {"frames without ground-truth depth": len(missing)}


def test_each_issue_counts_once_however_often_the_bag_is_read(tmp_path: Path, build_bag, odometry, frames) -> None:
    partial = [s for s in odometry if s.stamp_ns <= frames[8].stamp_ns + 20 * MS]
    gappy = [dataclasses.replace(f, depth=None) if i == 3 else f for i, f in enumerate(frames)]
    reader = BagReader(build_bag(tmp_path / "bag", frames=gappy, odometry=partial))
    next(iter(reader))  # a pass stopped early, then two whole ones
    reader.read_all()
    reader.read_all()
    assert reader.issues == {
        "frames without ground-truth depth": 1,
        "frames without pose (stamp outside odometry or across a gap)": 3,
    }
