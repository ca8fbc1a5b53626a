"""What a pipeline returns for one image, why it may return nothing, and the resize to network size.

Depth comes out at the network resolution with the intrinsics rescaled to it (``cv2.resize`` conventions,
see :class:`~depth_ros.geometry.PinholeCamera`), so depth, camera_info and points always agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from depth_ros.errors import DepthRosError, ImageEncodingError
from depth_ros.geometry import PinholeCamera

MAX_UPSCALE = 4  # an image enlarged more than this to the network size has too little in it to estimate depth


class FrameSkipped(DepthRosError):  # noqa: N818 (a frame without output is not an error)
    """No depth for this frame, and why (e.g. ``no pose at the image stamp``); the next frame may do.

    Attributes:
        reason: a short, stable phrase (a key for counting skips), without stamp-specific detail.
        detail: the specifics of this frame (stamps, distances), for the log.
    """

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass
class DepthResult:
    """Depth of one image.

    Attributes:
        depth: (h, w) float32 metres along the optical axis at the network resolution; NaN = no estimate.
            Owned by the result (not an engine buffer).
        camera: intrinsics of ``depth`` (the input camera rescaled to ``w x h``).
        rgb: (h, w, 3) uint8 RGB, the input image at the depth's resolution (for coloured points, previews);
            the input array itself (e.g. a view of the image message) when it already had that size.
        scale: the factor that took the network's output to this depth (1.0 for metric models).
        timings: seconds spent per stage: ``preprocess``, ``inference``, ``postprocess``.
    """

    depth: np.ndarray
    camera: PinholeCamera
    rgb: np.ndarray
    scale: float = 1.0
    timings: dict[str, float] = field(default_factory=dict)


def to_network_size(
    rgb: np.ndarray, camera: PinholeCamera, width: int, height: int
) -> tuple[np.ndarray, PinholeCamera]:
    """``rgb`` (H, W, 3) uint8 resized to ``width x height`` (area averaging when shrinking, bilinear when
    growing) and the camera of the resized image.

    Raises:
        ImageEncodingError: the image is not (H, W, 3) uint8, its size is not the camera's, or it would be
            enlarged more than ``MAX_UPSCALE`` times along an axis (a 1x1 or 3000x2 image holds no depth to find).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ImageEncodingError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
    if (rgb.shape[1], rgb.shape[0]) != (camera.width, camera.height):
        raise ImageEncodingError(
            f"image is {rgb.shape[1]}x{rgb.shape[0]} but its camera_info says {camera.width}x{camera.height}: "
            "publish a camera_info that matches the image (or remap to the right one)"
        )
    if width > MAX_UPSCALE * camera.width or height > MAX_UPSCALE * camera.height:
        raise ImageEncodingError(
            f"image of {camera.width}x{camera.height} is too small for a {width}x{height} network (at most "
            f"{MAX_UPSCALE}x enlarged per axis): use a camera mode of at least "
            f"{-(-width // MAX_UPSCALE)}x{-(-height // MAX_UPSCALE)}"
        )
    if (camera.width, camera.height) == (width, height):
        return np.ascontiguousarray(rgb), camera
    shrinking = width <= camera.width and height <= camera.height
    resized = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return resized, camera.resized(width, height)
