"""Monodepth2 on single images, with the metric scale recovered by one of five modes.

``MonoDepthPipeline.process`` resizes an image to the network size, runs the depth engine and multiplies
its depth by a factor that :class:`MonoSettings.scale_mode <MonoSettings>` decides:

* ``relative``: 1, the depth as the model gives it (metres for metric and stereo-trained models, an unknown
  scale for monocular ones).
* ``fixed``: ``scale_factor``, a scale measured once for this camera and model.
* ``stereo``: 1; the model is stereo-trained and its metadata's ``scale_factor`` (applied by the engine)
  makes it metric. Asserts that the model is one.
* ``odometry``: the camera's motion from odometry over the motion the model's own pose network sees
  (:func:`~depth_ros.pipeline.scale.odometry_scale_ratio`), between the last frame used and the first one
  at least ``min_translation_m`` away from it.
* ``ground``: the camera's known height over the height of the ground plane in the model's depth
  (:func:`~depth_ros.pipeline.scale.ground_scale_ratio`), every frame.

The last two smooth their per-frame ratios in a :class:`~depth_ros.pipeline.scale.ScaleWindow` and skip
frames (:class:`~depth_ros.pipeline.frame.FrameSkipped`, reason ``waiting for a metric scale``) until it has one.

Metric models (metadata ``scale_type`` ``metric``) output metres already: they take ``relative`` only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from depth_ros.errors import DepthRosError
from depth_ros.geometry import PinholeCamera, check_rigid, invert_transform
from depth_ros.pipeline.frame import DepthResult, FrameSkipped, to_network_size
from depth_ros.pipeline.scale import ScaleWindow, ground_scale_ratio, odometry_scale_ratio
from depth_ros.runtime.engine import DepthEngine

if TYPE_CHECKING:
    import torch

    from depth_ros.models.monodepth2 import Monodepth2Pose

ScaleMode = Literal["relative", "fixed", "stereo", "odometry", "ground"]
SCALE_MODES: tuple[ScaleMode, ...] = ("relative", "fixed", "stereo", "odometry", "ground")
WAITING_FOR_SCALE = "waiting for a metric scale"


@dataclass(frozen=True)
class MonoSettings:
    """How :class:`MonoDepthPipeline` makes depth metric (see the module docstring).

    Attributes:
        scale_mode: ``relative``, ``fixed``, ``stereo``, ``odometry`` or ``ground``.
        scale_factor: ``fixed`` mode: the factor applied to the model's depth.
        camera_height_m: ``ground`` mode: height of the camera's optical centre above the ground, metres.
        scale_window: ``odometry`` and ``ground`` modes: the scale is the median of this many latest ratios.
        min_translation_m: ``odometry`` mode: the camera must move this far (metres, by odometry) between the
            two frames compared; shorter motions are dominated by noise (0: compare consecutive frames).
    """

    scale_mode: ScaleMode = "relative"
    scale_factor: float = 1.0
    camera_height_m: float = 1.3
    scale_window: int = 20
    min_translation_m: float = 0.05

    def __post_init__(self) -> None:
        if self.scale_mode not in SCALE_MODES:
            raise DepthRosError(f"scale_mode must be one of {', '.join(SCALE_MODES)}, got {self.scale_mode!r}")
        for name in ("scale_factor", "camera_height_m"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise DepthRosError(f"{name} must be a positive number, got {getattr(self, name)}")
        if not (np.isfinite(self.min_translation_m) and self.min_translation_m >= 0):
            raise DepthRosError(f"min_translation_m must be a number >= 0, got {self.min_translation_m}")
        if self.scale_window < 1:
            raise DepthRosError(f"scale_window must be at least 1 ratio, got {self.scale_window}")


class MonoDepthPipeline:
    """Image + intrinsics (+ camera pose) in, depth at the network size out (see the module docstring).

    Args:
        engine: a Monodepth2 :class:`~depth_ros.runtime.engine.DepthEngine`.
        settings: the scale mode and its parameters.
        pose_network: the model's pose network (:func:`depth_ros.models.checkpoints.load_pose_network`), needed
            by ``odometry`` mode; it runs on the CPU in eval mode (the module is moved and switched).

    Raises:
        DepthRosError: the engine is not Monodepth2, or the mode does not fit the model (see the module
            docstring), or ``odometry`` mode has no pose network.
    """

    def __init__(
        self, engine: DepthEngine, settings: MonoSettings = MonoSettings(), pose_network: Monodepth2Pose | None = None
    ):
        check_scale_mode(engine, settings, pose_network)
        self.engine = engine
        self.settings = settings
        self._window = ScaleWindow(settings.scale_window)
        self._odometry = (
            OdometryScale(pose_network, self._window, settings.min_translation_m, engine.metadata.scale_factor)
            if settings.scale_mode == "odometry" and pose_network is not None
            else None
        )

    @property
    def metric(self) -> bool:
        """Whether the published depth claims metres (a scale mode or a model that is not relative)."""
        return self.settings.scale_mode != "relative" or self.engine.metadata.scale_type != "relative"

    @property
    def scale(self) -> float | None:
        """The factor from the model's depth before its metadata ``scale_factor`` to the published depth (what
        :attr:`DepthResult.scale` reports), or None while ``odometry``/``ground`` wait for a scale."""
        factor = self._factor()
        return None if factor is None else factor * self.engine.metadata.scale_factor

    def process(
        self, rgb: np.ndarray, camera: PinholeCamera, stamp_ns: int, T_world_cam: np.ndarray | None = None
    ) -> DepthResult:
        """Depth of one image.

        Args:
            rgb: (H, W, 3) uint8 RGB of the size ``camera`` describes.
            camera: its intrinsics.
            stamp_ns: its stamp, integer nanoseconds.
            T_world_cam: (4, 4) pose of the camera's optical frame in the odometry frame at ``stamp_ns``
                (odometry pose times the base-to-camera extrinsic); used by ``odometry`` mode only.

        Returns:
            Depth (metres when the scale is metric) and the camera at the network size; ``timings`` has
            ``preprocess``, ``inference``, ``postprocess`` (with the ground fit in ``ground`` mode) and, on
            frames where the pose network ran, ``pose``.

        Raises:
            FrameSkipped: ``odometry`` mode without a finite ``T_world_cam``, or ``odometry``/``ground`` mode
                before the first scale.
            ImageEncodingError: ``rgb`` is not (H, W, 3) uint8 of the camera's size.
        """
        started = time.perf_counter()
        metadata = self.engine.metadata
        image, network_camera = to_network_size(rgb, camera, metadata.width, metadata.height)
        timings = {"preprocess": time.perf_counter() - started}
        if self._odometry is not None:
            self._odometry.update(image, T_world_cam, stamp_ns, timings)
            self._require_factor(stamp_ns)  # before running the depth network for nothing
        started = time.perf_counter()
        depth = self.engine.infer(image=image)
        timings["inference"] = time.perf_counter() - started
        started = time.perf_counter()
        if self.settings.scale_mode == "ground":
            self._window.add(ground_scale_ratio(depth, network_camera, self.settings.camera_height_m))
        factor = self._require_factor(stamp_ns)
        metric = np.multiply(depth, np.float32(factor), dtype=np.float32)  # a new array: the result owns it
        timings["postprocess"] = time.perf_counter() - started
        return DepthResult(metric, network_camera, image, factor * metadata.scale_factor, timings)

    def _factor(self) -> float | None:
        """The factor applied to the engine's depth, or None while waiting for one."""
        mode = self.settings.scale_mode
        if mode in ("odometry", "ground"):
            return self._window.value
        return self.settings.scale_factor if mode == "fixed" else 1.0

    def _require_factor(self, stamp_ns: int) -> float:
        """:meth:`_factor`, or :class:`FrameSkipped` saying what the scale waits for."""
        factor = self._factor()
        if factor is not None:
            return factor
        if self.settings.scale_mode == "ground":
            detail = (
                f"no ground plane found yet (image at {stamp_ns} ns): the lower half of the image must see the "
                f"ground {self.settings.camera_height_m} m below the camera"
            )
        else:
            detail = (
                f"the camera has not yet moved {self.settings.min_translation_m} m by odometry with a usable pose "
                f"network estimate (image at {stamp_ns} ns)"
            )
        raise FrameSkipped(WAITING_FOR_SCALE, detail)


@dataclass
class _Reference:
    """The frame the next odometry ratio is measured from."""

    image: torch.Tensor  # (1, 3, h, w) float32 RGB in [0, 1]: the pose network's input
    T_world_cam: np.ndarray
    stamp_ns: int


class OdometryScale:
    """Feeds ``window`` with :func:`~depth_ros.pipeline.scale.odometry_scale_ratio` of a reference frame and
    the first later frame at least ``min_translation_m`` away from it by odometry, which becomes the next
    reference.

    Args:
        pose_network: the model's pose network; run on the CPU in eval mode (the module is moved and switched).
        window: where the ratios go.
        min_translation_m: the odometry motion between the two frames compared, metres.
        scale_factor: the metadata's ``scale_factor``, which the engine applies to the depth (and so the pose
            network's translation must take too).
    """

    def __init__(
        self, pose_network: Monodepth2Pose, window: ScaleWindow, min_translation_m: float, scale_factor: float
    ):
        self.pose_network = pose_network.cpu().eval()
        self.window = window
        self.min_translation_m = min_translation_m
        self.scale_factor = scale_factor
        self._reference: _Reference | None = None

    def update(
        self, image: np.ndarray, T_world_cam: np.ndarray | None, stamp_ns: int, timings: dict[str, float]
    ) -> None:
        """Take one frame: ``image`` (h, w, 3) uint8 RGB at network size, its (4, 4) camera pose in the odometry
        frame and stamp; adds ``pose`` (seconds) to ``timings`` when the pose network runs. A frame with a stamp
        not after the reference's (a bag played again) becomes the new reference.

        Raises:
            FrameSkipped: ``T_world_cam`` is None or not finite.
        """
        if T_world_cam is None or not np.all(np.isfinite(T_world_cam)):
            raise FrameSkipped("no camera pose for odometry scale", f"image at {stamp_ns} ns")
        T_world_cam = check_rigid(T_world_cam, "T_world_cam")
        reference = self._reference
        if reference is not None and stamp_ns > reference.stamp_ns:
            t_odometry = (invert_transform(T_world_cam) @ reference.T_world_cam)[:3, 3]  # T_cam_reference
            if np.linalg.norm(t_odometry) < self.min_translation_m:
                return
            started = time.perf_counter()
            current = _pose_input(image)
            t_engine = self._network_translation(reference.image, current) * self.scale_factor
            timings["pose"] = time.perf_counter() - started
            self.window.add(odometry_scale_ratio(t_odometry, t_engine, self.min_translation_m))
            self._reference = _Reference(current, T_world_cam, stamp_ns)
        else:
            self._reference = _Reference(_pose_input(image), T_world_cam, stamp_ns)

    def _network_translation(self, earlier: torch.Tensor, later: torch.Tensor) -> np.ndarray:
        """(3,) translation of ``T_later_earlier`` as the pose network predicts it (its training convention:
        images in temporal order, the first prediction)."""
        import torch

        with torch.no_grad():
            _, translation = self.pose_network(earlier, later)
        return translation[0, 0, 0].double().numpy()


def _pose_input(image: np.ndarray) -> torch.Tensor:
    """(h, w, 3) uint8 RGB -> (1, 3, h, w) float32 tensor in [0, 1], as the trainer feeds the pose network
    (which normalises inside its encoder); a new tensor, independent of ``image``."""
    import torch

    return torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0


def check_scale_mode(engine: DepthEngine, settings: MonoSettings, pose_network: Monodepth2Pose | None) -> None:
    """Raise :class:`DepthRosError` when ``settings.scale_mode`` cannot make ``engine``'s depth metric."""
    metadata, mode = engine.metadata, settings.scale_mode
    if metadata.architecture != "monodepth2":
        raise DepthRosError(
            f"the single-image pipeline runs Monodepth2 models, got {metadata.architecture} ({metadata.source}): "
            "run MVDepthNet with the multi-view pipeline"
        )
    if mode == "stereo" and metadata.scale_type != "stereo":
        instead = (
            "relative (its depth is already metric)"
            if metadata.scale_type == "metric"
            else "odometry, ground or fixed to make it metric, or relative to keep it up to scale"
        )
        raise DepthRosError(
            f"scale_mode=stereo needs a stereo-trained model, but {metadata.source or 'this model'} has scale_type "
            f"{metadata.scale_type!r}: use scale_mode={instead}"
        )
    if metadata.scale_type == "metric" and mode != "relative":
        raise DepthRosError(
            f"{metadata.source or 'this model'} is metric (scale_type 'metric'): its depth is in metres already; "
            f"use scale_mode=relative, not {mode}"
        )
    if mode == "odometry" and pose_network is None:
        raise DepthRosError(
            "scale_mode=odometry needs the model's pose network, and none was found: neither a <model>_pose.pt "
            "beside the model file nor one inside it (the trainer's model.pt carries it); name the checkpoint "
            "holding it with the node's pose_model parameter (depth-ros eval --pose-model), or choose another "
            "scale_mode (ground, fixed, relative)"
        )
