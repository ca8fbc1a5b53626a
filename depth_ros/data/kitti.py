"""KITTI raw in the layout Monodepth2 trains on, with its split files.

Layout (``<root>`` is the folder holding the date folders)::

    <root>/2011_09_26/calib_cam_to_cam.txt
    <root>/2011_09_26/2011_09_26_drive_0022_sync/image_02/data/0000000473.jpg   # or .png; image_03: right
    <root>/2011_09_26/2011_09_26_drive_0022_sync/image_02/timestamps.txt        # optional
    <root>/2011_09_26/2011_09_26_drive_0022_sync/proj_depth/groundtruth/image_02/0000000473.png  # optional

A split file has one frame per line, ``folder frame_index side`` with side ``l``/``2`` (left colour
camera, ``image_02``) or ``r``/``3`` (right, ``image_03``), e.g.
``2011_09_26/2011_09_26_drive_0022_sync 473 r`` (Monodepth2's ``splits/*/*_files.txt``).

What each frame carries:

* intrinsics from ``P_rect_02`` (or ``P_rect_03``) of the date's ``calib_cam_to_cam.txt``: the
  rectified camera of the synced images. Monodepth2 uses one normalised K for every drive; reading
  each date's calibration is exact for all of them.
* the stamp from ``timestamps.txt`` when present, else ``frame_index`` x 0.1 s (KITTI records at 10 Hz);
* depth from the KITTI depth benchmark's ``proj_depth/groundtruth`` PNGs when present (uint16, value /
  256 = metres, 0 = none), else None; no pose (Monodepth2 learns it).

:meth:`KittiRawSequence.neighbour_frames` gives the frames before and after a split line's frame in
its drive (``frame_index`` +- k), which monocular training needs although the split does not list them.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depth_ros.data.image_files import FileSequence, FrameFiles
from depth_ros.data.sample import Frame
from depth_ros.errors import DatasetError

KITTI_DEPTH_UNITS_PER_METRE = 256.0
KITTI_FRAME_PERIOD_NS = 100_000_000  # 10 Hz
CAMERAS = {"l": "02", "2": "02", "r": "03", "3": "03"}


@dataclass(frozen=True)
class SplitEntry:
    """One line of a split file.

    Attributes:
        folder: drive folder relative to the root, e.g. ``2011_09_26/2011_09_26_drive_0022_sync``.
        frame_index: frame number in the drive.
        camera: ``02`` (left colour camera) or ``03`` (right).
        line: 1-based line number in the split file, for messages.
    """

    folder: str
    frame_index: int
    camera: str
    line: int = 0


def read_split(path: str | Path) -> list[SplitEntry]:
    """The entries of a Monodepth2 split file (``folder frame_index side`` per line; blank lines skipped)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"split file {path} not found")
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or not fields[1].isdigit() or fields[2] not in CAMERAS:
            raise DatasetError(
                f"{path}, line {number}: expected 'folder frame_index side' with side l, r, 2 or 3 "
                f"(e.g. '2011_09_26/2011_09_26_drive_0022_sync 473 r'), got {line.strip()!r}"
            )
        entries.append(SplitEntry(fields[0], int(fields[1]), CAMERAS[fields[2]], number))
    return entries


def read_calibration(path: Path) -> dict[str, tuple[int, str]]:
    """``key -> (line number, value text)`` of a KITTI calibration file (``key: values`` per line)."""
    if not path.is_file():
        raise DatasetError(f"KITTI calibration {path} not found: each date folder needs its calib_cam_to_cam.txt")
    entries = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        if not colon or not key.strip():
            raise DatasetError(f"{path}, line {number}: expected 'key: values', got {line.strip()!r}")
        entries[key.strip()] = (number, value)
    return entries


def rectified_intrinsics(path: Path, camera: str) -> tuple[float, float, float, float]:
    """``(fx, fy, cx, cy)`` of ``P_rect_<camera>`` in a ``calib_cam_to_cam.txt``."""
    key = f"P_rect_{camera}"
    entries = read_calibration(path)
    if key not in entries:
        raise DatasetError(f"{path} has no {key}: expected the 12 values of the 3x4 rectified projection matrix")
    number, text = entries[key]
    try:
        P = np.array([float(v) for v in text.split()]).reshape(3, 4)
    except ValueError as error:
        raise DatasetError(
            f"{path}, line {number}: {key} must be 12 numbers (a 3x4 matrix), got {text.strip()!r}"
        ) from error
    return float(P[0, 0]), float(P[1, 1]), float(P[0, 2]), float(P[1, 2])


def read_timestamps(path: Path) -> list[int]:
    """Integer nanoseconds (UTC) of a KITTI ``timestamps.txt`` (``2011-09-26 13:02:25.964389445`` per line)."""
    stamps = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            whole, _, fraction = line.strip().partition(".")
            seconds = calendar.timegm(datetime.datetime.strptime(whole, "%Y-%m-%d %H:%M:%S").timetuple())
            stamps.append(seconds * 1_000_000_000 + int((fraction + "000000000")[:9]))
        except ValueError as error:
            raise DatasetError(
                f"{path}, line {number}: expected 'YYYY-MM-DD HH:MM:SS.fraction', got {line.strip()!r}"
            ) from error
    return stamps


class KittiRawSequence(FileSequence):
    """The frames a KITTI split file lists, as a :class:`~depth_ros.data.sequence.FrameSequence`.

    Args:
        root: folder holding the date folders.
        split_file: Monodepth2 split file (see the module docstring).
        extension: ``.jpg`` or ``.png``; default: whichever the first listed frame has.

    Attributes:
        entries: the split's lines, one per frame.
    """

    def __init__(self, root: str | Path, split_file: str | Path, extension: str | None = None):
        self.root = Path(root)
        self._intrinsics: dict[tuple[str, str], tuple[float, float, float, float]] = {}
        self._stamps: dict[tuple[str, str], list[int] | None] = {}
        self.entries = read_split(split_file)
        if not self.entries:
            raise DatasetError(f"split file {split_file} lists no frames")
        first = self.entries[0]
        if extension is None:
            stem = self.image_path(first.folder, first.frame_index, first.camera, "")
            extension = next((e for e in (".jpg", ".png") if stem.with_name(stem.name + e).is_file()), None)
            if extension is None:
                raise DatasetError(
                    f"no images found under {self.root}: expected {stem}.jpg or .png for line {first.line} of "
                    f"{split_file} (KITTI raw in the Monodepth2 layout: <root>/<date>/<drive>_sync/image_02/data/)"
                )
        self.extension = extension
        files = []
        for entry in self.entries:
            frame_files = self._files(entry.folder, entry.frame_index, entry.camera)
            if frame_files is None:
                raise DatasetError(
                    f"{split_file}, line {entry.line}: image "
                    f"{self.image_path(entry.folder, entry.frame_index, entry.camera)} not found"
                )
            files.append(frame_files)
        super().__init__(files, KITTI_DEPTH_UNITS_PER_METRE, f"{self.root}, {split_file}")

    def image_path(self, folder: str, frame_index: int, camera: str, extension: str | None = None) -> Path:
        """Path of a drive's image (``extension`` default: the sequence's)."""
        extension = self.extension if extension is None else extension
        return self.root / folder / f"image_{camera}" / "data" / f"{frame_index:010d}{extension}"

    def depth_path(self, folder: str, frame_index: int, camera: str) -> Path:
        """Path of the depth benchmark's ground truth for a drive's image (it may not exist)."""
        return self.root / folder / "proj_depth" / "groundtruth" / f"image_{camera}" / f"{frame_index:010d}.png"

    def intrinsics(self, date: str, camera: str) -> tuple[float, float, float, float]:
        """``(fx, fy, cx, cy)`` of a date's rectified camera (read once per date and camera)."""
        if (date, camera) not in self._intrinsics:
            calibration = self.root / date / "calib_cam_to_cam.txt"
            self._intrinsics[date, camera] = rectified_intrinsics(calibration, camera)
        return self._intrinsics[date, camera]

    def _timestamps(self, folder: str, camera: str) -> list[int] | None:
        if (folder, camera) not in self._stamps:
            path = self.root / folder / f"image_{camera}" / "timestamps.txt"
            self._stamps[folder, camera] = read_timestamps(path) if path.is_file() else None
        return self._stamps[folder, camera]

    def _files(self, folder: str, frame_index: int, camera: str) -> FrameFiles | None:
        image = self.image_path(folder, frame_index, camera)
        if not image.is_file():
            return None
        stamps = self._timestamps(folder, camera)
        if stamps is not None and frame_index < len(stamps):
            stamp = stamps[frame_index]
        else:
            stamp = frame_index * KITTI_FRAME_PERIOD_NS
        depth = self.depth_path(folder, frame_index, camera)
        date = Path(folder).parts[0]
        return FrameFiles(stamp, image, self.intrinsics(date, camera), depth if depth.is_file() else None)

    def has_neighbours(self, index: int, offsets: Sequence[int]) -> bool:
        """Whether the drive of split line ``index`` has images at ``frame_index + k`` for each offset ``k``."""
        entry = self.entries[index]
        return all(self.image_path(entry.folder, entry.frame_index + k, entry.camera).is_file() for k in offsets)

    def neighbour_frames(self, index: int, offsets: Sequence[int]) -> list[Frame]:
        """The frames ``frame_index + k`` of split line ``index``'s drive and camera, in the order of ``offsets``."""
        entry = self.entries[index]
        frames = []
        for k in offsets:
            files = self._files(entry.folder, entry.frame_index + k, entry.camera)
            if files is None:
                raise IndexError(
                    f"no neighbour {k:+d} of line {entry.line}: "
                    f"{self.image_path(entry.folder, entry.frame_index + k, entry.camera)} not found"
                )
            frames.append(self.load(files))
        return frames
