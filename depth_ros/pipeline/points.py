"""Organised point clouds from depth images, as ``depth_image_proc``'s ``point_cloud_xyz`` computes them.

Conventions (those of :mod:`depth_ros.geometry`): pixel centres at integer ``(u, v)``; points in the
camera's optical frame (REP 103: x right, y down, z forward), metres; depth is z, not the range along
the ray. Pixel ``(u, v)`` with depth ``d`` is the point ``((u - cx) d / fx, (v - cy) d / fy, d)``.

Only positive finite depths are points. Everything else (NaN, 0, negative, and ``+inf``, which REP 117
reserves for "no return", e.g. sky) becomes ``(NaN, NaN, NaN)`` with the bit pattern of
``std::numeric_limits<float>::quiet_NaN()`` (``0x7fc00000``), so that a cloud built from these points is
byte for byte what ``depth_image_proc`` publishes.

Decimation by ``d`` keeps the pixels ``depth[::d, ::d]`` and back-projects them with the full-resolution
camera, so each point of a decimated cloud is exactly the point of the same pixel in the full cloud.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from depth_ros.errors import ImageEncodingError
from depth_ros.geometry import PinholeCamera

_QUIET_NAN = np.float32(np.nan)  # 0x7fc00000, the quiet NaN of C++ and of depth_image_proc
_INF = np.float32(np.inf)


def _check_decimation(decimation: int) -> None:
    if isinstance(decimation, bool) or not isinstance(decimation, int | np.integer) or decimation < 1:
        raise ValueError(f"decimation must be a positive integer (1 keeps every pixel), got {decimation!r}")


def _valid_or_nan(depth: np.ndarray) -> np.ndarray:
    """(h, w) float32 ``depth`` with quiet NaN wherever it is not a positive finite number.

    Returns ``depth`` itself (no copy) when every value is valid: a NaN makes ``min()`` and ``max()``
    NaN, which fails both comparisons, so two reductions decide it. Otherwise OpenCV copies the valid
    depths into a NaN image (twice as fast as ``np.where``, which also slows down on noisy masks).
    """
    if depth.min() > 0 and depth.max() < _INF:
        return depth
    valid = ((depth > 0) & (depth < _INF)).view(np.uint8)  # NaN fails both comparisons
    return cv2.copyTo(depth, valid, np.full(depth.shape, _QUIET_NAN, dtype=np.float32))


@functools.lru_cache(maxsize=4)
def _rays(camera: PinholeCamera, decimation: int, channels: int) -> np.ndarray:
    """(h, w, channels) read-only float32 ``(x / z, y / z, 1[, 0])`` of the kept pixels: ``z`` times it is
    the point (and a zero pad). Cached: a node sees one camera and decimation, so it is built once."""
    u = np.arange(0, camera.width, decimation, dtype=np.float64)
    v = np.arange(0, camera.height, decimation, dtype=np.float64)
    rays = np.zeros((v.size, u.size, channels), dtype=np.float32)
    rays[..., 0] = ((u - camera.cx) / camera.fx).astype(np.float32)
    rays[..., 1] = ((v - camera.cy) / camera.fy).astype(np.float32)[:, None]
    rays[..., 2] = 1.0
    rays.setflags(write=False)
    return rays


def decimated_shape(camera: PinholeCamera, decimation: int = 1) -> tuple[int, int]:
    """``(h, w) = (ceil(H / d), ceil(W / d))``: the size of the cloud of a ``W x H`` camera decimated by ``d``."""
    _check_decimation(decimation)
    return -(-camera.height // decimation), -(-camera.width // decimation)


def organised_points(
    depth: np.ndarray, camera: PinholeCamera, decimation: int = 1, out: np.ndarray | None = None
) -> np.ndarray:
    """Back-project a depth image to an organised cloud: one point per kept pixel, in image order.

    Args:
        depth: (H, W) metres along the optical axis, the size of ``camera``; any float dtype (the
            arithmetic is float32). Not modified.
        camera: intrinsics of ``depth`` at full resolution.
        decimation: keep every ``decimation``-th row and column (``depth[::d, ::d]``).
        out: optional C-contiguous float32 array to write into instead of a new one: (h, w, 3), or
            (h, w, 4) to get ``(x, y, z, 0)``, the 16-byte point of an xyz ``PointCloud2``, which is how
            :func:`depth_ros.ros.messages.point_cloud_from_depth` fills a message without a copy.

    Returns:
        (h, w, 3) float32 points ``(x, y, z)`` in metres in the optical frame, ``h, w`` as
        :func:`decimated_shape`; ``(NaN, NaN, NaN)`` where the depth is not positive and finite.
        ``out`` when it is given.

    Raises:
        ImageEncodingError: ``depth`` is not floating-point, or not (H, W) with the camera's size.
        ValueError: ``decimation`` is not a positive integer, or ``out`` is not as described.
    """
    shape = decimated_shape(camera, decimation)
    if not np.issubdtype(depth.dtype, np.floating):
        raise ImageEncodingError(
            f"depth must be floating-point metres, got {depth.dtype}: convert 16UC1 millimetres with "
            "depth_ros.encodings.image_to_depth"
        )
    if depth.shape != (camera.height, camera.width):
        raise ImageEncodingError(
            f"depth is {depth.shape} but its camera is {camera.width}x{camera.height}: expected "
            f"({camera.height}, {camera.width}); rescale the camera with the depth (PinholeCamera.resized)"
        )
    if out is not None and (
        out.shape not in ((*shape, 3), (*shape, 4)) or out.dtype != np.float32 or not out.flags.c_contiguous
    ):
        raise ValueError(
            f"out must be a C-contiguous {(*shape, 3)} or {(*shape, 4)} float32 array, got {out.shape} {out.dtype}"
            f"{'' if out.flags.c_contiguous else ' (not contiguous)'}"
        )
    z = _valid_or_nan(np.ascontiguousarray(depth[::decimation, ::decimation], dtype=np.float32))
    rays = _rays(camera, decimation, 3 if out is None else out.shape[2])
    # (z, z, z[, 1]) in one vectorised pass, then one contiguous multiply by (x/z, y/z, 1[, 0]). A NaN z
    # times a finite ray is that NaN, so invalid points keep z's bits; the pad is 1 * 0 = 0 even there.
    gray_to = cv2.COLOR_GRAY2BGR if rays.shape[2] == 3 else cv2.COLOR_GRAY2BGRA
    out = cv2.cvtColor(z, gray_to, dst=out)
    return np.multiply(out, rays, out=out)


def decimated_rgb(rgb: np.ndarray, decimation: int = 1) -> np.ndarray:
    """The colours of the points of :func:`organised_points` with the same ``decimation``.

    Args:
        rgb: (H, W, 3) uint8 image registered to the depth (same size and camera).

    Returns:
        (h, w, 3) contiguous ``rgb[::d, ::d]`` (``rgb`` itself when ``decimation`` is 1 and it is contiguous).
    """
    _check_decimation(decimation)
    return np.ascontiguousarray(rgb[::decimation, ::decimation])
