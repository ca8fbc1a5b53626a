"""Replay a bag through the depth pipelines the nodes run, and evaluate every frame against ground truth.

Each frame of a :class:`~depth_ros.data.bag_reader.BagReader` goes, in bag order, through every model's pipeline
(:class:`~depth_ros.pipeline.mono.MonoDepthPipeline`, :class:`~depth_ros.pipeline.multiview.MultiViewDepthPipeline`)
with the image, its camera, its stamp and the camera pose from the bag's odometry, exactly as the nodes call
them; frames without ground truth still go through (keyframes and scale windows must see every frame, as live).
The predictions are evaluated by :meth:`ModelResult.add <depth_ros.eval.evaluation.ModelResult.add>`; frames a
pipeline skips (:class:`~depth_ros.pipeline.frame.FrameSkipped`) are counted by its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm import tqdm

from depth_ros.data.bag_reader import BagReader
from depth_ros.errors import DepthRosError
from depth_ros.eval.evaluation import (
    DEFAULT_SETTINGS,
    EXAMPLES,
    EvalSettings,
    EvenSample,
    Example,
    ModelResult,
    Prediction,
)
from depth_ros.eval.ground_truth import GroundTruthSource
from depth_ros.geometry import PinholeCamera
from depth_ros.pipeline.frame import DepthResult, FrameSkipped
from depth_ros.pipeline.mono import MonoDepthPipeline, MonoSettings
from depth_ros.pipeline.multiview import MultiViewDepthPipeline
from depth_ros.resources import shipped_weights
from depth_ros.runtime.engine import Backend, Device, open_engine

MODELS = ("mono", "multiview")
ARCHITECTURES = {"mono": "monodepth2", "multiview": "mvdepthnet"}
NO_POSE = "no camera pose at the image stamp"


class DepthPipeline(Protocol):
    """What the replay calls: the ``process`` of the pipelines in :mod:`depth_ros.pipeline`, given the (4, 4)
    camera pose or None (only pipelines of models without :attr:`ReplayModel.needs_pose` get None)."""

    def process(self, rgb: np.ndarray, camera: PinholeCamera, stamp_ns: int, T_world_cam: Any) -> DepthResult: ...


@dataclass
class ReplayModel:
    """One model to replay.

    Attributes:
        name: its label in reports (``mono``, ``multiview``).
        pipeline: the pipeline that makes its depth.
        engine: how it runs (``DepthEngine.describe()``).
        metric: whether its raw depth claims metres.
        needs_pose: frames without a camera pose are skipped (``no camera pose at the image stamp``) instead of
            being given to the pipeline.
    """

    name: str
    pipeline: DepthPipeline
    engine: str
    metric: bool = True
    needs_pose: bool = False


def open_model(
    name: str,
    weights: Path | None = None,
    backend: Backend = "auto",
    device: Device = "cpu",
    mono_settings: MonoSettings | None = None,
    label: str = "",
    pose_model: Path | None = None,
) -> ReplayModel:
    """The pipeline a node of ``name`` runs, on ``weights`` (default: the shipped ones), warmed up.

    Args:
        name: ``mono`` (Monodepth2 with ``mono_settings``; odometry mode loads the pose network that goes with
            ``weights``: :func:`~depth_ros.models.checkpoints.pose_network_for`) or ``multiview`` (MVDepthNet with
            the nodes' default keyframe settings).
        weights: a checkpoint, ONNX file or TensorRT engine (see :func:`~depth_ros.runtime.engine.open_engine`).
        backend, device: see :func:`~depth_ros.runtime.engine.open_engine`.
        mono_settings: the scale mode of ``mono`` (default: ``relative``, as the node's default).
        label: its name in reports (default: ``name``).
        pose_model: odometry mode: the checkpoint holding the pose network (default: the one that goes with
            ``weights``), as the node's ``pose_model`` parameter.

    Raises:
        DepthRosError: an unknown name, a model file that cannot be opened, or a model of another architecture.
    """
    if name not in ARCHITECTURES:
        raise DepthRosError(f"unknown model {name!r}: expected one of {', '.join(MODELS)}")
    path = weights or shipped_weights(ARCHITECTURES[name])
    engine = open_engine(path, backend, device)
    engine.warmup(2)
    if name == "multiview":
        return ReplayModel(label or name, MultiViewDepthPipeline(engine), engine.describe(), needs_pose=True)
    mono_settings = mono_settings or MonoSettings()
    pose_network = None
    if mono_settings.scale_mode == "odometry":
        from depth_ros.models.checkpoints import named_pose_network, pose_network_for

        pose_network = named_pose_network(pose_model) if pose_model else pose_network_for(path)
    pipeline = MonoDepthPipeline(engine, mono_settings, pose_network)
    return ReplayModel(label or name, pipeline, engine.describe(), metric=pipeline.metric)


def replay(
    reader: BagReader,
    models: Sequence[ReplayModel],
    truth: GroundTruthSource,
    settings: EvalSettings = DEFAULT_SETTINGS,
    examples: int = EXAMPLES,
    progress: bool = True,
) -> list[ModelResult]:
    """Run every model over the bag's frames and evaluate each prediction (see the module docstring).

    Args:
        reader: the bag.
        models: the models, each with a fresh pipeline (the replay feeds it every frame from the first).
        truth: where ground truth comes from (:func:`~depth_ros.eval.ground_truth.open_ground_truth`).
        settings: depth caps.
        examples: frames kept for figures: evenly spaced among the frames the most models evaluated.
        progress: show a progress bar.

    Returns:
        One result per model, in the order of ``models``.
    """
    results = [ModelResult(model.name, settings, model.engine, model.metric) for model in models]
    # frames evaluated by n models, sampled separately so that examples show as many models as possible
    samples: dict[int, EvenSample[dict[str, Example]]] = {}
    names = "+".join(model.name for model in models)
    for frame in tqdm(reader, total=len(reader), desc=f"eval {names}", unit="frame", disable=not progress):
        ground_truth = truth.truth_for(frame)
        evaluated: dict[str, Example] = {}
        for model, result in zip(models, results, strict=True):
            if model.needs_pose and frame.T_world_cam is None:
                result.skip(NO_POSE)
                continue
            try:
                output = model.pipeline.process(frame.rgb, frame.camera, frame.stamp_ns, frame.T_world_cam)
            except FrameSkipped as skipped:
                result.skip(skipped.reason)
                continue
            if ground_truth is None:
                result.skip(truth.missing_reason)
                continue
            example = result.add(Prediction.from_result(output), ground_truth)
            if example is not None:
                evaluated[model.name] = example
        if evaluated:
            samples.setdefault(len(evaluated), EvenSample(examples)).offer(evaluated)
    if samples:
        for picked in samples[max(samples)].picked():
            for result in results:
                if result.name in picked:
                    result.keep_examples([picked[result.name]])
    return results
