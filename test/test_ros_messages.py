"""Message conversions (depth_ros.ros.messages) with the real rclpy message classes.

Pins down:

* PointCloud2 has depth_image_proc's layouts: organised, x, y, z FLOAT32 at 0/4/8 in 16 bytes, packed
  ``0x00RRGGBB`` rgb FLOAT32 at 16 in 32 bytes, zero padding, ``is_dense`` false, little-endian,
  ``row_step = point_step * width``; reading it back with a dtype built from ``fields`` gives the points;
* the fused depth -> cloud path gives the same bytes as points -> cloud, decimation and colour included,
  also when it writes over a published cloud of the same layout (and only then);
* images: 32FC1 and rgb8 out; rgb8/bgr8/rgba8/bgra8/mono8 and JPEG/PNG in, row padding handled, channel
  order right, unsupported encodings and undecodable payloads named in the error;
* camera_info: K and P round trip; ROI and binning; all-zero K = uncalibrated;
* poses: stamp and quaternion -> matrix; NaN passes through without an exception;
* every message serialises with rclpy (so it is a valid message) and comes back equal.
"""

from __future__ import annotations

import array
import struct

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed (no ROS 2 and no ROS 2 wheels)")

import cv2
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Odometry
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2, PointField
from std_msgs.msg import Header

from depth_ros.errors import CameraModelError, ImageEncodingError, PoseError
from depth_ros.geometry import PinholeCamera
from depth_ros.pipeline.points import decimated_rgb, organised_points
from depth_ros.ros.messages import (
    camera_from_info,
    camera_info_calibration,
    camera_info_message,
    depth_image_message,
    point_cloud_from_depth,
    point_cloud_message,
    pose_from_odometry,
    pose_from_pose_stamped,
    rgb_from_compressed,
    rgb_from_image,
    rgb_image_message,
    stamp_ns,
)

pytestmark = pytest.mark.ros
CAMERA = PinholeCamera(width=10, height=6, fx=8.0, fy=7.0, cx=4.2, cy=2.9)
HEADER = Header(stamp=Time(sec=1_700_000_000, nanosec=123_456_789), frame_id="camera_optical")


def _roundtrip(msg):
    """Serialise with rclpy (fails on an invalid message) and deserialise."""
    return deserialize_message(serialize_message(msg), type(msg))


def _depth(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    depth = rng.uniform(0.5, 9.0, (CAMERA.height, CAMERA.width)).astype(np.float32)
    depth[0, :3] = np.inf
    depth[4, 6] = np.nan
    return depth


def _rgb(seed: int = 0, shape: tuple[int, int] = (CAMERA.height, CAMERA.width)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)


def _read_cloud(msg: PointCloud2) -> np.ndarray:
    """The cloud's points as an (h, w) structured array, with a dtype built from ``msg.fields`` alone."""
    assert all(f.datatype == PointField.FLOAT32 and f.count == 1 for f in msg.fields)
    dtype = np.dtype(
        {
            "names": [f.name for f in msg.fields],
            "formats": [">f4" if msg.is_bigendian else "<f4"] * len(msg.fields),
            "offsets": [f.offset for f in msg.fields],
            "itemsize": msg.point_step,
        }
    )
    assert msg.row_step == msg.point_step * msg.width
    return np.frombuffer(bytes(msg.data), dtype=dtype).reshape(msg.height, msg.width)


def _xyz(cloud: np.ndarray) -> np.ndarray:
    return np.stack([cloud["x"], cloud["y"], cloud["z"]], -1)


# ------------------------------------------------------------------------------------------ clouds


def test_xyz_cloud_has_depth_image_procs_layout_and_reads_back() -> None:
    points = organised_points(_depth(), CAMERA)
    msg = point_cloud_message(points, HEADER)
    assert (msg.height, msg.width, msg.point_step, msg.row_step) == (6, 10, 16, 160)
    assert [(f.name, f.offset, f.datatype, f.count) for f in msg.fields] == [
        ("x", 0, PointField.FLOAT32, 1),
        ("y", 4, PointField.FLOAT32, 1),
        ("z", 8, PointField.FLOAT32, 1),
    ]
    assert msg.is_dense is False and msg.is_bigendian is False
    assert len(msg.data) == 6 * 10 * 16
    np.testing.assert_array_equal(_xyz(_read_cloud(msg)), points)
    assert (np.frombuffer(bytes(msg.data), np.uint8).reshape(60, 16)[:, 12:] == 0).all()


def test_xyzrgb_cloud_packs_a_known_colour() -> None:
    points = organised_points(_depth(), CAMERA)
    rgb = _rgb()
    rgb[1, 2] = (0x12, 0x34, 0x56)
    msg = point_cloud_message(points, HEADER, rgb)
    assert (msg.point_step, msg.row_step) == (32, 320)
    assert [(f.name, f.offset) for f in msg.fields] == [("x", 0), ("y", 4), ("z", 8), ("rgb", 16)]
    assert msg.fields[3].datatype == PointField.FLOAT32
    cloud = _read_cloud(msg)
    np.testing.assert_array_equal(_xyz(cloud), points)
    packed = cloud["rgb"].view("<u4")
    assert packed[1, 2] == 0x00123456
    np.testing.assert_array_equal(packed >> 16, rgb[..., 0])
    np.testing.assert_array_equal((packed >> 8) & 0xFF, rgb[..., 1])
    np.testing.assert_array_equal(packed & 0xFF, rgb[..., 2])
    raw = np.frombuffer(bytes(msg.data), np.uint8).reshape(60, 32)
    assert (raw[:, 12:16] == 0).all() and (raw[:, 19:] == 0).all()


def test_invalid_points_are_quiet_nan_bytes() -> None:
    msg = point_cloud_message(organised_points(_depth(), CAMERA), HEADER)
    first_point = bytes(msg.data)[:16]
    assert first_point == struct.pack("<3f", float("nan"), float("nan"), float("nan")) + bytes(4)


@pytest.mark.parametrize("decimation", [1, 3])
@pytest.mark.parametrize("coloured", [False, True])
def test_cloud_from_depth_equals_points_then_cloud(decimation: int, coloured: bool) -> None:
    depth, rgb = _depth(1), _rgb(1)
    colours = decimated_rgb(rgb, decimation) if coloured else None
    expected = point_cloud_message(organised_points(depth, CAMERA, decimation), HEADER, colours)
    msg = point_cloud_from_depth(depth, CAMERA, HEADER, decimation, rgb if coloured else None)
    assert (msg.height, msg.width) == (expected.height, expected.width) == (-(-6 // decimation), -(-10 // decimation))
    assert bytes(msg.data) == bytes(expected.data)
    assert msg.fields == expected.fields and msg.point_step == expected.point_step
    assert msg.header == HEADER and msg.header is not HEADER


def test_a_published_cloud_is_written_over_only_when_its_layout_matches() -> None:
    published = point_cloud_from_depth(_depth(1), CAMERA, HEADER)
    buffer = published.data
    later = Header(stamp=Time(sec=1_700_000_001, nanosec=5), frame_id="other_optical")
    reused = point_cloud_from_depth(_depth(2), CAMERA, later, reuse=published)
    assert reused is published and reused.data is buffer  # no new message, no new buffer
    assert reused.header == later and reused.header is not later
    assert bytes(reused.data) == bytes(point_cloud_from_depth(_depth(2), CAMERA, later).data)
    assert _roundtrip(reused) == reused
    kept = bytes(published.data)
    decimated = point_cloud_from_depth(_depth(2), CAMERA, later, 2, reuse=published)
    coloured = point_cloud_from_depth(_depth(2), CAMERA, later, rgb=_rgb(), reuse=published)
    assert decimated is not published and coloured is not published
    assert bytes(published.data) == kept and published.header == later  # another layout: left as it was
    assert (decimated.height, decimated.width, coloured.point_step) == (3, 5, 32)


def test_a_published_depth_image_is_written_over_only_when_its_size_matches() -> None:
    published = depth_image_message(_depth(1), HEADER)
    buffer = published.data
    later = Header(stamp=Time(sec=1_700_000_001, nanosec=5), frame_id="other_optical")
    reused = depth_image_message(_depth(2).astype(np.float64), later, reuse=published)
    assert reused is published and reused.data is buffer
    assert reused.header == later and reused.header is not later
    assert _roundtrip(reused) == depth_image_message(_depth(2), later)
    other = depth_image_message(np.ones((3, 10), np.float32), later, reuse=published)
    assert other is not published and (other.height, other.width) == (3, 10)
    np.testing.assert_array_equal(np.frombuffer(published.data, "<f4").reshape(6, 10), _depth(2))  # left as it was


def test_a_published_camera_info_is_sent_again_only_for_the_same_camera() -> None:
    published = camera_info_message(CAMERA, HEADER)
    later = Header(stamp=Time(sec=1_700_000_001, nanosec=5), frame_id="other_optical")
    reused = camera_info_message(PinholeCamera(10, 6, 8.0, 7.0, 4.2, 2.9), later, reuse=published)
    assert reused is published and reused.header == later and reused.header is not later
    assert _roundtrip(reused) == camera_info_message(CAMERA, later)
    for changed in (
        PinholeCamera(12, 6, 8.0, 7.0, 4.2, 2.9),
        PinholeCamera(10, 7, 8.0, 7.0, 4.2, 2.9),
        PinholeCamera(10, 6, 8.5, 7.0, 4.2, 2.9),
        PinholeCamera(10, 6, 8.0, 7.5, 4.2, 2.9),
        PinholeCamera(10, 6, 8.0, 7.0, 4.5, 2.9),
        PinholeCamera(10, 6, 8.0, 7.0, 4.2, 2.5),
    ):
        msg = camera_info_message(changed, later, reuse=published)
        assert msg is not published and camera_from_info(msg) == changed
    assert camera_from_info(published) == CAMERA  # left as it was


def test_cloud_serialises_and_round_trips() -> None:
    msg = point_cloud_from_depth(_depth(), CAMERA, HEADER, rgb=_rgb())
    assert _roundtrip(msg) == msg


def test_cloud_refuses_wrong_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(h, w, 3\)"):
        point_cloud_message(np.zeros((6, 10, 4), np.float32), HEADER)
    with pytest.raises(ImageEncodingError, match="uint8"):
        point_cloud_message(np.zeros((6, 10, 3), np.float32), HEADER, np.zeros((6, 10, 3), np.float32))


# ------------------------------------------------------------------------------------------ images


def test_depth_image_message_is_32fc1_metres() -> None:
    depth = _depth()
    msg = depth_image_message(depth, HEADER)
    assert (msg.encoding, msg.height, msg.width, msg.step, msg.is_bigendian) == ("32FC1", 6, 10, 40, 0)
    back = np.frombuffer(bytes(msg.data), "<f4").reshape(6, 10)
    np.testing.assert_array_equal(back, depth)
    assert msg.header == HEADER and msg.header is not HEADER
    assert _roundtrip(msg) == msg


def test_rgb_image_message_round_trips_through_rgb_from_image() -> None:
    rgb = _rgb(2)
    msg = rgb_image_message(rgb, HEADER)
    assert (msg.encoding, msg.step) == ("rgb8", 30)
    np.testing.assert_array_equal(rgb_from_image(_roundtrip(msg)), rgb)


def _image(pixels: np.ndarray, encoding: str, step_padding: int = 0) -> Image:
    height, width = pixels.shape[:2]
    row = pixels.reshape(height, -1)
    padded = np.zeros((height, row.shape[1] + step_padding), np.uint8)
    padded[:, : row.shape[1]] = row
    msg = Image(height=height, width=width, encoding=encoding, step=padded.shape[1])
    msg.data.frombytes(padded.reshape(-1))
    return msg


@pytest.mark.parametrize(
    "encoding, to_message",
    [
        ("rgb8", lambda rgb: rgb),
        ("bgr8", lambda rgb: rgb[..., ::-1]),
        ("rgba8", lambda rgb: np.dstack([rgb, np.full(rgb.shape[:2], 200, np.uint8)])),
        ("bgra8", lambda rgb: np.dstack([rgb[..., ::-1], np.full(rgb.shape[:2], 200, np.uint8)])),
    ],
)
def test_colour_encodings_give_rgb(encoding, to_message) -> None:
    rgb = _rgb(3)
    rgb[0, 0] = (255, 0, 0)
    result = rgb_from_image(_image(np.ascontiguousarray(to_message(rgb)), encoding))
    assert result.shape == (6, 10, 3) and result.dtype == np.uint8
    assert result[0, 0].tolist() == [255, 0, 0]
    np.testing.assert_array_equal(result, rgb)


def test_mono8_gives_three_equal_channels() -> None:
    grey = np.arange(60, dtype=np.uint8).reshape(6, 10)
    np.testing.assert_array_equal(rgb_from_image(_image(grey, "mono8")), np.dstack([grey] * 3))


def test_row_padding_is_skipped() -> None:
    rgb = _rgb(4)
    msg = _image(rgb[..., ::-1].copy(), "bgr8", step_padding=6)
    assert msg.step == 36
    np.testing.assert_array_equal(rgb_from_image(msg), rgb)


def test_unsupported_encoding_is_named() -> None:
    msg = Image(height=2, width=2, encoding="yuv422", step=4)
    msg.data.frombytes(bytes(8))
    with pytest.raises(ImageEncodingError, match="yuv422") as error:
        rgb_from_image(msg)
    assert "rgb8" in str(error.value) and "bgr8" in str(error.value)


def _compressed(image_bgr: np.ndarray, extension: str, fmt: str) -> CompressedImage:
    ok, encoded = cv2.imencode(extension, image_bgr)
    assert ok
    msg = CompressedImage(header=HEADER, format=fmt)
    msg.data.frombytes(encoded.reshape(-1))
    return msg


def test_jpeg_round_trip_keeps_colours() -> None:
    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[:, :16] = (220, 20, 20)  # red, green, blue bands: a channel swap moves the red band to blue
    rgb[:, 16:32] = (20, 220, 20)
    rgb[:, 32:] = (20, 20, 220)
    decoded = rgb_from_compressed(_compressed(rgb[..., ::-1], ".jpg", "rgb8; jpeg compressed bgr8"))
    assert decoded.shape == (32, 48, 3)
    centres = np.r_[4:12, 20:28, 36:44]  # away from the band edges, where 4:2:0 chroma subsampling rings
    assert np.abs(decoded[:, centres].astype(int) - rgb[:, centres]).max() < 16
    assert decoded[16, 8].argmax() == 0 and decoded[16, 24].argmax() == 1 and decoded[16, 40].argmax() == 2


def test_png_round_trip_is_exact() -> None:
    rgb = _rgb(5)
    np.testing.assert_array_equal(rgb_from_compressed(_compressed(rgb[..., ::-1], ".png", "png")), rgb)


def test_undecodable_compressed_image_says_so() -> None:
    msg = CompressedImage(format="jpeg")
    msg.data.frombytes(b"not a jpeg at all")
    with pytest.raises(ImageEncodingError, match=r"could not decode the 17-byte payload.*'jpeg'"):
        rgb_from_compressed(msg)
    with pytest.raises(ImageEncodingError, match="could not decode"):
        rgb_from_compressed(CompressedImage(format="png"))
    with pytest.raises(ImageEncodingError, match="compressedDepth"):
        rgb_from_compressed(CompressedImage(format="16UC1; compressedDepth png"))


# ------------------------------------------------------------------------------------- camera_info


def test_camera_info_round_trip_keeps_k_and_p() -> None:
    msg = _roundtrip(camera_info_message(CAMERA, HEADER))
    assert (msg.width, msg.height, msg.distortion_model) == (10, 6, "plumb_bob")
    np.testing.assert_array_equal(np.reshape(msg.k, (3, 3)), CAMERA.K)
    np.testing.assert_array_equal(np.reshape(msg.p, (3, 4)), np.hstack([CAMERA.K, np.zeros((3, 1))]))
    np.testing.assert_array_equal(np.reshape(msg.r, (3, 3)), np.eye(3))
    assert list(msg.d) == [0.0] * 5
    assert msg.header == HEADER
    assert camera_from_info(msg) == CAMERA


def _info(k: list[float], width: int = 640, height: int = 480) -> CameraInfo:
    return CameraInfo(header=HEADER, width=width, height=height, k=np.array(k, np.float64))


def test_all_zero_k_is_an_uncalibrated_camera() -> None:
    with pytest.raises(CameraModelError, match="uncalibrated"):
        camera_from_info(_info([0.0] * 9))
    info = _info([0.0] * 9)
    info.p = np.array([450.0, 0, 310, 0, 0, 440, 235, 0, 0, 0, 1, 0])
    with pytest.raises(CameraModelError, match="uncalibrated"):  # whatever P says
        camera_from_info(info)


@pytest.mark.parametrize(
    "k, match",
    [
        ([500.0, 0, 320, 0, 500, 240, 0, 0, 0], "expected"),
        ([500.0, 0, 320, 200, 500, 240, 0, 0, 1], "expected"),  # K[1, 0]
        ([0.0, 0, 320, 0, 500, 240, 0, 0, 1], "uncalibrated"),
        ([500.0, 1.5, 320, 0, 500, 240, 0, 0, 1], "skew"),
        ([0.6, 0, 0.5, 0, 0.8, 0.5, 0, 0, 1], "field of view of 180"),  # normalised (fx / width) on 640x480
        ([1e300, 0, 320, 0, 1e300, 240, 0, 0, 1], "field of view of 3.67e-296"),
        ([500.0, 0, 1e6, 0, 500, 240, 0, 0, 1], "principal point"),
        ([500.0, 0, 320, 0, 500, -3, 0, 0, 1], "principal point"),
        ([float("nan")] * 9, "non-finite intrinsics"),
        ([500.0, float("nan"), 320, 0, 500, 240, 0, 0, 1], "non-finite intrinsics"),
        ([500.0, 0, 320, 0, 500, 240, 0, 0, float("inf")], "non-finite intrinsics"),
    ],
    ids=[
        "last row",
        "K10",
        "zero fx",
        "skew",
        "normalised",
        "huge focal",
        "cx far out",
        "cy negative",
        "nan K",
        "nan skew",
        "inf K22",
    ],
)
def test_invalid_k_is_refused(k, match) -> None:
    with pytest.raises(CameraModelError, match=match):
        camera_from_info(_info(k))


def test_rectified_images_take_their_intrinsics_from_p_and_k_only_without_p() -> None:
    """image_rect's camera is P's (as image_geometry and depth_image_proc take it); K is the raw image's."""
    info = _info([500.0, 0, 320, 0, 480, 240, 0, 0, 1])
    info.d = array.array("d", [-0.3, 0.1, 0.0, 0.0, 0.0])
    info.p = np.array([450.0, 0, 310, 0, 0, 440, 235, 0, 0, 0, 1, 0])
    assert camera_from_info(info) == PinholeCamera(640, 480, 450.0, 440.0, 310.0, 235.0)
    info.p = np.zeros(12)  # left unset by the driver
    assert camera_from_info(info) == PinholeCamera(640, 480, 500.0, 480.0, 320.0, 240.0)


def test_camera_info_calibration_changes_with_every_field_the_camera_is_read_from() -> None:
    def info() -> CameraInfo:
        msg = _info([500.0, 0, 320.0, 0, 480.0, 240.0, 0, 0, 1])
        msg.p = np.array([450.0, 0, 310, 0, 0, 440, 235, 0, 0, 0, 1, 0])
        return msg

    same = info()
    same.header.frame_id, same.distortion_model, same.d = "elsewhere", "plumb_bob", array.array("d", [0.1] * 5)
    assert camera_info_calibration(same) == camera_info_calibration(info())  # fields the camera does not use
    changes = {
        "width": lambda m: setattr(m, "width", 320),
        "height": lambda m: setattr(m, "height", 240),
        "k": lambda m: m.k.__setitem__(4, 481.0),
        "p": lambda m: m.p.__setitem__(2, 311.0),
        "roi x": lambda m: setattr(m.roi, "x_offset", 1),
        "roi y": lambda m: setattr(m.roi, "y_offset", 1),
        "roi width": lambda m: setattr(m.roi, "width", 1),
        "roi height": lambda m: setattr(m.roi, "height", 1),
        "binning x": lambda m: setattr(m, "binning_x", 2),
        "binning y": lambda m: setattr(m, "binning_y", 2),
    }
    keys = {camera_info_calibration(info())}
    for change in changes.values():
        msg = info()
        change(msg)
        keys.add(camera_info_calibration(msg))
    assert len(keys) == 1 + len(changes)
    hash(camera_info_calibration(info()))


def test_roi_and_binning_give_the_published_images_camera() -> None:
    info = _info([500.0, 0, 320.0, 0, 480.0, 240.0, 0, 0, 1])
    info.roi.x_offset, info.roi.y_offset, info.roi.width, info.roi.height = 100, 40, 400, 300
    assert camera_from_info(info) == PinholeCamera(400, 300, 500.0, 480.0, 220.0, 200.0)
    info.binning_x, info.binning_y = 2, 4
    camera = camera_from_info(info)
    assert (camera.width, camera.height) == (200, 75)
    # Super-pixel u' covers window pixels b u' .. b u' + b - 1, centred at b u' + (b - 1) / 2.
    assert (camera.fx, camera.fy) == (250.0, 120.0)
    assert camera.cx == pytest.approx((220.0 - 0.5) / 2) and camera.cy == pytest.approx((200.0 - 1.5) / 4)
    info.roi.x_offset = 300
    with pytest.raises(CameraModelError, match="does not fit"):
        camera_from_info(info)


# ------------------------------------------------------------------------------------------ poses


def test_odometry_gives_stamp_and_matrix() -> None:
    msg = Odometry(header=HEADER, child_frame_id="base_link")
    msg.pose.pose.position.x, msg.pose.pose.position.y, msg.pose.pose.position.z = 1.0, -2.0, 0.5
    half = np.sqrt(0.5)
    msg.pose.pose.orientation.z, msg.pose.pose.orientation.w = half, half  # +90 degrees about z
    stamp, T = pose_from_odometry(msg)
    assert stamp == 1_700_000_000_123_456_789
    expected = np.array([[0.0, -1.0, 0.0, 1.0], [1.0, 0.0, 0.0, -2.0], [0.0, 0.0, 1.0, 0.5], [0.0, 0.0, 0.0, 1.0]])
    np.testing.assert_allclose(T, expected, atol=1e-12)


def test_pose_stamped_gives_stamp_and_matrix() -> None:
    msg = PoseStamped(header=HEADER)
    msg.pose.orientation.x, msg.pose.orientation.w = 1.0, 0.0  # half turn about x
    msg.pose.position.y = 3.0
    stamp, T = pose_from_pose_stamped(msg)
    assert stamp == stamp_ns(HEADER)
    np.testing.assert_allclose(T[:3, :3], np.diag([1.0, -1.0, -1.0]), atol=1e-12)
    np.testing.assert_array_equal(T[:, 3], [0.0, 3.0, 0.0, 1.0])


@pytest.mark.parametrize(
    "xyzw", [(0, 0, 0, float("nan")), (0, 0, 0, 0), (1e-9, 0, 0, 1e-9), (0, 0, 0, 2), (0, 0, 0.2, 1)]
)
def test_a_quaternion_that_is_not_a_unit_one_is_refused_naming_the_pose(xyzw) -> None:
    """Refused, not normalised: a zeroed or half-written orientation is not a rotation to guess (tf2 refuses
    these too)."""
    msg = PoseStamped(header=HEADER)
    msg.pose.orientation.x, msg.pose.orientation.y, msg.pose.orientation.z, msg.pose.orientation.w = map(float, xyzw)
    with pytest.raises(PoseError, match=r"pose at 1700000000123456789 ns: quaternion .* is not of unit length"):
        pose_from_pose_stamped(msg)


def test_a_nan_position_passes_through_for_the_pose_buffer_to_refuse() -> None:
    msg = PoseStamped(header=HEADER)
    msg.pose.position.x = float("nan")
    _, T = pose_from_pose_stamped(msg)
    assert np.isnan(T[0, 3]) and np.array_equal(T[:3, :3], np.eye(3))


def test_stamp_ns_of_a_header_or_a_stamp() -> None:
    assert stamp_ns(HEADER) == stamp_ns(HEADER.stamp) == 1_700_000_000_123_456_789
    assert stamp_ns(Time(sec=0, nanosec=1)) == 1
