"""``sensor_msgs/Image`` pixel data <-> NumPy (depth_ros.encodings), on plain objects and rclpy messages.

Messages here are ``types.SimpleNamespace`` objects with the ``Image`` fields, built byte by byte
so that each test states the wire layout it expects (channel order, row padding, endianness).
"""

from __future__ import annotations

import array
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from depth_ros.encodings import (
    COLOUR_ENCODINGS,
    array_to_image_fields,
    compressed_image_size,
    image_to_array,
    image_to_depth,
    image_to_rgb,
)
from depth_ros.errors import DepthRosError, ImageEncodingError

RNG = np.random.default_rng(7)
HEIGHT, WIDTH = 5, 7
RGB = RNG.integers(0, 256, size=(HEIGHT, WIDTH, 3), dtype=np.uint8)
GREY = RNG.integers(0, 256, size=(HEIGHT, WIDTH), dtype=np.uint8)


def message(pixels: np.ndarray, encoding: str, pad: int = 0, bigendian: bool = False) -> SimpleNamespace:
    """An Image-like object holding ``pixels`` (already in the encoding's channel order), each row
    followed by ``pad`` junk bytes, stored big-endian when asked."""
    height, width = pixels.shape[:2]
    dtype = pixels.dtype.newbyteorder(">" if bigendian else "<")
    rows = pixels.astype(dtype).reshape(height, -1).view(np.uint8).reshape(height, -1)
    junk = np.full((height, pad), 0xAB, dtype=np.uint8)
    padded = np.concatenate([rows, junk], axis=1)
    return SimpleNamespace(
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=int(bigendian),
        step=padded.shape[1],
        data=padded.tobytes(),
    )


def colour_layout(encoding: str) -> np.ndarray:
    """``RGB`` laid out in ``encoding``'s channel order (alpha 200; mono8 uses ``GREY``)."""
    alpha = np.full((HEIGHT, WIDTH, 1), 200, dtype=np.uint8)
    return {
        "rgb8": RGB,
        "bgr8": RGB[..., ::-1],
        "rgba8": np.concatenate([RGB, alpha], axis=2),
        "bgra8": np.concatenate([RGB[..., ::-1], alpha], axis=2),
        "mono8": GREY,
    }[encoding]


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "rgba8", "bgra8"])
def test_colour_encodings_give_the_same_rgb(encoding: str) -> None:
    rgb = image_to_rgb(message(colour_layout(encoding), encoding))
    assert rgb.dtype == np.uint8 and rgb.shape == (HEIGHT, WIDTH, 3)
    np.testing.assert_array_equal(rgb, RGB)


def test_mono8_gives_grey_rgb() -> None:
    rgb = image_to_rgb(message(GREY, "mono8"))
    assert rgb.shape == (HEIGHT, WIDTH, 3)
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel], GREY)


@pytest.mark.parametrize("encoding", COLOUR_ENCODINGS)
@pytest.mark.parametrize("pad", [1, 5, 64])
def test_row_padding_is_skipped(encoding: str, pad: int) -> None:
    plain = image_to_rgb(message(colour_layout(encoding), encoding))
    padded_msg = message(colour_layout(encoding), encoding, pad=pad)
    assert padded_msg.step > WIDTH * colour_layout(encoding).reshape(HEIGHT, WIDTH, -1).shape[2]
    np.testing.assert_array_equal(image_to_rgb(padded_msg), plain)


def test_rgb_output_is_contiguous_and_writable_copy_for_bgr() -> None:
    msg = message(colour_layout("bgr8"), "bgr8")
    rgb = image_to_rgb(msg)
    assert rgb.flags.c_contiguous
    rgb[0, 0] = 0  # a copy: must not touch the message
    np.testing.assert_array_equal(image_to_rgb(msg), RGB)


def test_little_and_big_endian_32fc1_give_the_same_metres() -> None:
    depth = RNG.uniform(0.1, 80.0, size=(HEIGHT, WIDTH)).astype(np.float32)
    depth[0, 0] = np.inf
    depth[1, 1] = np.nan
    for bigendian in (False, True):
        got = image_to_depth(message(depth, "32FC1", bigendian=bigendian))
        assert got.dtype == np.float32 and got.dtype.isnative
        np.testing.assert_array_equal(got, depth)


def test_big_endian_32fc1_bytes_are_read_big_endian() -> None:
    # 1.5 as a big-endian float32 is 3F C0 00 00; read little-endian it would be a tiny denormal
    msg = SimpleNamespace(
        height=1, width=2, encoding="32FC1", is_bigendian=1, step=8, data=bytes.fromhex("3FC00000 40200000")
    )
    np.testing.assert_array_equal(image_to_depth(msg), [[1.5, 2.5]])


@pytest.mark.parametrize("encoding", ["16UC1", "mono16"])
@pytest.mark.parametrize("bigendian", [False, True], ids=["little", "big"])
def test_16uc1_millimetres_become_metres_with_zero_as_nan(encoding: str, bigendian: bool) -> None:
    millimetres = np.array([[0, 1, 1000], [1234, 65535, 0]], dtype=np.uint16)
    depth = image_to_depth(message(millimetres, encoding, bigendian=bigendian))
    assert depth.dtype == np.float32
    expected = np.array([[np.nan, 0.001, 1.0], [1.234, 65.535, np.nan]], dtype=np.float32)
    np.testing.assert_allclose(depth, expected, rtol=1e-6, equal_nan=True)
    assert np.isnan(depth[0, 0]) and np.isnan(depth[1, 2])


def test_big_endian_16uc1_bytes_are_read_big_endian() -> None:
    # 0x01 0x02 big-endian is 258 mm; little-endian it would be 513 mm
    msg = SimpleNamespace(height=1, width=1, encoding="16UC1", is_bigendian=1, step=2, data=b"\x01\x02")
    np.testing.assert_allclose(image_to_depth(msg), [[0.258]], rtol=1e-6)


def test_16uc1_with_row_padding() -> None:
    millimetres = RNG.integers(1, 10_000, size=(HEIGHT, WIDTH), dtype=np.uint16)
    depth = image_to_depth(message(millimetres, "16UC1", pad=6))
    np.testing.assert_allclose(depth, millimetres.astype(np.float32) / 1000, rtol=1e-6)


@pytest.mark.parametrize("encoding", ["yuv422", "8UC3", "bayer_rggb8", "32FC1"])
def test_unsupported_colour_encoding_names_expected_and_received(encoding: str) -> None:
    msg = SimpleNamespace(height=1, width=1, encoding=encoding, is_bigendian=0, step=4, data=b"\0" * 4)
    with pytest.raises(ImageEncodingError) as error:
        image_to_rgb(msg)
    text = str(error.value)
    assert repr(encoding) in text
    assert "rgb8" in text and "bgr8" in text and "mono8" in text


@pytest.mark.parametrize("encoding", ["rgb8", "8UC1", "yuv422"])
def test_unsupported_depth_encoding_names_expected_and_received(encoding: str) -> None:
    msg = SimpleNamespace(height=1, width=1, encoding=encoding, is_bigendian=0, step=3, data=b"\0" * 3)
    with pytest.raises(ImageEncodingError) as error:
        image_to_depth(msg)
    text = str(error.value)
    assert repr(encoding) in text and "32FC1" in text and "16UC1" in text


@pytest.mark.parametrize("encoding", ["yuv422", "8UC3"])
def test_image_to_array_rejects_unknown_layouts(encoding: str) -> None:
    msg = SimpleNamespace(height=1, width=1, encoding=encoding, is_bigendian=0, step=3, data=b"\0" * 3)
    with pytest.raises(ImageEncodingError, match=rf"'{encoding}'.*expected one of .*rgb8"):
        image_to_array(msg)


def test_image_encoding_error_is_a_user_error_and_a_value_error() -> None:
    assert issubclass(ImageEncodingError, DepthRosError)
    assert issubclass(ImageEncodingError, ValueError)


@pytest.mark.parametrize(
    ("encoding", "pixels"),
    [("rgb8", RGB), ("mono8", GREY), ("32FC1", np.ones((HEIGHT, WIDTH), np.float32))],
    ids=["rgb8", "mono8", "32FC1"],
)
def test_data_buffer_too_short_raises(encoding: str, pixels: np.ndarray) -> None:
    msg = message(pixels, encoding)
    msg.data = msg.data[:-1]
    with pytest.raises(ImageEncodingError) as error:
        image_to_array(msg)
    text = str(error.value)
    assert f"{WIDTH}x{HEIGHT}" in text and f"got step {msg.step} and {len(msg.data)} bytes" in text


def test_step_smaller_than_a_row_raises() -> None:
    msg = message(RGB, "rgb8")
    msg.step = WIDTH * 3 - 1
    with pytest.raises(ImageEncodingError, match=f"needs step >= {WIDTH * 3}"):
        image_to_rgb(msg)


def test_empty_data_raises() -> None:
    msg = SimpleNamespace(height=HEIGHT, width=WIDTH, encoding="rgb8", is_bigendian=0, step=WIDTH * 3, data=b"")
    with pytest.raises(ImageEncodingError):
        image_to_rgb(msg)


@pytest.mark.parametrize(
    ("encoding", "pixels"),
    [
        ("rgb8", RGB),
        ("bgr8", RGB[..., ::-1]),
        ("rgba8", colour_layout("rgba8")),
        ("bgra8", colour_layout("bgra8")),
        ("mono8", GREY),
        ("32FC1", RNG.uniform(0, 50, (HEIGHT, WIDTH)).astype(np.float32)),
        ("16UC1", RNG.integers(0, 65535, (HEIGHT, WIDTH), dtype=np.uint16)),
        ("mono16", RNG.integers(0, 65535, (HEIGHT, WIDTH), dtype=np.uint16)),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_array_to_image_fields_round_trips(encoding: str, pixels: np.ndarray) -> None:
    fields = array_to_image_fields(pixels, encoding)
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    assert fields["encoding"] == encoding
    assert (fields["height"], fields["width"]) == (HEIGHT, WIDTH)
    assert fields["is_bigendian"] == 0
    assert fields["step"] == WIDTH * channels * pixels.dtype.itemsize
    assert fields["data"].dtype == np.uint8 and fields["data"].size == fields["step"] * HEIGHT
    back = image_to_array(SimpleNamespace(**fields))
    assert back.dtype == pixels.dtype
    np.testing.assert_array_equal(back, pixels)


def test_array_to_image_fields_accepts_non_contiguous_input() -> None:
    fields = array_to_image_fields(RGB[:, ::-1], "rgb8")  # a negative-stride view
    np.testing.assert_array_equal(image_to_array(SimpleNamespace(**fields)), RGB[:, ::-1])


@pytest.mark.parametrize(
    ("encoding", "pixels"),
    [
        ("rgb8", GREY),  # missing channels
        ("rgb8", RGB.astype(np.float32)),  # wrong dtype
        ("mono8", RGB),  # too many channels
        ("32FC1", np.ones((HEIGHT, WIDTH), np.float64)),  # float64 is not 32FC1
        ("16UC1", np.ones((HEIGHT, WIDTH), np.int32)),
        ("rgb8", np.zeros((2, HEIGHT, WIDTH, 3), np.uint8)),  # a batch, not an image
        ("mono8", np.zeros(WIDTH, np.uint8)),  # one row, not an image
    ],
    ids=["rgb8-grey", "rgb8-float", "mono8-rgb", "32FC1-float64", "16UC1-int32", "rgb8-4d", "mono8-1d"],
)
def test_array_to_image_fields_rejects_mismatched_arrays(encoding: str, pixels: np.ndarray) -> None:
    with pytest.raises(ImageEncodingError, match=encoding):
        array_to_image_fields(pixels, encoding)


def test_array_to_image_fields_rejects_unknown_encoding() -> None:
    with pytest.raises(ImageEncodingError, match="'yuv422'"):
        array_to_image_fields(RGB, "yuv422")


@pytest.mark.ros
def test_real_rclpy_image_with_array_data() -> None:
    pytest.importorskip("rclpy", reason="rclpy is not installed (no ROS 2 and no ROS 2 wheels)")
    from sensor_msgs.msg import Image

    fields = array_to_image_fields(RGB[..., ::-1], "bgr8")
    msg = Image(
        height=fields["height"],
        width=fields["width"],
        encoding=fields["encoding"],
        is_bigendian=fields["is_bigendian"],
        step=fields["step"],
        data=fields["data"].tobytes(),
    )
    assert isinstance(msg.data, array.array)  # what rclpy hands to callbacks
    np.testing.assert_array_equal(image_to_rgb(msg), RGB)

    depth = RNG.uniform(0.5, 20, (HEIGHT, WIDTH)).astype(np.float32)
    depth_msg = Image(encoding="32FC1", height=HEIGHT, width=WIDTH, step=WIDTH * 4 + 8, is_bigendian=0)
    padded = np.concatenate([depth.view(np.uint8).reshape(HEIGHT, -1), np.zeros((HEIGHT, 8), np.uint8)], axis=1)
    depth_msg.data = array.array("B", padded.tobytes())
    assert isinstance(depth_msg.data, array.array)
    np.testing.assert_array_equal(image_to_depth(depth_msg), depth)


@pytest.mark.parametrize(
    "extension, options", [(".png", []), (".jpg", []), (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])]
)
def test_compressed_image_size_reads_the_header(extension: str, options: list[int]) -> None:
    ok, payload = cv2.imencode(extension, np.zeros((37, 53, 3), np.uint8), options)
    assert ok
    assert compressed_image_size(payload.tobytes()) == (53, 37)
    assert compressed_image_size(array.array("B", payload.tobytes())) == (53, 37)  # a message's data
    assert compressed_image_size(payload.tobytes()[:10]) is None  # cut short


def test_compressed_image_size_of_anything_else_is_none() -> None:
    assert compressed_image_size(b"") is None
    assert compressed_image_size(b"GIF89a...") is None
