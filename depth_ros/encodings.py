"""``sensor_msgs/Image`` pixel data <-> NumPy arrays, without ROS.

Works on any object with the ``Image`` fields (``height``, ``width``, ``encoding``, ``is_bigendian``,
``step``, ``data``): rclpy messages, ``rosbags`` messages, or plain dataclasses. Row padding (``step``
larger than ``width * pixel size``) and big-endian data are handled. Colour comes out as RGB; depth
comes out as float32 metres (REP 118): ``32FC1`` as it is, ``16UC1``/``mono16`` millimetres scaled
with 0 -> NaN (invalid).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from depth_ros.errors import ImageEncodingError

# encoding -> (dtype, channels)
_LAYOUTS = {
    "rgb8": (np.uint8, 3),
    "bgr8": (np.uint8, 3),
    "rgba8": (np.uint8, 4),
    "bgra8": (np.uint8, 4),
    "mono8": (np.uint8, 1),
    "32FC1": (np.float32, 1),
    "16UC1": (np.uint16, 1),
    "mono16": (np.uint16, 1),
}
COLOUR_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8")
DEPTH_ENCODINGS = ("32FC1", "16UC1", "mono16")


def _layout(encoding: str) -> tuple[type, int]:
    """(dtype, channels) of an encoding; :class:`ImageEncodingError` for the ones we do not handle."""
    if encoding not in _LAYOUTS:
        raise ImageEncodingError(f"unsupported image encoding {encoding!r}: expected one of {', '.join(_LAYOUTS)}")
    return _LAYOUTS[encoding]


def packed_rows(data: Any, height: int, row_step: int, row_bytes: int) -> np.ndarray | None:
    """(height, row_bytes) contiguous uint8 rows of a message's ``data`` laid out ``row_step`` bytes apart
    (row padding dropped; a view when there is none), or None when ``data`` is too short or
    ``row_step < row_bytes``. Shared by images (``step``) and point clouds (``row_step``)."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    if row_step < row_bytes or buffer.size < row_step * height:
        return None
    return np.ascontiguousarray(buffer[: row_step * height].reshape(height, row_step)[:, :row_bytes])


def image_to_array(msg: Any) -> np.ndarray:
    """Pixels of an ``Image`` as an (H, W) or (H, W, C) array of the encoding's dtype (a view when possible)."""
    encoding = msg.encoding
    dtype, channels = _layout(encoding)
    dtype = np.dtype(dtype).newbyteorder(">" if msg.is_bigendian else "<")
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    row_bytes = width * channels * dtype.itemsize
    rows = packed_rows(msg.data, height, step, row_bytes)
    if rows is None:
        raise ImageEncodingError(
            f"{encoding} image of {width}x{height} needs step >= {row_bytes} and {row_bytes * height} bytes, "
            f"got step {step} and {len(msg.data)} bytes"
        )
    pixels = rows.view(dtype).reshape(height, width, channels)
    pixels = pixels.astype(dtype.newbyteorder("="), copy=False)
    return pixels[..., 0] if channels == 1 else pixels


def image_to_rgb(msg: Any) -> np.ndarray:
    """(H, W, 3) uint8 RGB from an ``Image`` in any of :data:`COLOUR_ENCODINGS`."""
    if msg.encoding not in COLOUR_ENCODINGS:
        raise ImageEncodingError(f"expected a colour image ({'/'.join(COLOUR_ENCODINGS)}), got {msg.encoding!r}")
    pixels = image_to_array(msg)
    if msg.encoding == "mono8":
        return np.repeat(pixels[..., None], 3, axis=2)
    if msg.encoding.startswith("bgr"):
        return np.ascontiguousarray(pixels[..., 2::-1])
    return np.ascontiguousarray(pixels[..., :3])


def image_to_depth(msg: Any) -> np.ndarray:
    """(H, W) float32 metres from an ``Image`` in ``32FC1`` (metres) or ``16UC1``/``mono16`` (mm, 0 = invalid)."""
    if msg.encoding not in DEPTH_ENCODINGS:
        raise ImageEncodingError(f"expected a depth image ({'/'.join(DEPTH_ENCODINGS)}), got {msg.encoding!r}")
    pixels = image_to_array(msg)
    if msg.encoding == "32FC1":
        return pixels
    depth = pixels.astype(np.float32) * np.float32(1e-3)
    depth[pixels == 0] = np.nan
    return depth


def array_to_image_fields(pixels: np.ndarray, encoding: str) -> dict[str, Any]:
    """The ``Image`` fields (``height``, ``width``, ``encoding``, ``is_bigendian``, ``step``, ``data``) of an array.

    Args:
        pixels: (H, W) or (H, W, C) array whose dtype and channels match ``encoding`` (e.g. (H, W, 3)
            uint8 for ``rgb8``/``bgr8``; the caller orders the channels). ``data`` is a flat uint8 view.
    """
    dtype, channels = _layout(encoding)
    pixels = np.ascontiguousarray(pixels)
    shape_channels = 1 if pixels.ndim != 3 else pixels.shape[2]
    if pixels.dtype != dtype or shape_channels != channels or pixels.ndim not in (2, 3):
        raise ImageEncodingError(
            f"{encoding} needs (H, W{'' if channels == 1 else f', {channels}'}) {np.dtype(dtype).name}, "
            f"got {pixels.shape} {pixels.dtype}"
        )
    height, width = pixels.shape[:2]
    return {
        "height": height,
        "width": width,
        "encoding": encoding,
        "is_bigendian": int(pixels.dtype.byteorder == ">"),
        "step": width * channels * pixels.dtype.itemsize,
        "data": pixels.reshape(-1).view(np.uint8),
    }


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic...): C0-CF except C4, C8, CC
_JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def compressed_image_size(payload: Any) -> tuple[int, int] | None:
    """``(width, height)`` of a PNG or JPEG (``payload``: bytes or any byte buffer, e.g. a message's
    ``array.array``) from its header, without decoding it; None for anything else (or a header cut short).
    Lets a size limit refuse an image before its pixels are allocated."""
    data = memoryview(payload).cast("B")  # no copy
    if data[:8] == _PNG_SIGNATURE and len(data) >= 24 and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] != b"\xff\xd8":
        return None
    offset = 2
    while offset + 9 <= len(data):  # segments: FF marker, 2-byte length (itself included), payload
        if data[offset] != 0xFF:
            return None
        marker, length = data[offset + 1], int.from_bytes(data[offset + 2 : offset + 4], "big")
        if marker in _JPEG_FRAME_MARKERS:  # length, precision (1 byte), height, width (2 bytes each)
            return int.from_bytes(data[offset + 7 : offset + 9], "big"), int.from_bytes(
                data[offset + 5 : offset + 7], "big"
            )
        offset += 2 + length
    return None
