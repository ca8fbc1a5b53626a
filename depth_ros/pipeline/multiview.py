"""Metric depth from one moving camera with known poses: MVDepthNet on keyframes.

For each image, :class:`MultiViewDepthPipeline` resizes it to the network size, picks measurement keyframes
among the images it kept (:class:`~depth_ros.pipeline.keyframes.KeyframeBuffer`), runs the engine on the
reference and those keyframes, and then offers the image as a keyframe for the images after it (never
before: an image never measures against itself).

Poses are ``T_world_cam`` (4, 4): the camera's optical frame (REP 103) in a world frame that stays fixed
while the keyframes live (``odom``), e.g. ``PoseBuffer.at(stamp) @ T_base_cam``. The network takes
``T_meas_ref = inv(T_world_meas) @ T_world_ref``: reference camera coordinates to each measurement camera's.
"""

from __future__ import annotations

import time

import numpy as np

from depth_ros.errors import DepthRosError, PoseError
from depth_ros.geometry import PinholeCamera, invert_transform
from depth_ros.pipeline.frame import DepthResult, FrameSkipped, to_network_size
from depth_ros.pipeline.keyframes import DEFAULT_SETTINGS, Keyframe, KeyframeBuffer, KeyframeSettings
from depth_ros.pipeline.pose_buffer import check_plausible_pose
from depth_ros.pipeline.timeline import RESTART_CONFIRMATIONS, StampOrder, TimelineGuard
from depth_ros.runtime.engine import DepthEngine

INVALID_POSE = "invalid pose"
NO_KEYFRAME = "no keyframe with enough baseline"
OUT_OF_ORDER = "image out of order"
# Measurement frames when the engine takes any number (PyTorch backend): what the shipped model is trained with.
DEFAULT_MEASUREMENT_FRAMES = 2


class MultiViewDepthPipeline:
    """Image + intrinsics + pose in, metric depth at the network size out (see the module docstring).

    Images must come in stamp order: one not after the newest image (late, or from a second publisher) is
    skipped and changes nothing, unless it completes a run of images that started a new time line (a bag
    replayed in a loop, a time reset: :mod:`~depth_ros.pipeline.timeline`). Then, or when the camera at network
    size changes (another ``camera_info``), the keyframes are forgotten.

    Args:
        engine: an MVDepthNet :class:`~depth_ros.runtime.engine.DepthEngine` with metric output.
        settings: when images become keyframes and when keyframes may measure an image.

    Attributes:
        measurement_frames: N, the measurement images per inference (the engine's fixed N, or 2 when it takes
            any): when fewer keyframes qualify, the selected ones are repeated up to N. MVDepthNet averages the
            cost volumes of its measurements, and the average over copies of one frame is that frame's own.
        keyframes: the keyframes kept so far.
    """

    def __init__(self, engine: DepthEngine, settings: KeyframeSettings = DEFAULT_SETTINGS):
        metadata = engine.metadata
        if metadata.architecture != "mvdepthnet" or metadata.scale_type != "metric":
            raise DepthRosError(
                f"the multi-view pipeline needs a metric MVDepthNet model, got a {metadata.scale_type} "
                f"{metadata.architecture} one: open an MVDepthNet checkpoint, ONNX file or engine"
            )
        self.engine = engine
        self.measurement_frames = metadata.measurement_frames or DEFAULT_MEASUREMENT_FRAMES
        self.keyframes = KeyframeBuffer(settings)
        self._camera: PinholeCamera | None = None
        self._nominal_depth_m = self._default_depth_m()
        self._timeline = TimelineGuard()

    metric = True  # the plane sweep is in metres: MVDepthNet depth needs no scale

    def process(self, rgb: np.ndarray, camera: PinholeCamera, stamp_ns: int, T_world_cam: np.ndarray) -> DepthResult:
        """Depth of one image.

        Args:
            rgb: (H, W, 3) uint8 RGB of size ``camera.width x camera.height``.
            camera: intrinsics of ``rgb``.
            stamp_ns: the image's stamp, integer nanoseconds.
            T_world_cam: (4, 4) pose of the camera's optical frame in the world frame at ``stamp_ns``.

        Returns:
            Depth (h, w) float32 metres at the network size, with the resized camera and image. Depth is clipped
            to the model's ``[min_depth, max_depth]`` (the network saturates there, so a value at ``max_depth``
            means "that far or farther"; the clip only catches rounding); a non-finite output is NaN.

        Raises:
            FrameSkipped: ``invalid pose`` (non-finite, not rigid, or further than
                :data:`~depth_ros.pipeline.pose_buffer.MAX_POSITION_M` from the origin, where float64 rounding
                swallows the baseline: no depth rather than a wrong one),
                ``image out of order`` (not after the newest image), or ``no keyframe with enough
                baseline`` (the first image, a camera standing still or turning in place); the image is still
                offered as a keyframe in the last case.
            ImageEncodingError: ``rgb`` is not (H, W, 3) uint8 or does not match ``camera``.
        """
        start = time.perf_counter()
        try:
            T_world_ref = check_plausible_pose(T_world_cam, "T_world_cam").copy()
        except PoseError as error:
            raise FrameSkipped(INVALID_POSE, str(error)) from error
        metadata = self.engine.metadata
        image, network_camera = to_network_size(rgb, camera, metadata.width, metadata.height)
        self._forget_on_discontinuity(network_camera, stamp_ns)
        selected = self.keyframes.select(T_world_ref, network_camera, self.measurement_frames, self._nominal_depth_m)
        self.keyframes.offer(Keyframe(int(stamp_ns), image.copy(), T_world_ref))
        if not selected:
            raise FrameSkipped(NO_KEYFRAME, self._describe_no_keyframe())
        measurements = [selected[i % len(selected)] for i in range(self.measurement_frames)]
        T_meas_ref = np.stack([invert_transform(keyframe.T_world_cam) @ T_world_ref for keyframe in measurements])
        images = np.stack([keyframe.rgb for keyframe in measurements])
        preprocessed = time.perf_counter()
        raw = self.engine.infer(reference=image, measurements=images, T_meas_ref=T_meas_ref, K=network_camera.K)
        inferred = time.perf_counter()
        depth = self._postprocess(raw)
        end = time.perf_counter()
        timings = {
            "preprocess": preprocessed - start,
            "inference": inferred - preprocessed,
            "postprocess": end - inferred,
        }
        return DepthResult(depth=depth, camera=network_camera, rgb=image, scale=1.0, timings=timings)

    def reset(self) -> None:
        """Forget the keyframes, the depth and the stamps seen so far (e.g. when odometry was reset)."""
        self._forget_keyframes()
        self._timeline.clear()

    def _forget_keyframes(self) -> None:
        self.keyframes.clear()
        self._camera = None
        self._nominal_depth_m = self._default_depth_m()

    def _default_depth_m(self) -> float:
        """The geometric middle of the model's depth range, metres."""
        return float(np.sqrt(self.engine.metadata.min_depth * self.engine.metadata.max_depth))

    def _forget_on_discontinuity(self, network_camera: PinholeCamera, stamp_ns: int) -> None:
        """Forget the keyframes when the camera changed or the stamps started a new time line; raise
        :class:`FrameSkipped` for a late image."""
        newest = self._timeline.newest_ns
        order = self._timeline.observe(int(stamp_ns))
        if order is StampOrder.LATE:
            raise FrameSkipped(
                OUT_OF_ORDER,
                f"image at {stamp_ns} ns is {(newest - stamp_ns) / 1e6:.1f} ms older than the newest image: images "
                f"must come in stamp order (two publishers on one topic?); {RESTART_CONFIRMATIONS} in a row, each "
                "after the one before, start a new time line (a bag loop)",
            )
        if order is StampOrder.RESTART or network_camera != self._camera:
            self._forget_keyframes()
            self._camera = network_camera

    def _postprocess(self, raw: np.ndarray) -> np.ndarray:
        """(h, w) float32 depth owned by the caller: non-finite -> NaN, clipped to the model's range; remembers
        the median depth as the nominal depth of the next overlap test."""
        metadata = self.engine.metadata
        depth = np.array(raw, dtype=np.float32)
        depth[~np.isfinite(depth)] = np.nan
        np.clip(depth, metadata.min_depth, metadata.max_depth, out=depth)
        if np.isfinite(depth).any():
            self._nominal_depth_m = float(np.nanmedian(depth))
        return depth

    def _describe_no_keyframe(self) -> str:
        s = self.keyframes.settings
        return (
            f"none of {len(self.keyframes)} keyframes is {s.min_translation_m}..{s.max_translation_m} m from the "
            f"camera, within {s.max_rotation_deg} deg of its orientation and sees {s.min_overlap:.0%} of its view "
            f"at {self._nominal_depth_m:.2f} m: move the camera (turning in place gives no depth)"
        )
