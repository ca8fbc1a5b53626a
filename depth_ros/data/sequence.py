"""What every frame source offers the training datasets: :class:`FrameSequence`.

A frame source is anything with ``len(source)`` and ``source[i] -> Frame`` for ``0 <= i < len(source)``,
frames in time order: the synthetic generator, a ROS 2 bag, KITTI raw, TUM RGB-D, a folder of images.
Two optional methods let the datasets avoid loading images they do not need:

* ``poses() -> list[(4, 4) ndarray | None]``: every frame's ``T_world_cam`` without reading images
  (:func:`sequence_poses` falls back to reading each frame).
* ``neighbour_frames(i, offsets) -> list[Frame] | None`` and ``has_neighbours(i, offsets) -> bool``:
  the frames ``offsets`` steps away in time from frame ``i`` (:class:`TemporalNeighbours`). Sources whose
  items are not consecutive, like a KITTI split file listing chosen frames of many drives, give them;
  for the others the neighbour of ``i`` at offset ``k`` is ``source[i + k]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from depth_ros.data.sample import Frame


@runtime_checkable
class FrameSequence(Protocol):
    """Frames in time order, by index (see the module docstring)."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Frame: ...


@runtime_checkable
class TemporalNeighbours(Protocol):
    """A sequence whose items have neighbours in time that are not its adjacent items."""

    def has_neighbours(self, index: int, offsets: Sequence[int]) -> bool: ...

    def neighbour_frames(self, index: int, offsets: Sequence[int]) -> list[Frame]: ...


def describe(sequence: FrameSequence) -> str:
    """A short name of a source for messages: its ``repr`` when it defines one, else its class name."""
    if type(sequence).__repr__ is not object.__repr__:
        return repr(sequence)
    return type(sequence).__name__


def sequence_poses(sequence: FrameSequence) -> list[np.ndarray | None]:
    """``T_world_cam`` (4, 4) of every frame, or None where a frame has no pose.

    Uses the source's ``poses()`` when it has one; otherwise reads every frame.
    """
    poses = getattr(sequence, "poses", None)
    if callable(poses):
        return list(poses())
    return [sequence[i].T_world_cam for i in range(len(sequence))]


def has_neighbours(sequence: FrameSequence, index: int, offsets: Sequence[int]) -> bool:
    """Whether frame ``index`` has a neighbour at every offset (in frames, e.g. ``(-1, 1)``)."""
    if isinstance(sequence, TemporalNeighbours):
        return sequence.has_neighbours(index, offsets)
    return all(0 <= index + k < len(sequence) for k in offsets)


def neighbour_frames(sequence: FrameSequence, index: int, offsets: Sequence[int]) -> list[Frame]:
    """The frames at ``offsets`` from frame ``index``, in the order of ``offsets``.

    Raises:
        IndexError: a neighbour does not exist (check :func:`has_neighbours` first).
    """
    if isinstance(sequence, TemporalNeighbours):
        return sequence.neighbour_frames(index, offsets)
    if not has_neighbours(sequence, index, offsets):
        raise IndexError(f"frame {index} of {describe(sequence)} has no neighbours at offsets {tuple(offsets)}")
    return [sequence[index + k] for k in offsets]
