"""Errors that reach a user: each says what was expected, what came, and what to do.

The command line prints these as one ``error: ...`` line and exits with status 2; anything else
escaping is a bug.
"""

from __future__ import annotations

from pathlib import Path


def file_in_the_way(path: Path) -> Path | None:
    """The first folder above ``path`` that is a file (so ``path`` cannot be created), or None."""
    return next((folder for folder in Path(path).parents if folder.is_file()), None)


class DepthRosError(Exception):
    """Base class of the errors this package reports to users."""


class CameraModelError(DepthRosError, ValueError):
    """Intrinsics that cannot describe a pinhole camera (zero, negative or non-finite focal length)."""


class PoseError(DepthRosError, ValueError):
    """A pose that is not a rigid transform, or a pose asked for outside the known time range."""


class BagError(DepthRosError):
    """A ROS 2 bag that is missing, unreadable, or lacks the topics asked for."""


class ImageEncodingError(DepthRosError, ValueError):
    """An image whose encoding or layout is not one we can convert."""


class DatasetError(DepthRosError, ValueError):
    """A training or evaluation data source that is missing, empty, malformed, or lacks what is asked of it
    (e.g. camera poses for a multi-view dataset)."""
