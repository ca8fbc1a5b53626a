"""Pinhole cameras and how their intrinsics change when an image is resized or cropped.

Conventions (the same as OpenCV, ROS ``sensor_msgs/CameraInfo`` and ``image_geometry``):

* Pixel ``(u, v)`` is column ``u``, row ``v``; the *centre* of the top-left pixel is ``(0, 0)``, so an
  image of width ``W`` spans ``u`` in ``[-0.5, W - 0.5]``.
* ``K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` maps a point ``(x, y, z)`` in the camera's optical
  frame (REP 103: x right, y down, z forward) to ``(u, v) = (fx x / z + cx, fy y / z + cy)``.
* Resizing follows the pixel-area mapping of ``cv2.resize`` (``INTER_LINEAR``/``INTER_AREA``):
  ``u' = s (u + 0.5) - 0.5`` with ``s = W' / W``, so ``fx' = s fx`` and ``cx' = s (cx + 0.5) - 0.5``.
  (``image_proc``'s resize node scales ``cx`` by ``s`` alone, which is off by ``(s - 1) / 2`` pixels.)
* Cropping at ``(x0, y0)`` gives ``cx' = cx - x0``, ``cy' = cy - y0``.

Both resize and crop are affine maps of pixel coordinates; :class:`PixelTransform` holds one and
applies it to ``K`` and to a ``CameraInfo``'s ``P`` alike, so the intrinsics republished with a resized
image always describe that image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from depth_ros.errors import CameraModelError


@dataclass(frozen=True)
class PixelTransform:
    """An axis-aligned affine map of pixel coordinates: ``u' = sx u + bx``, ``v' = sy v + by``."""

    sx: float = 1.0
    sy: float = 1.0
    bx: float = 0.0
    by: float = 0.0

    @classmethod
    def resize(cls, width: int, height: int, new_width: int, new_height: int) -> PixelTransform:
        """The map from a ``width x height`` image to the same image resized to ``new_width x new_height``."""
        sx = new_width / width
        sy = new_height / height
        return cls(sx, sy, 0.5 * sx - 0.5, 0.5 * sy - 0.5)

    @classmethod
    def crop(cls, x0: int, y0: int) -> PixelTransform:
        """The map from an image to its crop whose top-left pixel is ``(x0, y0)`` of the original."""
        return cls(1.0, 1.0, -float(x0), -float(y0))

    def then(self, other: PixelTransform) -> PixelTransform:
        """This map followed by ``other``."""
        return PixelTransform(
            other.sx * self.sx,
            other.sy * self.sy,
            other.sx * self.bx + other.bx,
            other.sy * self.by + other.by,
        )

    @property
    def matrix(self) -> np.ndarray:
        """(3, 3) homogeneous matrix ``A`` with ``[u', v', 1] = A [u, v, 1]``."""
        return np.array([[self.sx, 0.0, self.bx], [0.0, self.sy, self.by], [0.0, 0.0, 1.0]])

    def apply_to_projection(self, matrix: np.ndarray) -> np.ndarray:
        """Return ``A @ matrix`` for a (3, 3) ``K`` or a (3, 4) ``P``: the intrinsics of the new image."""
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.shape not in ((3, 3), (3, 4)):
            raise CameraModelError(f"expected a (3, 3) K or a (3, 4) P, got shape {matrix.shape}")
        return self.matrix @ matrix


@dataclass(frozen=True)
class PinholeCamera:
    """A pinhole camera: image size in pixels and intrinsics in pixels (see the module conventions)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise CameraModelError(f"image size must be positive, got {self.width}x{self.height}")
        values = np.array([self.fx, self.fy, self.cx, self.cy], dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise CameraModelError(f"intrinsics must be finite, got fx, fy, cx, cy = {values.tolist()}")
        if self.fx <= 0 or self.fy <= 0:
            raise CameraModelError(
                f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}: an all-zero K means an "
                "uncalibrated camera; calibrate it (camera_calibration) or give the intrinsics explicitly"
            )

    @classmethod
    def from_matrix(cls, K: np.ndarray, width: int, height: int) -> PinholeCamera:
        """Camera from a (3, 3) ``K`` (or the 9 row-major values of ``CameraInfo.k``); its last row is not read.

        Raises:
            CameraModelError: non-finite values anywhere in ``K``, skew (``K[0,1]`` not 0), or what the
                constructor refuses (non-positive focal lengths or size).
        """
        K = np.asarray(K, dtype=np.float64).reshape(3, 3)
        if not np.all(np.isfinite(K)):
            raise CameraModelError(f"non-finite intrinsics: K = {K.tolist()}; K must hold finite values in pixels")
        if K[0, 1] != 0.0:
            raise CameraModelError(f"skewed intrinsics are not supported (K[0,1] = {K[0, 1]})")
        return cls(int(width), int(height), float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]))

    @classmethod
    def from_fov(cls, width: int, height: int, horizontal_fov_deg: float) -> PinholeCamera:
        """Square-pixel camera with the principal point at the image centre."""
        fx = 0.5 * width / np.tan(np.deg2rad(horizontal_fov_deg) / 2.0)
        return cls(width, height, fx, fx, (width - 1) / 2.0, (height - 1) / 2.0)

    @property
    def K(self) -> np.ndarray:
        """(3, 3) float64 intrinsic matrix."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def P(self) -> np.ndarray:
        """(3, 4) projection matrix ``[K | 0]`` of a monocular camera, as ``CameraInfo.p`` holds it."""
        return np.hstack([self.K, np.zeros((3, 1))])

    def transformed(self, transform: PixelTransform, width: int, height: int) -> PinholeCamera:
        """The camera of the image mapped by ``transform`` to size ``width x height``."""
        return PinholeCamera.from_matrix(transform.apply_to_projection(self.K), width, height)

    def resized(self, width: int, height: int) -> PinholeCamera:
        """The camera of this image resized (``cv2.resize``) to ``width x height``."""
        return self.transformed(PixelTransform.resize(self.width, self.height, width, height), width, height)

    def cropped(self, x0: int, y0: int, width: int, height: int) -> PinholeCamera:
        """The camera of the crop ``image[y0:y0 + height, x0:x0 + width]``."""
        if x0 < 0 or y0 < 0 or x0 + width > self.width or y0 + height > self.height:
            raise CameraModelError(
                f"crop x0={x0} y0={y0} {width}x{height} does not fit in a {self.width}x{self.height} image"
            )
        return self.transformed(PixelTransform.crop(x0, y0), width, height)

    def normalized_K(self) -> np.ndarray:
        """(4, 4) float64 intrinsics divided by the image size, as Monodepth2's datasets store them.

        Monodepth2 writes ``K = [[fx/W, 0, cx/W, 0], [0, fy/H, cy/H, 0], [0, 0, 1, 0], [0, 0, 0, 1]]`` and
        multiplies rows 0 and 1 by the width and height of each scale: it rescales without the
        half-pixel shift. :meth:`from_normalized_K` is the exact inverse at the same size.
        """
        K = np.eye(4)
        K[0, 0], K[0, 2] = self.fx / self.width, self.cx / self.width
        K[1, 1], K[1, 2] = self.fy / self.height, self.cy / self.height
        return K

    @classmethod
    def from_normalized_K(cls, K: np.ndarray, width: int, height: int) -> PinholeCamera:
        """Camera from Monodepth2's normalised (3, 3) or (4, 4) ``K`` at the image size ``width x height``."""
        K = np.asarray(K, dtype=np.float64)
        pixels = K[:3, :3] * np.array([[width], [height], [1.0]])
        return cls.from_matrix(pixels, width, height)


def camera_info_intrinsics(k: Any, p: Any) -> np.ndarray:
    """(3, 3) float64 intrinsics of the images a ``sensor_msgs/CameraInfo`` comes with, from its ``k`` (9
    values) and ``p`` (12 values): the left 3x3 block of ``P`` when both are set, else ``K``.

    ``P`` holds the intrinsics of the rectified image (``image_rect``, what depth networks should be fed) and
    ``K`` those of the raw, distorted one; ``image_geometry`` and ``depth_image_proc`` use ``P``. An all-zero
    ``P`` (some drivers leave it unset) falls back to ``K``; an all-zero ``K`` is returned as it is (an
    uncalibrated camera, whatever ``P`` says); for an undistorted camera ``P = [K | 0]`` and the two agree.
    Not validated (see :meth:`PinholeCamera.from_matrix`).
    """
    K, P = np.asarray(k, dtype=np.float64).reshape(3, 3), np.asarray(p, dtype=np.float64).reshape(-1)
    return P.reshape(3, 4)[:, :3].copy() if P.size == 12 and np.any(P) and np.any(K) else K
