"""A real stereo pair with measured ground truth: Middlebury 2014 "Motorcycle", as it ships with scikit-image.

``skimage.data.stereo_motorcycle()`` gives the rectified left and right images (741 x 500, a quarter of the
benchmark's resolution), the left image's ground-truth disparity (NaN where unknown) and, in its docstring,
the calibration at that size: focal length 994.978 px, principal point (311.193, 254.877) px in the left image,
the right image's principal point 31.086 px further right (``doffs``), baseline 193.001 mm. Depth is
``Z = f B / (d + doffs)`` metres along the optical axis (Scharstein et al., GCPR 2014).

As a two-frame :class:`~depth_ros.data.sequence.FrameSequence`: the right image first, shifted left by
``doffs`` pixels so that both images share one camera (the plane-sweep networks take one K), then the left
image with its depth. The right camera sits ``B`` metres along the left camera's x axis (rectified: same
orientation). A multi-view pipeline fed the frames in order measures the left image against the right one.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from depth_ros.data.sample import Frame
from depth_ros.geometry import PinholeCamera, make_transform

FOCAL_PX = 994.978
PRINCIPAL_POINT = (311.193, 254.877)
DOFFS_PX = 31.086
BASELINE_M = 0.193001
_STAMP_NS = 1_700_000_000_000_000_000


@functools.cache
def _pair() -> tuple[Frame, Frame]:
    import skimage.data

    left, right, disparity = skimage.data.stereo_motorcycle()
    height, width = left.shape[:2]
    camera = PinholeCamera(width, height, FOCAL_PX, FOCAL_PX, *PRINCIPAL_POINT)
    shift = np.array([[1.0, 0.0, -DOFFS_PX], [0.0, 1.0, 0.0]])
    right = cv2.warpAffine(right, shift, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = (FOCAL_PX * BASELINE_M / (disparity + DOFFS_PX)).astype(np.float32)
    depth[~np.isfinite(depth) | (depth <= 0)] = np.nan
    right_pose = make_transform(np.eye(3), np.array([BASELINE_M, 0.0, 0.0]))
    return (
        Frame(_STAMP_NS, right, camera, None, right_pose, frame_id="right_optical_frame"),
        Frame(_STAMP_NS + 100_000_000, left, camera, depth, np.eye(4), frame_id="left_optical_frame"),
    )


class MiddleburyMotorcycle:
    """The pair as a sequence: frame 0 the shifted right image (no depth), frame 1 the left image with depth."""

    def __repr__(self) -> str:
        return "MiddleburyMotorcycle()"

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> Frame:
        if not 0 <= index < 2:
            raise IndexError(f"frame {index} out of range for a pair")
        return _pair()[index]

    def poses(self) -> list[np.ndarray]:
        return [frame.T_world_cam for frame in _pair()]
