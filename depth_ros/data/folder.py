"""A folder of images with its intrinsics: the simplest way to bring your own video for training.

Layout::

    <root>/000000.png, 000001.png, ...   # or .jpg etc.
    <root>/intrinsics.yaml               # or intrinsics.json: fx, fy, cx, cy in pixels (width and
                                         # height optional: checked against the images when given)
    <root>/poses.txt                     # optional, TUM format: "timestamp tx ty tz qx qy qz qw",
                                         # camera-to-world (T_world_cam) of the optical frame (REP 103)

``intrinsics.yaml`` may also be the file ROS ``camera_calibration`` writes (``image_width``,
``image_height``, ``camera_matrix: {data: [...]}``); the images must then be undistorted already.

Stamps and order: when every file name (without suffix) is a number, it is the stamp in seconds (TUM
style, ``1305031102.175304.png``) and frames are in order of it; otherwise frames are in order of file
name and frame ``i`` is at ``i / fps`` seconds. Poses from ``poses.txt``
are interpolated at those stamps as in :mod:`depth_ros.data.tum` (exact stamps need no interpolation).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from depth_ros.data.image_files import IMAGE_SUFFIXES, FileSequence, FrameFiles, list_images, seconds_to_ns
from depth_ros.data.tum import poses_at, read_tum_trajectory
from depth_ros.errors import DatasetError

INTRINSICS_FILES = ("intrinsics.yaml", "intrinsics.yml", "intrinsics.json")


def read_intrinsics(path: Path) -> tuple[tuple[float, float, float, float], tuple[int, int] | None]:
    """``(fx, fy, cx, cy)`` and the optional ``(width, height)`` of an intrinsics YAML or JSON file."""
    try:
        text = path.read_text()
        data: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise DatasetError(f"cannot read intrinsics file {path}: {error}") from error
    if not isinstance(data, dict):
        raise DatasetError(f"intrinsics file {path}: expected a mapping with fx, fy, cx, cy, got {type(data).__name__}")
    try:
        if "camera_matrix" in data:  # ROS camera_calibration output
            K = [float(v) for v in data["camera_matrix"]["data"]]
            fx, fy, cx, cy = K[0], K[4], K[2], K[5]
            size = (int(data["image_width"]), int(data["image_height"]))
        else:
            fx, fy, cx, cy = (float(data[key]) for key in ("fx", "fy", "cx", "cy"))
            size = (int(data["width"]), int(data["height"])) if "width" in data and "height" in data else None
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise DatasetError(
            f"intrinsics file {path}: expected numbers fx, fy, cx, cy (pixels) and optionally width, height; "
            f"got keys {sorted(data)} ({type(error).__name__}: {error})"
        ) from error
    return (fx, fy, cx, cy), size


def _ordered_stamps(images: list[Path], fps: float) -> tuple[list[Path], list[int]]:
    """Images in time order and their stamps in nanoseconds (see the module docstring)."""
    try:
        stamps = [seconds_to_ns(p.stem) for p in images]
    except ValueError:
        return images, [round(i * 1e9 / fps) for i in range(len(images))]
    order = sorted(range(len(images)), key=lambda i: stamps[i])
    return [images[i] for i in order], [stamps[i] for i in order]


class ImageFolderSequence(FileSequence):
    """Images of a folder as a :class:`~depth_ros.data.sequence.FrameSequence` (read lazily).

    Args:
        root: the folder (layout in the module docstring).
        intrinsics_file: default: the first of ``intrinsics.yaml``, ``intrinsics.yml``, ``intrinsics.json``
            in ``root``.
        fps: frame rate giving the stamps of images whose names are not numbers.
        max_pose_gap_s: largest gap in ``poses.txt`` a pose is interpolated across.
        drop_unposed: with ``poses.txt``, drop frames without a pose; False keeps them with ``T_world_cam = None``.

    Attributes:
        dropped: counts of images left out, by reason.
    """

    def __init__(
        self,
        root: str | Path,
        intrinsics_file: str | Path | None = None,
        fps: float = 10.0,
        max_pose_gap_s: float = 0.1,
        drop_unposed: bool = True,
    ):
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"image folder {root} not found")
        images = list_images(root)
        if not images:
            raise DatasetError(
                f"no images found under {root}: expected image files ({', '.join(IMAGE_SUFFIXES)}) directly in "
                "the folder, plus intrinsics.yaml or intrinsics.json"
            )
        if intrinsics_file is None:
            candidates = [root / name for name in INTRINSICS_FILES if (root / name).is_file()]
            if not candidates:
                raise DatasetError(
                    f"no intrinsics for the images in {root}: expected {' or '.join(INTRINSICS_FILES)} with fx, fy, "
                    "cx, cy in pixels"
                )
            intrinsics_file = candidates[0]
        intrinsics, size = read_intrinsics(Path(intrinsics_file))
        if size is not None:
            first = cv2.imread(str(images[0]), cv2.IMREAD_UNCHANGED)
            if first is not None and (first.shape[1], first.shape[0]) != size:
                raise DatasetError(
                    f"{intrinsics_file} is for {size[0]}x{size[1]} images but {images[0]} is "
                    f"{first.shape[1]}x{first.shape[0]}: give the intrinsics of the images as stored"
                )
        images, stamps = _ordered_stamps(images, fps)
        self.dropped: Counter[str] = Counter()
        poses_file = root / "poses.txt"
        poses: list[np.ndarray | None] = [None] * len(images)
        if poses_file.exists():
            pose_stamps, pose_series = read_tum_trajectory(poses_file)
            if len(pose_stamps) == 0:
                raise DatasetError(f"{poses_file} has no poses")
            poses = poses_at(np.array(stamps), pose_stamps, pose_series, round(max_pose_gap_s * 1e9))
        files = []
        for image, stamp, pose in zip(images, stamps, poses, strict=True):
            if pose is None and poses_file.exists() and drop_unposed:
                self.dropped["no pose in poses.txt at the image's stamp"] += 1
                continue
            files.append(FrameFiles(stamp, image, intrinsics, None, pose))
        if not files:
            raise DatasetError(
                f"no image of {root} has a pose in {poses_file}: its stamps do not cover the images' stamps "
                f"({stamps[0] / 1e9:.6f} .. {stamps[-1] / 1e9:.6f} s); pass drop_unposed=False to use them without"
            )
        super().__init__(files, 1.0, str(root))
