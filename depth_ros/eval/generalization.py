"""Does depth hold on scenes the training data never showed? Scene families, their evaluation, the odometry test.

A :class:`Family` is a named set of posed RGB-D sequences. :data:`FAMILIES` holds:

* ``corridor/room``: the street and room generators at the camera the shipped networks train with (128 x 96,
  80 degrees of view; other seeds): in distribution;
* ``objects``: the ``objects`` generator (:mod:`depth_ros.data.objects`) at seeds reserved for testing
  (:data:`OBJECTS_TEST_SEEDS`; training configs use seeds below it): in distribution too;

and families no shipped training config uses, for training or for choosing a checkpoint:

* ``corridor 640x480`` and ``room 848x480``: the street and room generators seen by cameras never trained on
  (a RealSense-like 640 x 480 camera with 58 degrees of view, a 16:9 camera with 100 degrees; principal points
  off centre);
* ``planar photos``: real photographs on planes (:mod:`depth_ros.data.planar_photos`);
* ``middlebury``: a real rectified stereo pair with measured ground truth (:mod:`depth_ros.data.middlebury`).

Each model runs through the pipeline its node runs (:func:`~depth_ros.eval.replay.open_model`): the frames of a
sequence in order, resized to the network, keyframes chosen by the node's rules. :func:`evaluate_family` gives
a :class:`~depth_ros.eval.evaluation.ModelResult` per family.

**Odometry-scale test** (:func:`odometry_scale_response`): the multi-view pipeline runs once more with every
``T_meas_ref`` translation the network sees multiplied by ``s`` (:class:`ScaledOdometryEngine`), the images and
the keyframe choice unchanged: a network that triangulates answers depth ``s`` times as large (the same pictures
of a world ``s`` times as large); one that ignores its cost volume answers the same depth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from depth_ros.data.sequence import FrameSequence
from depth_ros.eval.evaluation import EvalSettings, GroundTruth, ModelResult, Prediction
from depth_ros.eval.replay import DepthPipeline
from depth_ros.pipeline.frame import FrameSkipped
from depth_ros.pipeline.multiview import MultiViewDepthPipeline
from depth_ros.runtime.engine import DepthEngine

OBJECTS_TEST_SEEDS = 20_000  # objects sequences from this seed on are for testing only
SETTINGS = EvalSettings(min_depth=0.5, max_depth=50.0)  # MVDepthNet's plane range, for every model


@dataclass(frozen=True)
class Family:
    """A named set of sequences.

    Attributes:
        name: label in tables. description: one line on what it is.
        sequences: ``(count, frames) -> sequences``, at most ``count`` of at most ``frames`` frames (deterministic).
    """

    name: str
    description: str
    sequences: Callable[[int, int], list[FrameSequence]]


def _street_and_room(count: int, frames: int) -> list[FrameSequence]:
    from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence

    return [
        SyntheticSequence(
            SyntheticConfig(scene=("corridor", "room")[i % 2], frames=frames, width=128, height=96, seed=1002 + i)
        )
        for i in range(count)
    ]


def _other_camera(scene: str, width: int, height: int, fov_deg: float, offset: tuple[float, float]):
    def sequences(count: int, frames: int) -> list[FrameSequence]:
        from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence

        focal = 0.5 * width / np.tan(np.deg2rad(fov_deg) / 2)
        intrinsics = (focal, focal, (width - 1) / 2 + offset[0], (height - 1) / 2 + offset[1])
        return [
            SyntheticSequence(
                SyntheticConfig(
                    scene=scene, frames=frames, width=width, height=height, intrinsics=intrinsics, seed=3000 + i
                )
            )
            for i in range(count)
        ]

    return sequences


def _objects(count: int, frames: int) -> list[FrameSequence]:
    from depth_ros.data.objects import ObjectsConfig, ObjectsSequence

    return [
        ObjectsSequence(ObjectsConfig(seed=OBJECTS_TEST_SEEDS + i, frames=frames, pixels=320 * 240))
        for i in range(count)
    ]


def _planar_photos(count: int, frames: int) -> list[FrameSequence]:
    from depth_ros.data.planar_photos import PlanarPhotoConfig, PlanarPhotoSequence

    return [PlanarPhotoSequence(PlanarPhotoConfig(seed=i, frames=frames)) for i in range(count)]


def _middlebury(count: int, frames: int) -> list[FrameSequence]:
    from depth_ros.data.middlebury import MiddleburyMotorcycle

    return [MiddleburyMotorcycle()]


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family("corridor/room", "the street and room generators at 128x96, 80 deg (seeds 1002+)", _street_and_room),
        Family("objects", f"the objects generator at test seeds {OBJECTS_TEST_SEEDS}+, 320x240 pixels", _objects),
        Family(
            "corridor 640x480", "streets, RealSense-like camera (58 deg, centre off by 9, -6 px; seeds 3000+)",
            _other_camera("corridor", 640, 480, 58.0, (9.0, -6.0)),
        ),
        Family(
            "room 848x480", "rooms, 16:9 camera (100 deg, centre off by -20, 12 px; seeds 3000+)",
            _other_camera("room", 848, 480, 100.0, (-20.0, 12.0)),
        ),
        Family("planar photos", "real photographs on 1-3 planes, 640x480 camera", _planar_photos),
        Family("middlebury", "Middlebury 2014 Motorcycle, a real stereo pair, measured depth", _middlebury),
    )
}  # fmt: skip


def run_sequence(pipeline: DepthPipeline, sequence: FrameSequence, result: ModelResult) -> dict[int, np.ndarray]:
    """Feed every frame of ``sequence`` to ``pipeline`` in order and evaluate each output with ground truth
    into ``result``. Returns the depth of each frame that had an output, by index."""
    outputs = {}
    for index in range(len(sequence)):
        frame = sequence[index]
        try:
            output = pipeline.process(frame.rgb, frame.camera, frame.stamp_ns, frame.T_world_cam)
        except FrameSkipped as skipped:
            result.skip(skipped.reason)
            continue
        outputs[index] = output.depth
        if frame.depth is not None:
            result.add(Prediction.from_result(output), GroundTruth(frame.stamp_ns, frame.depth, frame.camera))
    return outputs


class ScaledOdometryEngine:
    """An MVDepthNet engine that sees every ``T_meas_ref`` translation multiplied by ``scale`` (the odometry of a
    world ``scale`` times as large, the same images); everything else is ``engine``'s."""

    def __init__(self, engine: DepthEngine, scale: float):
        self.engine = engine
        self.metadata = engine.metadata
        self.scale = scale

    def infer(self, reference: np.ndarray, measurements: np.ndarray, T_meas_ref: np.ndarray, K: np.ndarray):
        scaled = np.array(T_meas_ref, dtype=np.float64)
        scaled[..., :3, 3] *= self.scale
        return self.engine.infer(reference=reference, measurements=measurements, T_meas_ref=scaled, K=K)


def median_ratio(depth: np.ndarray, reference: np.ndarray) -> float:
    """median(depth) / median(reference) over the pixels where both are finite (NaN when there is none)."""
    both = np.isfinite(depth) & np.isfinite(reference)
    return float(np.median(depth[both]) / np.median(reference[both])) if both.any() else float("nan")


def odometry_scale_response(
    engine: DepthEngine, sequences: list[FrameSequence], scales: tuple[float, ...] = (0.5, 2.0)
) -> dict[float, float]:
    """For each ``s`` in ``scales``: the median over frames of ``median(depth at s) / median(depth at 1)``, where
    ``depth at s`` comes from the node's multi-view pipeline on :class:`ScaledOdometryEngine` ``(engine, s)``.
    A network that triangulates answers about ``s``; one that ignores the poses answers 1."""
    ratios: dict[float, list[float]] = {s: [] for s in scales}
    for sequence in sequences:
        runs = {
            s: run_sequence(MultiViewDepthPipeline(ScaledOdometryEngine(engine, s)), sequence, ModelResult("scaled"))
            for s in (1.0, *scales)
        }
        for s in scales:
            ratios[s] += [median_ratio(runs[s][i], runs[1.0][i]) for i in runs[1.0] if i in runs[s]]
    return {s: float(np.nanmedian(values)) if values else float("nan") for s, values in ratios.items()}
