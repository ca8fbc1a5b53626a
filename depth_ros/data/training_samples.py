"""Training samples at network size from any :class:`~depth_ros.data.sequence.FrameSequence`.

* :class:`MonocularDataset` (Monodepth2): a target frame and its temporal neighbours, un-augmented for
  the photometric loss and colour-jittered for the networks, with horizontal flips.
* :class:`MultiViewDataset` (MVDepthNet): a reference frame, measurement frames picked by baseline,
  their relative poses and the reference's depth, with paired photometric augmentation.

Conventions:

* Images are resized with ``cv2.resize``: ``INTER_AREA`` when shrinking (both axes), ``INTER_LINEAR``
  otherwise; depth with ``INTER_NEAREST_EXACT``, the nearest neighbour of each pixel centre under the
  same pixel-centre mapping (plain ``INTER_NEAREST`` rounds down and shifts non-integer ratios by up to
  half a pixel). K is rescaled with :meth:`PinholeCamera.resized <depth_ros.geometry.PinholeCamera.resized>`,
  the mapping both follow: ``u' = s (u + 0.5) - 0.5``.
* A horizontal flip mirrors the image about its centre column: pixel ``u`` goes to ``W - 1 - u`` and the
  camera becomes ``fx' = fx, cx' = W - 1 - cx`` for the mirrored scene (points ``(-x, y, z)``).
* Depth: (1, H, W) float32 metres along the optical axis; NaN where unknown (or the frame has no depth),
  +inf where the source says no surface is in range (REP 117).
* Randomness comes from a generator seeded by ``(seed, epoch, item)``, so a sample is the same whatever
  the worker, the order or the number of workers; :meth:`set_epoch` gives fresh draws (the trainer sets it
  per sample through :class:`depth_ros.train.sampler.EpochIndexed`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from depth_ros.data.augment import ColorJitter, PairedPhotometric
from depth_ros.data.sample import Frame
from depth_ros.data.sequence import (
    FrameSequence,
    TemporalNeighbours,
    describe,
    has_neighbours,
    neighbour_frames,
    sequence_poses,
)
from depth_ros.errors import DatasetError
from depth_ros.geometry import PinholeCamera, invert_transform, rotation_angle_deg

NETWORK_STRIDE = 32  # the encoders downsample by 32: network inputs must be multiples of it


def resize_rgb(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (height, width, 3) uint8 (area when shrinking, bilinear otherwise)."""
    if rgb.shape[:2] == (height, width):
        return rgb.copy()
    shrinking = width <= rgb.shape[1] and height <= rgb.shape[0]
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def resize_depth(depth: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W) float32 metres -> (height, width), nearest pixel centre (NaN and inf kept as they are)."""
    if depth.shape == (height, width):
        return depth.astype(np.float32, copy=True)
    return cv2.resize(depth.astype(np.float32), (width, height), interpolation=cv2.INTER_NEAREST_EXACT)


def flipped_camera(camera: PinholeCamera) -> PinholeCamera:
    """The camera of the horizontally flipped image: ``cx' = W - 1 - cx`` (see the module conventions)."""
    return PinholeCamera(camera.width, camera.height, camera.fx, camera.fy, camera.width - 1 - camera.cx, camera.cy)


def sample_rng(seed: int, epoch: int, item: int) -> np.random.Generator:
    """The generator of one sample's random draws."""
    return np.random.default_rng([seed, epoch, item])


def _check_size(height: int, width: int) -> None:
    if height <= 0 or width <= 0 or height % NETWORK_STRIDE or width % NETWORK_STRIDE:
        raise DatasetError(
            f"network input size must be positive multiples of {NETWORK_STRIDE}, got width {width}, height {height}"
        )


def _check_sequence(sequence: object) -> None:
    if not isinstance(sequence, FrameSequence):
        raise TypeError(f"expected a FrameSequence (len and [i] -> Frame), got {type(sequence).__name__}")


class _SampleDataset(Dataset):
    """What both datasets share: the sequence, the network size, the seed and the epoch."""

    def __init__(self, sequence: FrameSequence, height: int, width: int, augment: bool, seed: int):
        _check_sequence(sequence)
        _check_size(height, width)
        self.sequence = sequence
        self.height = height
        self.width = width
        self.augment = augment
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw new augmentations: samples depend on ``(seed, epoch, item)``."""
        self.epoch = epoch

    def _rgb(self, frame: Frame) -> np.ndarray:
        return resize_rgb(frame.rgb, self.width, self.height)

    def _depth(self, frame: Frame) -> np.ndarray:
        if frame.depth is None:
            return np.full((self.height, self.width), np.nan, dtype=np.float32)
        return resize_depth(frame.depth, self.width, self.height)


_MIRROR_X = np.diag([-1.0, 1.0, 1.0, 1.0])  # a horizontal image flip mirrors the camera's x axis


class MonocularDataset(_SampleDataset):
    """Monodepth2 samples: a target frame and its neighbours at ``frame_offsets``.

    Args:
        sequence: the frames; for KITTI the split's frames with their drives' neighbours.
        height, width: network input size, multiples of 32.
        frame_offsets: the source frames, in frames from the target (Monodepth2's ``frame_ids[1:]``); a
            frame is a sample only when all of them exist.
        augment: horizontal flip (p = 0.5) and colour jitter (p = 0.5), both the same for all frames.
        seed: seed of the augmentation draws.
        min_translation: metres; when positive, a frame is a sample only when the camera centre of every
            source frame is at least this far from the target's, by the sequence's poses (Zhou et al.'s
            removal of static frames, which Monodepth2's KITTI split inherits: a target that did not move
            relative to its sources constrains no depth). Needs poses; frames without one are left out.
        odometry_unit: metres per unit of length; when given, each sample also carries the sources' camera
            motion from the sequence's poses, with translations in these units (for training with known
            poses instead of the pose network). Needs poses; frames without one are left out.

    A sample is a dict of tensors:
        ``images``: (F, 3, H, W) float32 RGB in [0, 1], target first then the sources in the order of
        ``frame_offsets`` (flipped with the sample, never jittered: the photometric loss uses these);
        ``images_aug``: the same after the colour jitter (what the networks see);
        ``K``: (3, 3) float32 intrinsics at network size (of the flipped image when flipped);
        ``depth``: (1, H, W) float32 metres of the target (NaN where unknown);
        ``flipped``: bool; ``index``: the target's index in ``sequence``;
        with ``odometry_unit``: ``T_source_target`` (F - 1, 4, 4) float32, for each source the transform
        from target camera coordinates to that source's (of the flipped cameras when flipped), translation
        in ``odometry_unit`` metres.

    Attributes:
        indices: the target index of each sample.
        static: number of frames left out by ``min_translation`` (no pose, or too little motion).
        unposed: number of frames left out by ``odometry_unit`` (a pose missing at the target or a source).
    """

    def __init__(
        self,
        sequence: FrameSequence,
        height: int,
        width: int,
        frame_offsets: Sequence[int] = (-1, 1),
        augment: bool = True,
        seed: int = 0,
        min_translation: float = 0.0,
        odometry_unit: float | None = None,
    ):
        super().__init__(sequence, height, width, augment, seed)
        self.odometry_unit = odometry_unit
        self.frame_offsets = tuple(int(k) for k in frame_offsets)
        if 0 in self.frame_offsets or len(set(self.frame_offsets)) != len(self.frame_offsets):
            raise DatasetError(f"frame_offsets must be distinct and non-zero (0 is the target), got {frame_offsets}")
        self.indices = [i for i in range(len(sequence)) if has_neighbours(sequence, i, self.frame_offsets)]
        if not self.indices:
            raise DatasetError(
                f"no frame of {describe(sequence)} ({len(sequence)} frames) has neighbours at offsets "
                f"{self.frame_offsets}: a monocular sample needs a target and all its source frames"
            )
        self.static = 0
        if min_translation > 0:
            moving = [i for i in self.indices if self._moves(i, min_translation)]
            self.static = len(self.indices) - len(moving)
            if not moving:
                raise DatasetError(
                    f"no frame of {describe(sequence)} moved at least min_translation = {min_translation} m "
                    f"relative to its source frames at offsets {self.frame_offsets}: lower min_translation"
                )
            self.indices = moving
        self.unposed = 0
        if odometry_unit is not None:
            if not odometry_unit > 0:
                raise DatasetError(f"odometry_unit must be a positive number of metres, got {odometry_unit}")
            poses = self._poses("poses: odometry", "train with poses: network")
            posed = [i for i in self.indices if all(poses[i + k] is not None for k in (0, *self.frame_offsets))]
            self.unposed = len(self.indices) - len(posed)
            if not posed:
                raise DatasetError(
                    f"no frame of {describe(sequence)} has poses at itself and its source frames "
                    f"{self.frame_offsets}: poses: odometry needs them"
                )
            self.indices = posed

    def _moves(self, index: int, min_translation: float) -> bool:
        """Whether every source frame's camera centre is at least ``min_translation`` metres from the target's."""
        poses = self._poses("min_translation", "set min_translation: 0")
        target = poses[index]
        sources = [poses[index + k] for k in self.frame_offsets]
        if target is None or any(source is None for source in sources):
            return False
        return all(np.linalg.norm(source[:3, 3] - target[:3, 3]) >= min_translation for source in sources)

    def _poses(self, purpose: str, otherwise: str) -> list[np.ndarray | None]:
        """``T_world_cam`` of every frame of the sequence (None where unknown). ``purpose`` (the option that
        needs them) and ``otherwise`` (how to do without) go into the error messages."""
        if not hasattr(self, "_pose_cache"):
            if isinstance(self.sequence, TemporalNeighbours):
                raise DatasetError(
                    f"{purpose} needs the poses of consecutive frames, which {describe(self.sequence)} "
                    f"does not give (a split file picks its frames, without poses): {otherwise}"
                )
            poses = sequence_poses(self.sequence)
            if all(pose is None for pose in poses):
                raise DatasetError(
                    f"{purpose} needs camera poses, but no frame of {describe(self.sequence)} has one: "
                    "record odometry in the bag, use a TUM sequence with groundtruth.txt, add poses.txt to an "
                    f"image folder, or {otherwise}"
                )
            self._pose_cache = poses
        return self._pose_cache

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, item: int) -> dict[str, torch.Tensor | int | bool]:
        index = self.indices[item]
        target = self.sequence[index]
        frames = [target, *neighbour_frames(self.sequence, index, self.frame_offsets)]
        rng = sample_rng(self.seed, self.epoch, item)
        flip = self.augment and rng.random() < 0.5
        jitter = ColorJitter.draw(rng) if self.augment and rng.random() < 0.5 else None

        rgb = np.stack([self._rgb(frame) for frame in frames])
        depth = self._depth(target)
        camera = target.camera.resized(self.width, self.height)
        if flip:
            rgb, depth, camera = rgb[:, :, ::-1], depth[:, ::-1], flipped_camera(camera)
        images = torch.from_numpy(np.ascontiguousarray(rgb)).permute(0, 3, 1, 2).float() / 255.0
        sample = {
            "images": images,
            "images_aug": images.clone() if jitter is None else jitter(images),
            "K": torch.from_numpy(camera.K.astype(np.float32)),
            "depth": torch.from_numpy(np.ascontiguousarray(depth))[None],
            "flipped": flip,
            "index": index,
        }
        if self.odometry_unit is not None:
            sample["T_source_target"] = self._source_motion(index, flip)
        return sample

    def _source_motion(self, index: int, flipped: bool) -> torch.Tensor:
        """(F - 1, 4, 4) float32 ``T_source_target = T_world_source^-1 T_world_target`` per source, translation
        in ``odometry_unit`` metres; mirrored (``M T M``, ``M = diag(-1, 1, 1, 1)``) for a flipped sample."""
        poses = self._poses("poses: odometry", "train with poses: network")
        target = poses[index]
        motions = []
        for offset in self.frame_offsets:
            motion = invert_transform(poses[index + offset]) @ target
            motion[:3, 3] /= self.odometry_unit
            if flipped:
                motion = _MIRROR_X @ motion @ _MIRROR_X
            motions.append(motion)
        return torch.from_numpy(np.stack(motions).astype(np.float32))


class MultiViewDataset(_SampleDataset):
    """MVDepthNet samples: a reference frame with ``measurement_frames`` frames picked by baseline.

    For each reference frame with a pose, the candidates are the posed frames within ``search_window``
    frames of it whose camera centre is ``min_baseline`` to ``max_baseline`` metres away and whose
    orientation differs by at most ``max_rotation_deg``; the ``measurement_frames`` candidates with the
    largest baselines are taken (the author's advice: keyframes by baseline, translation matters and
    rotation does not help). Reference frames with fewer candidates are skipped and counted.

    Args:
        sequence: frames with poses (``T_world_cam``) and, for supervision, depth.
        height, width: network input size, multiples of 32.
        measurement_frames: N, measurement frames per sample.
        min_baseline, max_baseline: metres between the camera centres of reference and measurement.
        max_rotation_deg: largest rotation between reference and measurement.
        search_window: measurements are at most this many frames before or after the reference.
        augment: paired photometric augmentation (:class:`~depth_ros.data.augment.PairedPhotometric`).
        seed: seed of the augmentation draws.
        depth_range: (near, far) metres; ground truth outside it becomes NaN (unknown), e.g. beyond the
            network's planes. None keeps every depth.
        world_scale: (low, high); when given, each sample's depth and ``T_meas_ref`` translations are
            multiplied by a scale drawn log-uniform in it (the images unchanged: the same scene at another
            size), before ``depth_range`` applies.

    A sample is a dict of tensors:
        ``reference``: (3, H, W) float32 RGB in [0, 255]; ``measurements``: (N, 3, H, W) likewise;
        ``T_meas_ref``: (N, 4, 4) float32, ``inv(T_world_meas) @ T_world_ref`` (reference camera
        coordinates to each measurement camera's);
        ``K``: (3, 3) float32 intrinsics at network size (the reference's; the frames of one sequence
        share a camera);
        ``depth``: (1, H, W) float32 metres of the reference (NaN unknown, +inf no surface in range);
        ``index``: the reference's index; ``measurement_indices``: (N,) int64.

    Attributes:
        poses: every frame's ``T_world_cam`` (None where unknown), as the source gives them.
        pairs: ``(reference index, measurement indices)`` of each sample.
        skipped: number of frames that are not a reference (no pose, or too few partners);
        skip_reasons: the same, by reason.
    """

    def __init__(
        self,
        sequence: FrameSequence,
        height: int,
        width: int,
        measurement_frames: int = 1,
        min_baseline: float = 0.05,
        max_baseline: float = 1.0,
        max_rotation_deg: float = 30.0,
        search_window: int = 10,
        augment: bool = True,
        seed: int = 0,
        depth_range: tuple[float, float] | None = None,
        world_scale: tuple[float, float] | None = None,
    ):
        super().__init__(sequence, height, width, augment, seed)
        if world_scale is not None and not 0 < world_scale[0] <= world_scale[1]:
            raise DatasetError(f"world_scale must be (low, high) with 0 < low <= high, got {world_scale}")
        self.depth_range = depth_range
        self.world_scale = world_scale
        if measurement_frames < 1 or search_window < 1 or not 0 <= min_baseline < max_baseline:
            raise DatasetError(
                f"need measurement_frames >= 1, search_window >= 1 and 0 <= min_baseline < max_baseline, got "
                f"{measurement_frames}, {search_window}, {min_baseline}, {max_baseline}"
            )
        poses = sequence_poses(sequence)
        if all(pose is None for pose in poses):
            raise DatasetError(
                f"MultiViewDataset needs camera poses, but no frame of {describe(sequence)} has one: record "
                "odometry and the camera extrinsic (/tf_static) in a bag, use a TUM sequence with groundtruth.txt, "
                "or put poses.txt beside a folder of images"
            )
        self.measurement_frames = measurement_frames
        self.poses = poses
        self.pairs: list[tuple[int, tuple[int, ...]]] = []
        self.skip_reasons: Counter[str] = Counter()
        too_few = (
            f"fewer than {measurement_frames} frames within {search_window} frames with a baseline of "
            f"{min_baseline}..{max_baseline} m and a rotation of at most {max_rotation_deg} deg"
        )
        for i, pose in enumerate(poses):
            if pose is None:
                self.skip_reasons["no pose"] += 1
                continue
            candidates = []
            for j in range(max(0, i - search_window), min(len(poses), i + search_window + 1)):
                other = poses[j]
                if j == i or other is None:
                    continue
                baseline = float(np.linalg.norm(other[:3, 3] - pose[:3, 3]))
                rotation = rotation_angle_deg(invert_transform(other) @ pose)
                if min_baseline <= baseline <= max_baseline and rotation <= max_rotation_deg:
                    candidates.append((baseline, j))
            if len(candidates) < measurement_frames:
                self.skip_reasons[too_few] += 1
                continue
            chosen = sorted(candidates, key=lambda c: (-c[0], c[1]))[:measurement_frames]
            self.pairs.append((i, tuple(j for _, j in chosen)))
        self.skipped = sum(self.skip_reasons.values())
        if not self.pairs:
            reasons = "; ".join(f"{count} with {reason}" for reason, count in self.skip_reasons.items())
            raise DatasetError(f"no reference frame in {describe(sequence)} ({len(poses)} frames): {reasons}")

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, item: int) -> dict[str, torch.Tensor | int]:
        index, measurement_indices = self.pairs[item]
        reference = self.sequence[index]
        measurements = [self.sequence[j] for j in measurement_indices]
        rgb = np.stack([self._rgb(frame) for frame in [reference, *measurements]])
        images = torch.from_numpy(rgb).permute(0, 3, 1, 2).float()
        rng = sample_rng(self.seed, self.epoch, item)
        if self.augment:
            images = PairedPhotometric.draw(rng)(images, rng)
        T_world_ref = self.poses[index]
        T_meas_ref = np.stack([invert_transform(self.poses[j]) @ T_world_ref for j in measurement_indices])
        depth = self._depth(reference)
        if self.world_scale is not None:
            scale = float(np.exp(rng.uniform(np.log(self.world_scale[0]), np.log(self.world_scale[1]))))
            T_meas_ref[:, :3, 3] *= scale
            depth *= scale
        if self.depth_range is not None:
            with np.errstate(invalid="ignore"):
                depth[(depth < self.depth_range[0]) | (depth > self.depth_range[1])] = np.nan
        camera = reference.camera.resized(self.width, self.height)
        return {
            "reference": images[0],
            "measurements": images[1:],
            "T_meas_ref": torch.from_numpy(T_meas_ref.astype(np.float32)),
            "K": torch.from_numpy(camera.K.astype(np.float32)),
            "depth": torch.from_numpy(depth)[None],
            "index": index,
            "measurement_indices": torch.tensor(measurement_indices, dtype=torch.int64),
        }
