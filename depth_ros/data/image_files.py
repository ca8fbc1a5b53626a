"""Frames stored as image files: reading colour and 16-bit depth images, and a lazy sequence of them.

Shared by the KITTI, TUM RGB-D and image-folder sources. Images are read when a frame is asked for,
so a sequence of thousands of frames costs only its file list in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from depth_ros.data.sample import Frame
from depth_ros.errors import DatasetError
from depth_ros.geometry import PinholeCamera

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def read_rgb(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a colour or grey image file (8-bit; 16-bit images are scaled down)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"cannot read image {path}: missing, unreadable, or not an image file")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_depth_png(path: Path, units_per_metre: float) -> np.ndarray:
    """(H, W) float32 metres of a single-channel 16-bit depth PNG; 0 (no measurement) becomes NaN.

    Args:
        units_per_metre: what one metre is in the file: 5000 for TUM RGB-D, 256 for KITTI.
    """
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise DatasetError(f"cannot read depth image {path}: missing, unreadable, or not an image file")
    if raw.ndim != 2 or raw.dtype != np.uint16:
        raise DatasetError(
            f"depth image {path} is {raw.dtype} with shape {raw.shape}: expected a single-channel 16-bit PNG"
        )
    depth = raw.astype(np.float32) / np.float32(units_per_metre)
    depth[raw == 0] = np.nan
    return depth


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder`` (suffixes of :data:`IMAGE_SUFFIXES`, any case), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def seconds_to_ns(text: str) -> int:
    """Exact integer nanoseconds of a decimal number of seconds such as ``1305031102.175304``.

    Parsed as text, so that stamps are not rounded through a float.
    """
    text = text.strip()
    negative = text.startswith("-")
    whole, _, fraction = text.lstrip("+-").partition(".")
    if not (whole or fraction) or not (whole or "0").isdigit() or not (fraction or "0").isdigit():
        raise ValueError(f"not a number of seconds: {text!r}")
    ns = int(whole or "0") * 1_000_000_000 + int((fraction + "000000000")[:9])
    return -ns if negative else ns


@dataclass(frozen=True)
class FrameFiles:
    """Where one frame's data lies.

    Attributes:
        stamp_ns: acquisition time in integer nanoseconds.
        rgb: colour image file.
        intrinsics: ``(fx, fy, cx, cy)`` in pixels of that image.
        depth: 16-bit depth PNG aligned with ``rgb``, or None.
        T_world_cam: (4, 4) camera-to-world pose, or None.
    """

    stamp_ns: int
    rgb: Path
    intrinsics: tuple[float, float, float, float]
    depth: Path | None = None
    T_world_cam: np.ndarray | None = None


class FileSequence:
    """A :class:`~depth_ros.data.sequence.FrameSequence` reading :class:`FrameFiles` on demand.

    Attributes:
        files: one entry per frame, in time order.
        depth_units_per_metre: scale of the depth PNGs (see :func:`read_depth_png`).
    """

    def __init__(self, files: Sequence[FrameFiles], depth_units_per_metre: float, name: str):
        self.files = list(files)
        self.depth_units_per_metre = depth_units_per_metre
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}, {len(self)} frames)"

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Frame:
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} out of range for {self!r}")
        return self.load(self.files[index])

    def poses(self) -> list[np.ndarray | None]:
        """Every frame's ``T_world_cam`` without reading images."""
        return [f.T_world_cam for f in self.files]

    def load(self, files: FrameFiles) -> Frame:
        """Read one frame's images; the camera takes the image's size."""
        rgb = read_rgb(files.rgb)
        height, width = rgb.shape[:2]
        depth = None
        if files.depth is not None:
            depth = read_depth_png(files.depth, self.depth_units_per_metre)
            if depth.shape != (height, width):
                raise DatasetError(
                    f"depth image {files.depth} is {depth.shape[1]}x{depth.shape[0]} but its colour image "
                    f"{files.rgb} is {width}x{height}: they must be aligned pixel for pixel"
                )
        camera = PinholeCamera(width, height, *files.intrinsics)
        return Frame(files.stamp_ns, rgb, camera, depth, files.T_world_cam)
