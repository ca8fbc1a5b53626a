"""Predicted depth against ground truth, frame by frame, into one result per model.

What the bag replay (:mod:`~depth_ros.eval.replay`) and a live evaluation share: a :class:`Prediction` (depth and
its camera, from a pipeline's :class:`~depth_ros.pipeline.frame.DepthResult` or from a node's ``depth/image`` and
``depth/camera_info``) is compared with the :class:`GroundTruth` of the same stamp by :meth:`ModelResult.add`,
and :func:`evaluate_predictions` does that for a whole set of predictions.

Per frame (Monodepth2's evaluation, :func:`~depth_ros.eval.metrics.depth_metrics`):

1. the prediction is upsampled to the ground truth's resolution with bilinear interpolation (``cv2.resize``,
   whose pixel mapping is the one :meth:`PinholeCamera.resized <depth_ros.geometry.PinholeCamera.resized>`
   describes; Monodepth2 interpolates disparity, we interpolate depth, as the pipelines publish it);
2. a pixel is evaluated where the ground truth lies inside ``(min_depth, max_depth)`` (NaN, inf and 0 do not)
   and the upsampled prediction is positive (NaN: no estimate); ``coverage`` is the fraction of the valid
   ground-truth pixels that have a prediction;
3. the metrics are computed raw (the prediction clamped to ``[min_depth, max_depth]``) and with per-image median
   scaling, and the per-pixel ``abs_rel`` is summed into log-spaced ground-truth depth bins.

Frames that cannot be evaluated are counted by reason in :attr:`ModelResult.skipped`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

import cv2
import numpy as np

from depth_ros.errors import DepthRosError
from depth_ros.eval.metrics import average_metrics, depth_metrics, garg_crop
from depth_ros.geometry import PinholeCamera
from depth_ros.pipeline.frame import DepthResult, FrameSkipped

NO_GROUND_TRUTH = "no ground truth"
NO_VALID_PIXELS = "no valid ground-truth pixel"
NO_PREDICTION_AT_PIXELS = "no prediction at the valid ground-truth pixels"
NO_PREDICTION = "no prediction at the ground-truth stamp"
DEPTH_BINS = 20  # log-spaced ground-truth depth bins between min_depth and max_depth
EXAMPLES = 4  # example frames kept for figures

T = TypeVar("T")
Scaling = Literal["raw", "scaled"]
SCALINGS: tuple[Scaling, ...] = ("raw", "scaled")


class EvalError(DepthRosError):
    """An evaluation that cannot be done as asked (settings, predictions of another camera, nothing to evaluate)."""


@dataclass(frozen=True)
class EvalSettings:
    """Depth caps of the evaluation, metres: ground truth outside ``(min_depth, max_depth)`` is not evaluated and
    predictions are clamped to ``[min_depth, max_depth]`` (Monodepth2: 1e-3 and 80 on KITTI). With
    ``garg_crop`` only the pixels inside :func:`~depth_ros.eval.metrics.garg_crop` are evaluated (the Eigen
    split protocol of Monodepth2 and its peers on KITTI)."""

    min_depth: float = 0.1
    max_depth: float = 80.0
    garg_crop: bool = False

    def __post_init__(self) -> None:
        if not (np.isfinite(self.max_depth) and 0 < self.min_depth < self.max_depth):
            raise EvalError(f"need 0 < min_depth < max_depth (finite), got {self.min_depth} and {self.max_depth}")


DEFAULT_SETTINGS = EvalSettings()  # the defaults, as one shared value (an argument default must not be a call)


@dataclass(frozen=True)
class Prediction:
    """One predicted depth image.

    Attributes:
        depth: (h, w) float32 metres along the optical axis; NaN (or <= 0) = no estimate.
        camera: intrinsics of ``depth``: the ground truth's camera resized to ``w x h`` (same field of view).
        latency_s: seconds from image to depth (the pipeline's stages), None when unknown.
    """

    depth: np.ndarray
    camera: PinholeCamera
    latency_s: float | None = None

    @classmethod
    def from_result(cls, result: DepthResult) -> Prediction:
        """The prediction of a pipeline's result; the latency is the sum of its stage timings."""
        return cls(result.depth, result.camera, float(sum(result.timings.values())))


@dataclass(frozen=True)
class GroundTruth:
    """Ground-truth depth of one image.

    Attributes:
        stamp_ns: the image's stamp, integer nanoseconds.
        depth: (H, W) float32 metres along the optical axis; NaN, inf and values <= 0 are invalid.
        camera: intrinsics of ``depth`` (and of ``rgb``).
        rgb: (H, W, 3) uint8 RGB of the image, for figures; None when not at hand.
    """

    stamp_ns: int
    depth: np.ndarray
    camera: PinholeCamera
    rgb: np.ndarray | None = None


@dataclass(frozen=True)
class FrameRecord:
    """The evaluation of one frame.

    Attributes:
        stamp_ns: the image's stamp, integer nanoseconds.
        raw: :func:`~depth_ros.eval.metrics.depth_metrics` of the prediction as it is (without ``ratio``).
        scaled: the same with per-image median scaling; ``ratio`` is the factor applied.
        latency_s: the prediction's latency in seconds, None when unknown.
        pixels: ground-truth pixels evaluated.
        coverage: ``pixels`` over the valid ground-truth pixels (the rest had no prediction), in [0, 1].
    """

    stamp_ns: int
    raw: dict[str, float]
    scaled: dict[str, float]
    latency_s: float | None
    pixels: int
    coverage: float


@dataclass(frozen=True)
class Example:
    """One evaluated frame with its images, for figures.

    Attributes:
        truth: the ground truth (with the RGB image when known).
        prediction: the prediction as the pipeline gave it (network resolution).
        depth: (H, W) float32 metres, the prediction upsampled to the ground truth's resolution (not scaled).
        record: the frame's metrics (``record.scaled["ratio"]`` is its median-scaling factor).
    """

    truth: GroundTruth
    prediction: Prediction
    depth: np.ndarray
    record: FrameRecord


@dataclass
class DepthBins:
    """Per-pixel ``abs_rel`` summed by ground-truth depth, raw and median-scaled.

    Attributes:
        edges: (B + 1,) bin edges in metres, increasing.
        pixels: (B,) evaluated pixels per bin.
        raw_sum, scaled_sum: (B,) sums of ``|g - p| / g`` per bin.
    """

    edges: np.ndarray
    pixels: np.ndarray = field(init=False)
    raw_sum: np.ndarray = field(init=False)
    scaled_sum: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        bins = len(self.edges) - 1
        self.pixels = np.zeros(bins, np.int64)
        self.raw_sum = np.zeros(bins)
        self.scaled_sum = np.zeros(bins)

    @classmethod
    def log_spaced(cls, settings: EvalSettings, bins: int = DEPTH_BINS) -> DepthBins:
        """``bins`` bins with log-spaced edges from ``min_depth`` to ``max_depth``."""
        return cls(np.geomspace(settings.min_depth, settings.max_depth, bins + 1))

    def add(self, truth: np.ndarray, raw: np.ndarray, scaled: np.ndarray) -> None:
        """Add pixels: (N,) ground truth and the (N,) clamped raw and median-scaled predictions, metres."""
        index = np.clip(np.searchsorted(self.edges, truth, side="right") - 1, 0, len(self.pixels) - 1)
        bins = len(self.pixels)
        self.pixels += np.bincount(index, minlength=bins)
        self.raw_sum += np.bincount(index, np.abs(truth - raw) / truth, minlength=bins)
        self.scaled_sum += np.bincount(index, np.abs(truth - scaled) / truth, minlength=bins)

    def mean(self, kind: Scaling) -> np.ndarray:
        """(B,) mean ``abs_rel`` per bin, NaN for empty bins."""
        sums = self.raw_sum if kind == "raw" else self.scaled_sum
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.pixels > 0, sums / np.maximum(self.pixels, 1), np.nan)


def upsample(prediction: Prediction, camera: PinholeCamera) -> np.ndarray:
    """The prediction's depth at ``camera``'s resolution, (H, W) float32 metres, bilinear (``cv2.resize``).

    Raises:
        EvalError: ``prediction.depth`` is not the size of its camera, or its camera is not ``camera`` resized
            (another field of view: a crop, another camera).
    """
    depth, own = prediction.depth, prediction.camera
    if depth.shape != (own.height, own.width):
        raise EvalError(
            f"prediction depth is {depth.shape[1]}x{depth.shape[0]} but its camera is {own.width}x{own.height}"
        )
    expected = camera.resized(own.width, own.height)
    ours = np.array([own.fx, own.fy, own.cx, own.cy])
    theirs = np.array([expected.fx, expected.fy, expected.cx, expected.cy])
    if not np.allclose(ours, theirs, rtol=1e-5, atol=1e-3):
        raise EvalError(
            f"the prediction's camera (fx, fy, cx, cy = {np.round(ours, 3).tolist()} at {own.width}x{own.height}) "
            f"is not the ground truth's resized to that size ({np.round(theirs, 3).tolist()}): evaluate depth of "
            "the images the ground truth belongs to, with the camera_info published beside it"
        )
    depth = np.asarray(depth, dtype=np.float32)
    if (own.width, own.height) == (camera.width, camera.height):
        return depth
    return cv2.resize(depth, (camera.width, camera.height), interpolation=cv2.INTER_LINEAR)


def _pixel_masks(gt: np.ndarray, depth: np.ndarray, settings: EvalSettings) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) bool masks of the valid ground truth (inside the caps; NaN and inf fail both comparisons) and of
    the evaluated pixels (valid ground truth with a positive prediction ``depth``)."""
    valid_truth = (gt > settings.min_depth) & (gt < settings.max_depth)
    if settings.garg_crop:
        inside = np.zeros_like(valid_truth)
        inside[garg_crop(*gt.shape)] = True
        valid_truth &= inside
    return valid_truth, valid_truth & (depth > 0)


def evaluate_frame(prediction: Prediction, truth: GroundTruth, settings: EvalSettings) -> Example:
    """Metrics of one prediction against its ground truth (see the module docstring).

    Returns:
        The frame's record, with the upsampled prediction and the inputs.

    Raises:
        FrameSkipped: ``no valid ground-truth pixel`` (none inside the caps) or ``no prediction at the valid
            ground-truth pixels``.
        EvalError: the prediction is not of the ground truth's camera (see :func:`upsample`).
    """
    depth = upsample(prediction, truth.camera)
    gt = np.asarray(truth.depth, dtype=np.float32)
    if gt.shape != depth.shape:
        raise EvalError(f"ground truth is {gt.shape[1]}x{gt.shape[0]}, its camera {depth.shape[1]}x{depth.shape[0]}")
    valid_truth, valid = _pixel_masks(gt, depth, settings)
    if not valid.any():
        reason = NO_PREDICTION_AT_PIXELS if valid_truth.any() else NO_VALID_PIXELS
        finite = int(np.isfinite(gt).sum())
        raise FrameSkipped(
            reason,
            f"{int(valid_truth.sum())} of {gt.size} ground-truth pixels inside ({settings.min_depth}, "
            f"{settings.max_depth}) m ({finite} finite) at {truth.stamp_ns} ns",
        )
    evaluated = np.where(valid, gt, np.float32(np.nan))
    raw = depth_metrics(depth, evaluated, settings.min_depth, settings.max_depth)
    raw.pop("ratio")
    scaled = depth_metrics(depth, evaluated, settings.min_depth, settings.max_depth, median_scaling=True)
    pixels = int(valid.sum())
    record = FrameRecord(truth.stamp_ns, raw, scaled, prediction.latency_s, pixels, pixels / int(valid_truth.sum()))
    return Example(truth, prediction, depth, record)


@dataclass
class ModelResult:
    """Everything measured of one model (or one way of running it: offline, live) over a recording.

    Attributes:
        name: a short label (``mono``, ``multiview``, ``live mono``), unique within a report.
        settings: the depth caps.
        engine: how the model ran (:meth:`DepthEngine.describe <depth_ros.runtime.engine.DepthEngine.describe>`).
        metric: whether its raw depth claims metres (figures show median-scaled depth for models that do not).
        frames: one record per evaluated frame, in the order added.
        skipped: frames not evaluated, by reason (pipeline skips, no ground truth, no valid pixel, ...).
        bins: ``abs_rel`` by ground-truth depth over every evaluated pixel.
        examples: stamp -> frames kept for figures (filled by the caller, e.g. from :class:`EvenSample`).
    """

    name: str
    settings: EvalSettings = DEFAULT_SETTINGS
    engine: str = ""
    metric: bool = True
    frames: list[FrameRecord] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    bins: DepthBins = field(init=False)
    examples: dict[int, Example] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bins = DepthBins.log_spaced(self.settings)

    def skip(self, reason: str) -> None:
        """Count one frame not evaluated, for ``reason`` (a short, stable phrase)."""
        self.skipped[reason] += 1

    def add(self, prediction: Prediction, truth: GroundTruth) -> Example | None:
        """Evaluate one frame (:func:`evaluate_frame`) and add it; returns it, or None when it was skipped."""
        try:
            example = evaluate_frame(prediction, truth, self.settings)
        except FrameSkipped as skipped:
            self.skip(skipped.reason)
            return None
        record = example.record
        self.frames.append(record)
        _, valid = _pixel_masks(example.truth.depth, example.depth, self.settings)
        gt = example.truth.depth[valid].astype(np.float64)
        predicted = example.depth[valid].astype(np.float64)
        low, high = self.settings.min_depth, self.settings.max_depth
        self.bins.add(gt, np.clip(predicted, low, high), np.clip(predicted * record.scaled["ratio"], low, high))
        return example

    def keep_examples(self, examples: Sequence[Example]) -> None:
        """Keep ``examples`` (frames this result evaluated) for figures, by stamp."""
        self.examples.update({example.truth.stamp_ns: example for example in examples})

    def mean(self, kind: Scaling) -> dict[str, float] | None:
        """Mean of each metric over the evaluated frames (each frame weighs the same), None without any."""
        if not self.frames:
            return None
        return average_metrics([record.raw if kind == "raw" else record.scaled for record in self.frames])

    def latency_ms(self) -> tuple[float, float] | None:
        """Median and 90th percentile of the evaluated frames' latency in milliseconds, None when unknown."""
        latencies = [record.latency_s for record in self.frames if record.latency_s is not None]
        if not latencies:
            return None
        median, p90 = np.percentile(np.array(latencies) * 1e3, [50, 90])
        return float(median), float(p90)


class EvenSample(Generic[T]):
    """At most ``size`` evenly spaced items of a stream of unknown length, in O(size) memory.

    Every ``stride``-th item is kept; when more than ``2 size`` are kept, every other one is dropped and the
    stride doubles. :meth:`picked` chooses ``size`` of the kept ones, evenly spaced (centred in equal parts).
    """

    def __init__(self, size: int = EXAMPLES):
        self.size = size
        self.stride = 1
        self._seen = 0
        self._kept: list[T] = []

    def offer(self, item: T) -> None:
        """Consider the next item of the stream."""
        if self.size > 0 and self._seen % self.stride == 0:
            self._kept.append(item)
            if len(self._kept) > 2 * self.size:
                self._kept = self._kept[::2]
                self.stride *= 2
        self._seen += 1

    def picked(self) -> list[T]:
        """Up to ``size`` of the kept items, evenly spaced, in stream order."""
        kept = self._kept
        count = min(self.size, len(kept))
        return [kept[int((i + 0.5) * len(kept) / count)] for i in range(count)]


def evaluate_predictions(
    name: str,
    predictions: Mapping[int, Prediction],
    truths: Iterable[GroundTruth],
    settings: EvalSettings = DEFAULT_SETTINGS,
    *,
    engine: str = "",
    metric: bool = True,
    examples: int = EXAMPLES,
    example_stamps: Collection[int] | None = None,
) -> ModelResult:
    """Evaluate predictions given by stamp against the ground truth of the same stamps.

    The entry point for predictions made elsewhere (a live node's ``depth/image`` recorded while a bag plays):
    only the predictions are needed, the ground truth comes from the bag.

    Args:
        name: the result's label.
        predictions: image stamp (ns) -> its predicted depth and camera.
        truths: ground-truth frames (e.g. from :class:`~depth_ros.eval.ground_truth.GroundTruthSource`), any
            order; each is read once.
        settings: depth caps.
        engine, metric: see :class:`ModelResult`.
        examples: evaluated frames to keep for figures, evenly spaced.
        example_stamps: keep the frames of these stamps for figures instead (e.g. those another result of the
            same report keeps, so that figures compare like with like).

    Returns:
        The result; ground-truth frames without a prediction count as ``no prediction at the ground-truth
        stamp``, predictions without ground truth as ``no ground truth``.
    """
    result = ModelResult(name, settings, engine, metric)
    sample: EvenSample[Example] = EvenSample(examples)
    seen: set[int] = set()
    for truth in truths:
        seen.add(truth.stamp_ns)
        prediction = predictions.get(truth.stamp_ns)
        if prediction is None:
            result.skip(NO_PREDICTION)
            continue
        example = result.add(prediction, truth)
        if example is not None and example_stamps is None:
            sample.offer(example)
        elif example is not None and truth.stamp_ns in example_stamps:
            result.keep_examples([example])
    for _ in set(predictions) - seen:
        result.skip(NO_GROUND_TRUTH)
    if example_stamps is None:
        result.keep_examples(sample.picked())
    return result
