"""One evaluation of a bag, offline (the pipelines) and/or live (the ROS nodes over DDS), and its report.

Shared by ``depth-ros eval`` and ``depth-ros demo``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from depth_ros.data.bag_reader import BagReader
from depth_ros.errors import BagError
from depth_ros.eval.evaluation import DEFAULT_SETTINGS, EXAMPLES, NO_PREDICTION, EvalError, EvalSettings, ModelResult
from depth_ros.eval.ground_truth import GroundTruthSource, ground_truths
from depth_ros.pipeline.mono import MonoSettings


@dataclass(frozen=True)
class ModelChoice:
    """One model to evaluate.

    Attributes:
        kind: ``mono`` (Monodepth2, ``mono_depth_node``) or ``multiview`` (MVDepthNet, ``multiview_depth_node``).
        weights: a checkpoint, ONNX file or TensorRT engine; None: the shipped weights.
        backend: as :func:`~depth_ros.runtime.engine.open_engine` takes it.
        label: its name in reports (unique within one).
        pose_model: ``mono`` with scale mode odometry: the checkpoint holding the pose network (None: the one
            :func:`~depth_ros.models.checkpoints.pose_network_for` finds for ``weights``).
    """

    kind: str
    weights: Path | None = None
    backend: str = "auto"
    label: str = ""
    pose_model: Path | None = None

    @property
    def name(self) -> str:
        return self.label or self.kind


def model_choices(
    kinds: tuple[str, ...], weights: dict[str, list[Path]], backends: list[str], pose_model: Path | None = None
) -> tuple[ModelChoice, ...]:
    """Every combination of kind, weights file (default: the shipped ones) and backend, labelled so that each
    is told apart: ``mono``, or ``mono model.onnx``, ``mono (pytorch)`` when there are several; the mono ones
    take ``pose_model``."""
    choices = []
    for kind in kinds:
        files: list[Path | None] = list(weights.get(kind) or [None])
        for path in files:
            for backend in backends:
                label = kind + (f" {path.name}" if len(files) > 1 and path else "")
                label += f" ({backend})" if len(backends) > 1 else ""
                choices.append(ModelChoice(kind, path, backend, label, pose_model if kind == "mono" else None))
    return tuple(choices)


@dataclass(frozen=True)
class EvalRequest:
    """What to evaluate and how.

    Attributes:
        models: the models (several of one kind are evaluated side by side).
        device: as :func:`~depth_ros.runtime.engine.open_engine` takes it.
        mono: the mono pipeline's (and node's) scale mode.
        settings: ground-truth depth caps.
        offline: replay the pipelines in this process.
        live: play the bag into the ROS nodes over DDS and evaluate what they publish.
        rate: live playback speed (None: as fast as the nodes keep up, no frame dropped for speed).
        examples: example frames per model in the report.
        progress: progress bars.
    """

    models: tuple[ModelChoice, ...]
    device: str = "cpu"
    mono: MonoSettings = field(default_factory=MonoSettings)
    settings: EvalSettings = DEFAULT_SETTINGS
    offline: bool = True
    live: bool = False
    rate: float | None = None
    examples: int = EXAMPLES
    progress: bool = True


def evaluate_bag(reader: BagReader, truth: GroundTruthSource, request: EvalRequest) -> list[ModelResult]:
    """Offline results (one per model), then live ones (``live <model>``), as requested."""
    from depth_ros.eval.replay import open_model, replay

    results: list[ModelResult] = []
    if request.offline:
        models = [
            open_model(m.kind, m.weights, m.backend, request.device, request.mono, m.name, m.pose_model)  # type: ignore[arg-type]
            for m in request.models
        ]
        results += replay(reader, models, truth, request.settings, request.examples, request.progress)
    if request.live:
        shown = {stamp for result in results for stamp in result.examples} or None  # the offline examples' frames
        results += _evaluate_live(reader, truth, request, shown)
    if not any(result.frames or result.skipped for result in results):
        issues = "; ".join(f"{issue}: {count}" for issue, count in sorted(reader.issues.items())) or "no image"
        raise BagError(
            f"no frame of {reader.path} could be read ({len(reader)} images on {reader.topics.image}): {issues}"
        )
    return results


def _evaluate_live(
    reader: BagReader, truth: GroundTruthSource, request: EvalRequest, example_stamps: set[int] | None
) -> list[ModelResult]:
    from depth_ros.eval.evaluation import evaluate_predictions

    try:
        from depth_ros.ros.live_replay import live_replay
    except ImportError as error:
        raise EvalError(f"live evaluation needs rclpy (a ROS 2 install or the ROS 2 wheels): {error}") from error
    runs = live_replay(reader, request.models, request.device, request.mono, request.rate, request.progress)
    results = []
    for run in runs:
        result = evaluate_predictions(
            run.name, run.predictions, ground_truths(reader, truth), request.settings,
            engine=run.engine, metric=run.metric, examples=request.examples, example_stamps=example_stamps,
        )  # fmt: skip
        result.skipped.pop(NO_PREDICTION, None)  # the node's own reasons say it precisely:
        result.skipped.update(run.unanswered)
        results.append(result)
    return results


def write_bag_report(out: Path, reader: BagReader, truth: GroundTruthSource, results: list[ModelResult]) -> Path:
    """``out/report.md`` (+ ``metrics.json`` and figures) with where the data came from."""
    from depth_ros.eval.report import write_report

    topics = reader.topics
    source = {
        "bag": str(reader.path),
        "ground_truth": truth.description,
        "images": len(reader),
        "camera": f"{reader.camera.width}x{reader.camera.height} on {topics.camera_info}",
        "camera_poses": f"{topics.odometry} with the camera extrinsic from {reader.extrinsic_source}",
        "bag_issues": dict(sorted(reader.issues.items())),
    }
    return write_report(out, results, source)


def print_summary(results: list[ModelResult], reader: BagReader, report: Path) -> None:
    """The one-screen table, what was skipped and why, and where the report is."""
    from depth_ros.eval.report import summary_table

    print(summary_table(results))
    for result in results:
        for reason, count in sorted(result.skipped.items()):
            print(f"note: {result.name}: {count} frames skipped: {reason}")
    for issue, count in sorted(reader.issues.items()):
        print(f"note: bag: {issue}: {count}")
    print(f"report: {report}")


def require_evaluated(results: list[ModelResult], out: Path) -> None:
    """Raise :class:`EvalError` (after the report is written) when no frame at all could be evaluated."""
    if not any(result.frames for result in results):
        reasons = "; ".join(
            f"{result.name}: " + ", ".join(f"{count} {reason}" for reason, count in result.skipped.items())
            for result in results
        )
        raise EvalError(f"no frame could be evaluated ({reasons}); the report in {out} says what was read")
