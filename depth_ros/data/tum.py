"""TUM RGB-D sequences (``rgbd_dataset_freiburg*``): colour, registered depth and motion-capture poses.

Layout of a sequence folder, as downloaded::

    rgb.txt          # "timestamp filename" per line, e.g. "1305031102.175304 rgb/1305031102.175304.png"
    depth.txt        # the same for the 16-bit depth PNGs (value / 5000 = metres, 0 = no measurement)
    groundtruth.txt  # "timestamp tx ty tz qx qy qz qw": pose of the colour camera's optical centre in
                     # the motion-capture world, i.e. T_world_cam (camera-to-world), quaternion (x, y, z, w)
    rgb/, depth/

Lines starting with ``#`` are comments. Timestamps are seconds since the Unix epoch and are parsed as
text into integer nanoseconds.

How frames are made:

* colour and depth are paired as TUM's ``associate.py`` does: all pairs at most 0.02 s apart, taken
  greedily from the closest, each image used once; colour images without depth are dropped;
* the pose is interpolated at the colour image's stamp (slerp + lerp, never extrapolated, never across
  a gap in ``groundtruth.txt`` of more than 0.1 s); frames without a pose are dropped (a sequence
  without ``groundtruth.txt`` keeps its frames, without poses).

Intrinsics: the images are 640x480 and the depth is registered to the colour camera, so one pinhole
camera serves both. By default it is the calibrated colour camera of the Kinect named in the folder
(``freiburg1``, ``freiburg2`` or ``freiburg3``, from TUM's calibration page); a folder naming none gets
the ROS default ``fx = fy = 525, cx = 319.5, cy = 239.5`` that TUM recommends for unspecified data.
Pass ``intrinsics`` to choose. Lens distortion is not corrected (fr1 and fr2 images have some: up to a
few pixels in the corners), as TUM recommends for the pre-registered depth.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np

from depth_ros.data.image_files import FileSequence, FrameFiles, seconds_to_ns
from depth_ros.errors import DatasetError, DepthRosError
from depth_ros.geometry import interpolate_pose, make_transform, quaternion_to_matrix

TUM_DEPTH_UNITS_PER_METRE = 5000.0
# (fx, fy, cx, cy) of the colour cameras (vision.in.tum.de, "Intrinsic Camera Calibration of the Kinect").
TUM_INTRINSICS = {
    "freiburg1": (517.3, 516.5, 318.6, 255.3),
    "freiburg2": (520.9, 521.0, 325.1, 249.7),
    "freiburg3": (535.4, 539.2, 320.1, 247.6),
}
ROS_DEFAULT_INTRINSICS = (525.0, 525.0, 319.5, 239.5)


def tum_intrinsics(folder: Path) -> tuple[tuple[float, float, float, float], str]:
    """``(fx, fy, cx, cy)`` for a sequence folder by the Kinect its name mentions, and where they came from."""
    match = re.search(r"freiburg([123])", folder.name)
    if match is None:
        return ROS_DEFAULT_INTRINSICS, "ROS default (no freiburg1/2/3 in the folder name)"
    camera = f"freiburg{match.group(1)}"
    return TUM_INTRINSICS[camera], f"{camera} calibration"


def _data_lines(path: Path) -> list[tuple[int, list[str]]]:
    """(1-based line number, fields) of the non-empty, non-comment lines of a text file."""
    if not path.is_file():
        raise DatasetError(f"{path} not found")
    lines = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if line and not line.startswith("#"):
            lines.append((number, line.split()))
    return lines


def read_file_list(path: Path) -> list[tuple[int, str]]:
    """``(stamp_ns, filename)`` of each line of a TUM ``rgb.txt``/``depth.txt`` (``timestamp filename``)."""
    entries = []
    for number, fields in _data_lines(path):
        try:
            if len(fields) != 2:
                raise ValueError(f"{len(fields)} fields")
            entries.append((seconds_to_ns(fields[0]), fields[1]))
        except ValueError as error:
            raise DatasetError(
                f"{path}, line {number}: expected 'timestamp filename', got {' '.join(fields)!r} ({error})"
            ) from error
    return entries


def read_tum_trajectory(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Poses of a TUM trajectory file (``timestamp tx ty tz qx qy qz qw`` per line).

    Returns:
        ``stamps_ns`` (N,) int64, strictly increasing (sorted; repeated stamps keep their first pose),
        and ``poses`` (N, 4, 4) float64, ``T_world_cam``.
    """
    stamps, poses = [], []
    for number, fields in _data_lines(path):
        try:
            if len(fields) != 8:
                raise ValueError(f"{len(fields)} fields")
            values = np.array([float(v) for v in fields[1:]])
            pose = make_transform(quaternion_to_matrix(values[3:]), values[:3])
            stamps.append(seconds_to_ns(fields[0]))
        except (ValueError, DepthRosError) as error:
            raise DatasetError(
                f"{path}, line {number}: expected 'timestamp tx ty tz qx qy qz qw', got {' '.join(fields)!r} ({error})"
            ) from error
        poses.append(pose)
    stamps_array = np.array(stamps, dtype=np.int64)
    order = np.argsort(stamps_array, kind="stable")
    stamps_array = stamps_array[order]
    first = np.concatenate([[True], np.diff(stamps_array) > 0])
    return stamps_array[first], np.array(poses).reshape(-1, 4, 4)[order][first]


def associate(stamps_a: np.ndarray, stamps_b: np.ndarray, max_difference_ns: int) -> list[tuple[int, int]]:
    """One-to-one pairs ``(i, j)`` with ``|stamps_a[i] - stamps_b[j]| <= max_difference_ns``, as TUM's
    ``associate.py``: candidate pairs are taken from the closest up, each index used at most once.

    Returns:
        The pairs sorted by ``i``.
    """
    stamps_a = np.asarray(stamps_a, dtype=np.int64)
    stamps_b = np.asarray(stamps_b, dtype=np.int64)
    order_b = np.argsort(stamps_b, kind="stable")
    sorted_b = stamps_b[order_b]
    candidates = []
    for i, stamp in enumerate(stamps_a):
        lo = np.searchsorted(sorted_b, stamp - max_difference_ns, side="left")
        hi = np.searchsorted(sorted_b, stamp + max_difference_ns, side="right")
        candidates.extend((abs(int(sorted_b[k]) - int(stamp)), i, int(order_b[k])) for k in range(lo, hi))
    used_a, used_b, pairs = set(), set(), []
    for _, i, j in sorted(candidates):
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((i, j))
    return sorted(pairs)


def poses_at(
    stamps_ns: np.ndarray, pose_stamps_ns: np.ndarray, poses: np.ndarray, max_gap_ns: int
) -> list[np.ndarray | None]:
    """The pose at each stamp interpolated from a pose series, or None outside it or across a gap."""
    found: list[np.ndarray | None] = []
    for stamp in stamps_ns:
        try:
            found.append(interpolate_pose(pose_stamps_ns, poses, int(stamp), max_gap_ns))
        except DepthRosError:
            found.append(None)
    return found


class TumRgbdSequence(FileSequence):
    """A TUM RGB-D sequence as a :class:`~depth_ros.data.sequence.FrameSequence` (images read lazily).

    Args:
        root: the sequence folder (with ``rgb.txt``, ``depth.txt`` and, optionally, ``groundtruth.txt``).
        intrinsics: ``(fx, fy, cx, cy)`` in pixels; default: by the folder name (see the module docstring).
        max_difference_s: largest colour-depth stamp difference of a pair.
        max_pose_gap_s: largest gap in ``groundtruth.txt`` a pose is interpolated across.
        drop_unposed: drop frames without a pose (when ``groundtruth.txt`` exists); False keeps them
            with ``T_world_cam = None``.

    Attributes:
        intrinsics_source: where the intrinsics came from (``argument``, ``freiburg1 calibration``, ...).
        dropped: counts of colour images left out, by reason.
    """

    def __init__(
        self,
        root: str | Path,
        intrinsics: tuple[float, float, float, float] | None = None,
        max_difference_s: float = 0.02,
        max_pose_gap_s: float = 0.1,
        drop_unposed: bool = True,
    ):
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"TUM RGB-D sequence folder {root} not found")
        if intrinsics is None:
            intrinsics, self.intrinsics_source = tum_intrinsics(root)
        else:
            self.intrinsics_source = "argument"
        rgb = read_file_list(root / "rgb.txt")
        depth = read_file_list(root / "depth.txt")
        if not rgb:
            raise DatasetError(f"no images found under {root}: rgb.txt lists none (expected 'timestamp filename')")
        pairs = associate(np.array([s for s, _ in rgb]), np.array([s for s, _ in depth]), round(max_difference_s * 1e9))
        self.dropped: Counter[str] = Counter()
        if len(pairs) < len(rgb):
            self.dropped[f"no depth image within {max_difference_s} s"] = len(rgb) - len(pairs)
        stamps = np.array([rgb[i][0] for i, _ in pairs], dtype=np.int64)
        groundtruth = root / "groundtruth.txt"
        if groundtruth.exists():
            pose_stamps, poses = read_tum_trajectory(groundtruth)
            if len(pose_stamps) == 0:
                raise DatasetError(f"{groundtruth} has no poses")
            frame_poses = poses_at(stamps, pose_stamps, poses, round(max_pose_gap_s * 1e9))
        else:
            frame_poses = [None] * len(pairs)
        unposed = f"no ground-truth pose (outside groundtruth.txt or across a gap > {max_pose_gap_s} s)"
        files = []
        for (i, j), pose in zip(pairs, frame_poses, strict=True):
            if pose is None and groundtruth.exists() and drop_unposed:
                self.dropped[unposed] += 1
                continue
            files.append(FrameFiles(rgb[i][0], root / rgb[i][1], tuple(intrinsics), root / depth[j][1], pose))
        if not files:
            reasons = "; ".join(f"{count} {reason}" for reason, count in self.dropped.items())
            raise DatasetError(f"no usable frames in TUM RGB-D sequence {root}: of {len(rgb)} colour images, {reasons}")
        super().__init__(files, TUM_DEPTH_UNITS_PER_METRE, str(root))
