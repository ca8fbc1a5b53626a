"""Bag evaluation (depth_ros.eval: evaluation, lidar, ground_truth, replay, report, command).

Pins down:

* the ground truth as prediction scores zero error; ``k`` times it scores abs_rel = |k - 1| and the other raw
  metrics by their formulas, and zero error after median scaling; through the bag replay too;
* a prediction at another resolution of the same camera is upsampled (bilinear) to the ground truth's; one of
  another camera is refused; frames without valid pixels or without prediction are counted by reason;
* 16UC1 millimetres and 32FC1 metres of the same depth give the same numbers;
* LiDAR points land on the pixel their projection rounds to, at their z; the nearest wins; points behind the
  camera are dropped; a bag's scans become ground truth through /tf_static or an explicit extrinsic;
* a bag without the image topic, without ground truth, truncated, or with a camera_info of another size gives
  one ``error:`` line naming what is missing and what was found;
* ``depth-ros eval --model both`` on the sample bag writes metrics.json (both models, finite numbers),
  report.md and the PNGs it shows.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from conftest import copy_truncated

from depth_ros.cli import main
from depth_ros.data.bag_layout import TYPESTORE, BagTopics, FrameNames
from depth_ros.data.bag_reader import BagReader
from depth_ros.data.bag_writer import BagWriter, camera_info_message, header, image_message, transform_stamped
from depth_ros.data.sample import Frame
from depth_ros.errors import BagError
from depth_ros.eval.evaluation import (
    NO_GROUND_TRUTH,
    NO_PREDICTION,
    NO_PREDICTION_AT_PIXELS,
    NO_VALID_PIXELS,
    EvalError,
    EvalSettings,
    EvenSample,
    GroundTruth,
    ModelResult,
    Prediction,
    evaluate_frame,
    evaluate_predictions,
)
from depth_ros.eval.ground_truth import ground_truths, open_ground_truth
from depth_ros.eval.lidar import lidar_depth_image, point_cloud_xyz
from depth_ros.eval.metrics import garg_crop
from depth_ros.eval.replay import ReplayModel, replay
from depth_ros.geometry import PinholeCamera, axis_angle_to_matrix, backproject, invert_transform, make_transform
from depth_ros.pipeline.frame import DepthResult

SETTINGS = EvalSettings(min_depth=0.1, max_depth=80.0)
CAMERA = PinholeCamera(16, 12, 14.0, 14.0, 7.5, 5.5)
K = 0.7  # 1/K = 1.43: outside 1.25, inside 1.25^2; K times the sample's depths stays inside the caps
_T = TYPESTORE.types


def _ground_truth() -> np.ndarray:
    """(12, 16) float32 depths of 0.5..40 m with every kind of invalid pixel."""
    depth = np.random.default_rng(0).uniform(0.5, 40.0, (12, 16)).astype(np.float32)
    depth[0, :4] = [np.nan, np.inf, 0.0, -1.0]
    depth[1, :2] = [0.05, 90.0]  # outside the caps
    return depth


def _expected_raw(gt: np.ndarray, k: float) -> dict[str, float]:
    """The raw metrics of ``k * gt`` by their formulas, over the valid pixels (no clamping happens)."""
    g = gt[(gt > SETTINGS.min_depth) & (gt < SETTINGS.max_depth)].astype(np.float64)
    within = [float(max(k, 1 / k) < 1.25**n) for n in (1, 2, 3)]
    return {
        "abs_rel": abs(k - 1),
        "sq_rel": (k - 1) ** 2 * g.mean(),
        "rmse": abs(k - 1) * math.sqrt((g**2).mean()),
        "rmse_log": abs(math.log(k)),
        "a1": within[0],
        "a2": within[1],
        "a3": within[2],
        "l1_inv": abs(1 / k - 1) * (1 / g).mean(),
        "sc_inv": 0.0,
    }


def _assert_metrics(actual: dict[str, float], expected: dict[str, float]) -> None:
    for name, value in expected.items():
        assert actual[name] == pytest.approx(value, rel=1e-5, abs=1e-5), name


def _assert_zero_error(metrics: dict[str, float]) -> None:
    zero = {"abs_rel": 0.0, "sq_rel": 0.0, "rmse": 0.0, "rmse_log": 0.0, "l1_inv": 0.0, "sc_inv": 0.0}
    _assert_metrics(metrics, {**zero, "a1": 1.0, "a2": 1.0, "a3": 1.0})


def test_garg_crop_evaluates_only_the_pixels_inside_it() -> None:
    """KITTI's Eigen protocol: outside Garg's crop (the sky rows, the image borders) errors do not count."""
    camera = PinholeCamera.from_fov(124, 38, 80.0)  # KITTI's 1242x375 shape, scaled down
    gt = np.full((38, 124), 10.0, np.float32)
    predicted = np.full_like(gt, 10.0)
    rows, cols = garg_crop(*gt.shape)
    outside = np.ones(gt.shape, bool)
    outside[rows, cols] = False
    predicted[outside] = 40.0
    cropped = EvalSettings(1e-3, 80.0, garg_crop=True)
    record = evaluate_frame(Prediction(predicted, camera), GroundTruth(1, gt, camera), cropped).record
    _assert_zero_error(record.raw)
    assert record.pixels == (rows.stop - rows.start) * (cols.stop - cols.start)
    whole = evaluate_frame(Prediction(predicted, camera), GroundTruth(1, gt, camera), SETTINGS).record
    assert whole.raw["abs_rel"] == pytest.approx(3.0 * outside.mean(), rel=1e-5)


def _scaled_prediction(gt: np.ndarray, k: float, camera: PinholeCamera) -> Prediction:
    return Prediction(np.where(np.isfinite(gt), gt * np.float32(k), np.nan).astype(np.float32), camera, 0.01)


# ------------------------------------------------------------------------------------------ evaluation


def test_ground_truth_as_prediction_has_zero_error() -> None:
    gt = _ground_truth()
    example = evaluate_frame(Prediction(gt.copy(), CAMERA), GroundTruth(1, gt, CAMERA), SETTINGS)
    _assert_zero_error(example.record.raw)
    _assert_zero_error(example.record.scaled)
    assert example.record.scaled["ratio"] == pytest.approx(1.0)
    assert example.record.pixels == gt.size - 6 and example.record.coverage == 1.0


def test_constant_factor_gives_abs_rel_k_minus_one_raw_and_zero_median_scaled() -> None:
    gt = _ground_truth()
    record = evaluate_frame(_scaled_prediction(gt, K, CAMERA), GroundTruth(1, gt, CAMERA), SETTINGS).record
    _assert_metrics(record.raw, _expected_raw(gt, K))
    assert record.raw["abs_rel"] == pytest.approx(0.3) and record.raw["a1"] == 0.0 and record.raw["a2"] == 1.0
    _assert_zero_error(record.scaled)
    assert record.scaled["ratio"] == pytest.approx(1 / K)
    assert "ratio" not in record.raw and record.latency_s == 0.01


def test_prediction_at_network_size_is_upsampled_bilinearly() -> None:
    big = PinholeCamera(32, 24, 28.0, 28.0, 15.5, 11.5)
    small = big.resized(16, 12)
    gt = np.full((24, 32), 6.0, np.float32)
    record = evaluate_frame(Prediction(np.full((12, 16), 3.0, np.float32), small), GroundTruth(1, gt, big), SETTINGS)
    assert record.record.raw["abs_rel"] == pytest.approx(0.5)
    assert record.depth.shape == (24, 32)
    ramp = np.tile(np.arange(16, dtype=np.float32) + 1, (12, 1))  # bilinear keeps a linear ramp linear inside
    upsampled = evaluate_frame(Prediction(ramp, small), GroundTruth(1, gt, big), SETTINGS).depth
    np.testing.assert_allclose(upsampled[5, 1:-1], (np.arange(1, 31) + 0.5) / 2 + 0.5, rtol=1e-5)


def test_prediction_of_another_camera_is_refused() -> None:
    gt = _ground_truth()
    shifted = dataclasses.replace(CAMERA, cx=CAMERA.cx + 2)
    with pytest.raises(EvalError, match="not the ground truth's resized"):
        evaluate_frame(Prediction(gt, shifted), GroundTruth(1, gt, CAMERA), SETTINGS)


def test_frames_that_cannot_be_evaluated_are_counted_by_reason() -> None:
    gt = _ground_truth()
    result = ModelResult("m", SETTINGS)
    assert result.add(Prediction(gt, CAMERA), GroundTruth(1, np.full_like(gt, np.nan), CAMERA)) is None
    assert result.add(Prediction(np.full_like(gt, np.nan), CAMERA), GroundTruth(2, gt, CAMERA)) is None
    half = gt.copy()
    half[:6] = np.nan  # no prediction there: evaluated on the rest, coverage < 1
    assert result.add(Prediction(half, CAMERA), GroundTruth(3, gt, CAMERA)) is not None
    assert result.skipped == {NO_VALID_PIXELS: 1, NO_PREDICTION_AT_PIXELS: 1}
    assert len(result.frames) == 1 and 0.4 < result.frames[0].coverage < 0.6
    assert result.bins.pixels.sum() == result.frames[0].pixels


def test_evaluate_predictions_matches_stamps_and_counts_the_rest() -> None:
    gt = _ground_truth()
    truths = [GroundTruth(stamp, gt, CAMERA) for stamp in range(10)]
    predictions = {stamp: _scaled_prediction(gt, K, CAMERA) for stamp in [*range(2, 10), 42]}
    result = evaluate_predictions("live", predictions, truths, SETTINGS, engine="node", examples=3)
    assert [record.stamp_ns for record in result.frames] == list(range(2, 10))
    assert result.skipped == {NO_PREDICTION: 2, NO_GROUND_TRUTH: 1}
    _assert_metrics(result.mean("raw"), _expected_raw(gt, K))
    assert result.latency_ms() == pytest.approx((10.0, 10.0))
    assert len(result.examples) == 3 and set(result.examples) <= set(range(2, 10))


def test_even_sample_keeps_evenly_spaced_items_of_any_stream() -> None:
    for length in (1, 3, 10, 97, 1000):
        sample: EvenSample[int] = EvenSample(4)
        for item in range(length):
            sample.offer(item)
        picked = sample.picked()
        assert len(picked) == min(4, length) and picked == sorted(picked)
        assert len(sample._kept) <= 8
        if length >= 97:  # one pick in each quarter of the stream
            assert [item * 4 // length for item in picked] == [0, 1, 2, 3]


def test_settings_must_be_ordered() -> None:
    with pytest.raises(EvalError, match="min_depth < max_depth"):
        EvalSettings(5.0, 1.0)


# ------------------------------------------------------------------------------------------ LiDAR


def _cloud_message(points: np.ndarray, stamp_ns: int, frame_id: str, big_endian: bool = False):
    """A PointCloud2 of (N, 3) points with an intensity field and 4 bytes of padding (point_step 20)."""
    order = ">" if big_endian else "<"
    dtype = np.dtype({"names": ["x", "y", "z", "i"], "formats": [order + "f4"] * 4, "offsets": [0, 4, 8, 12],
                      "itemsize": 20})  # fmt: skip
    cloud = np.zeros(len(points), dtype)
    cloud["x"], cloud["y"], cloud["z"], cloud["i"] = points[:, 0], points[:, 1], points[:, 2], 7.0
    field = _T["sensor_msgs/msg/PointField"]
    fields = [field(name=name, offset=4 * i, datatype=7, count=1) for i, name in enumerate(["x", "y", "z", "i"])]
    return _T["sensor_msgs/msg/PointCloud2"](
        header=header(stamp_ns, frame_id), height=1, width=len(points), fields=fields, is_bigendian=big_endian,
        point_step=20, row_step=20 * len(points), data=cloud.view(np.uint8).copy(), is_dense=False,
    )  # fmt: skip


@pytest.mark.parametrize("big_endian", [False, True])
def test_point_cloud_xyz_reads_fields_by_offset_and_drops_non_finite(big_endian: bool) -> None:
    points = np.array([[1, 2, 3], [np.nan, 0, 0], [-4, 5.5, 6]], np.float32)
    xyz = point_cloud_xyz(_cloud_message(points, 0, "lidar", big_endian))
    np.testing.assert_array_equal(xyz, points[[0, 2]])
    no_z = _cloud_message(points, 0, "lidar")
    no_z.fields = no_z.fields[:2]
    with pytest.raises(BagError, match="float32 x, y and z"):
        point_cloud_xyz(no_z)


def test_known_point_lands_on_its_pixel_at_its_depth() -> None:
    camera = PinholeCamera(16, 12, 10.0, 10.0, 7.5, 5.5)
    # pixel (u, v) = (10 x / z + 7.5, 10 y / z + 5.5): (2.1, 0.6, 5) -> (11.7, 6.7) rounds to column 12, row 7
    points_cam = np.array([[2.1, 0.6, 5.0], [4.2, 1.2, 10.0], [0.0, 0.0, -3.0], [100.0, 0.0, 1.0], [-0.7, 0.1, 2.0]])
    T_cam_lidar = make_transform(axis_angle_to_matrix(np.array([0.3, -0.2, 0.1])), np.array([0.1, -0.2, 0.3]))
    points_lidar = (invert_transform(T_cam_lidar)[:3, :3] @ points_cam.T).T + invert_transform(T_cam_lidar)[:3, 3]
    depth = lidar_depth_image(points_lidar, T_cam_lidar, camera)
    assert depth.shape == (12, 16) and depth.dtype == np.float32
    assert depth[7, 12] == pytest.approx(5.0)  # the second point is on the same ray, farther: the nearer wins
    assert depth[6, 4] == pytest.approx(2.0)  # (-0.7, 0.1, 2) -> (4.0, 6.0): column 4, row 6
    assert np.isfinite(depth).sum() == 2  # behind the camera and outside the image: dropped


def _write_lidar_bag(
    path: Path, frames: Sequence[Frame], T_base_cam: np.ndarray, T_cam_lidar: np.ndarray, with_tf: bool
) -> tuple[Path, dict[int, np.ndarray]]:
    """Images and camera_info of ``frames`` and, 10 ms after each, a LiDAR scan holding the ground-truth points
    of every 5th pixel (in the LiDAR frame) plus one point behind the camera; /tf_static with base -> camera and
    base -> lidar when ``with_tf``. Returns the bag and, by image stamp, the expected (H, W) depth."""
    topics = BagTopics(depth=None, lidar="/lidar/points")
    names = FrameNames()
    expected = {}
    T_lidar_cam = invert_transform(T_cam_lidar)
    with BagWriter(path, "mcap", topics) as bag:
        if with_tf:
            stamp = frames[0].stamp_ns
            tfs = [transform_stamped(T_base_cam, stamp, names.base, names.camera),
                   transform_stamped(T_base_cam @ T_cam_lidar, stamp, names.base, "lidar")]  # fmt: skip
            bag.write(topics.tf_static, _T["tf2_msgs/msg/TFMessage"](transforms=tfs), stamp, latched=True)
        for frame in frames:
            bag.write_frame(dataclasses.replace(frame, frame_id=names.camera))
            keep = np.zeros(frame.depth.shape, bool)
            keep[::5, ::5] = True
            keep &= np.isfinite(frame.depth)
            points_cam = backproject(frame.depth.astype(np.float64), frame.camera.K)[keep]
            points_cam = np.vstack([points_cam, [[0.0, 0.0, -2.0]]])
            points = (T_lidar_cam[:3, :3] @ points_cam.T).T + T_lidar_cam[:3, 3]
            scan_stamp = frame.stamp_ns + 10_000_000
            bag.write(topics.lidar, _cloud_message(points.astype(np.float32), scan_stamp, "lidar"), scan_stamp)
            expected[frame.stamp_ns] = np.where(keep, frame.depth, np.nan)
    return path, expected


T_CAM_LIDAR = make_transform(  # a LiDAR 10 cm above and 20 cm behind the camera, x forward, z up
    np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]]), np.array([0.0, -0.1, -0.2])
)


@pytest.mark.parametrize("with_tf", [True, False])
def test_lidar_scans_become_ground_truth_at_the_right_pixels(frames, sequence, tmp_path: Path, with_tf: bool) -> None:
    bag, expected = _write_lidar_bag(tmp_path / "lidar", frames[:4], sequence.T_base_cam, T_CAM_LIDAR, with_tf)
    reader = BagReader(bag, BagTopics(depth=None, lidar="/lidar/points"))
    truth = open_ground_truth(reader, None if with_tf else T_CAM_LIDAR)
    assert ("/tf_static" if with_tf else "--lidar-extrinsic") in truth.description
    for frame in reader:
        depth = truth.truth_for(frame).depth
        want = expected[frame.stamp_ns]
        np.testing.assert_array_equal(np.isfinite(depth), np.isfinite(want))
        np.testing.assert_allclose(depth[np.isfinite(want)], want[np.isfinite(want)], rtol=1e-5)


def test_lidar_without_extrinsic_or_topic_is_a_clear_error(frames, sequence, tmp_path: Path) -> None:
    bag, _ = _write_lidar_bag(tmp_path / "lidar", frames[:2], sequence.T_base_cam, T_CAM_LIDAR, with_tf=False)
    with pytest.raises(BagError, match=r"no transform from the LiDAR frame 'lidar' .*--lidar-extrinsic"):
        open_ground_truth(BagReader(bag, BagTopics(depth=None, lidar="/lidar/points")))
    with pytest.raises(BagError, match=r"'/velodyne' .* is not in it: expected sensor_msgs/msg/PointCloud2.*"):
        open_ground_truth(BagReader(bag, BagTopics(depth=None, lidar="/velodyne")))


# ------------------------------------------------------------------------------------------ replay


class ScaledTruth:
    """A pipeline whose depth is ``k`` times the ground truth of the frame with that stamp."""

    def __init__(self, truth: dict[int, np.ndarray], k: float):
        self.truth = truth
        self.k = k

    def process(self, rgb: np.ndarray, camera: PinholeCamera, stamp_ns: int, T_world_cam=None) -> DepthResult:
        depth = _scaled_prediction(self.truth[stamp_ns], self.k, camera).depth
        return DepthResult(depth, camera, rgb, timings={"inference": 0.002, "postprocess": 0.001})


def test_replay_of_a_constant_factor_gives_its_exact_metrics(mcap_bag: Path, frames) -> None:
    truth = {frame.stamp_ns: frame.depth for frame in frames}
    reader = BagReader(mcap_bag)
    models = [ReplayModel("perfect", ScaledTruth(truth, 1.0), "oracle"), ReplayModel("k", ScaledTruth(truth, K), "k")]
    perfect, scaled = replay(reader, models, open_ground_truth(reader), SETTINGS, progress=False)
    assert len(perfect.frames) == len(scaled.frames) == len(frames) and not perfect.skipped
    _assert_zero_error(perfect.mean("raw"))
    per_frame = [_expected_raw(frame.depth, K) for frame in frames]
    _assert_metrics(scaled.mean("raw"), {name: np.mean([m[name] for m in per_frame]) for name in per_frame[0]})
    _assert_zero_error(scaled.mean("scaled"))
    assert scaled.latency_ms() == pytest.approx((3.0, 3.0))
    assert 1 <= len(scaled.examples) <= 4 and set(scaled.examples) == set(perfect.examples)


def test_predictions_made_elsewhere_are_evaluated_against_the_bag(mcap_bag: Path, frames) -> None:
    """The live path: predictions by stamp (every other frame), ground truth from the bag."""
    reader = BagReader(mcap_bag)
    predictions = {frame.stamp_ns: _scaled_prediction(frame.depth, K, frame.camera) for frame in frames[::2]}
    truths = ground_truths(reader, open_ground_truth(reader))
    result = evaluate_predictions("live", predictions, truths, SETTINGS)
    assert len(result.frames) == 6 and result.skipped == {NO_PREDICTION: 6}
    assert result.mean("raw")["abs_rel"] == pytest.approx(0.3)
    _assert_zero_error(result.mean("scaled"))


def test_bag_issues_count_once_however_many_models_read_the_bag(build_bag, frames, tmp_path: Path) -> None:
    """The live path reads the bag once per model: each frame without ground truth is still one issue."""
    missing = {2, 5, 8}
    gappy = [dataclasses.replace(f, depth=None) if i in missing else f for i, f in enumerate(frames)]
    reader = BagReader(build_bag(tmp_path / "bag", frames=gappy))
    predictions = {frame.stamp_ns: _scaled_prediction(frame.depth, K, frame.camera) for frame in frames}
    for name in ("mono", "multiview"):
        result = evaluate_predictions(name, predictions, ground_truths(reader, open_ground_truth(reader)), SETTINGS)
        assert len(result.frames) == len(frames) - len(missing)
    assert reader.issues == {"frames without ground-truth depth": len(missing)}


def _write_depth_bag(path: Path, frames: Sequence[Frame], encoding: str) -> Path:
    """Images, camera_info and millimetre-quantised ground truth (0 = invalid) as 16UC1 or 32FC1 metres."""
    topics = BagTopics()
    with BagWriter(path, "mcap", topics) as bag:
        for frame in frames:
            bag.write(topics.image, image_message(frame.rgb, "rgb8", frame.stamp_ns, frame.frame_id), frame.stamp_ns)
            info = camera_info_message(frame.camera, frame.stamp_ns, frame.frame_id)
            bag.write(topics.camera_info, info, frame.stamp_ns)
            finite = np.isfinite(frame.depth) & (frame.depth < 65.0)
            millimetres = np.where(finite, np.round(frame.depth * 1000), 0).astype(np.uint16)
            pixels = millimetres if encoding == "16UC1" else millimetres.astype(np.float32) * np.float32(1e-3)
            bag.write(topics.depth, image_message(pixels, encoding, frame.stamp_ns, frame.frame_id), frame.stamp_ns)
    return path


def test_16uc1_millimetres_and_32fc1_metres_give_the_same_numbers(frames, tmp_path: Path) -> None:
    truth = {frame.stamp_ns: np.full(frame.depth.shape, 5.0, np.float32) for frame in frames}
    results = []
    for encoding in ("16UC1", "32FC1"):
        reader = BagReader(_write_depth_bag(tmp_path / encoding, frames[:5], encoding))
        model = ReplayModel("constant", ScaledTruth(truth, 1.0), "constant 5 m")
        (result,) = replay(reader, [model], open_ground_truth(reader), SETTINGS, progress=False)
        results.append(result)
    millimetres, metres = results
    assert len(millimetres.frames) == 5
    assert [r.raw for r in millimetres.frames] == [r.raw for r in metres.frames]
    assert [r.scaled for r in millimetres.frames] == [r.scaled for r in metres.frames]
    assert [r.pixels for r in millimetres.frames] == [r.pixels for r in metres.frames]


# ------------------------------------------------------------------------------------------ command line


def _run_eval(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    status = main(["eval", *map(str, args), "--quiet"])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _assert_one_error_line(status: int, err: str, *fragments: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_missing_image_topic_names_the_topic_and_what_the_bag_has(mcap_bag: Path, capsys) -> None:
    status, _, err = _run_eval(capsys, mcap_bag, "--image-topic", "/front/image")
    _assert_one_error_line(status, err, "no image topic '/front/image'", "/camera/image_raw [sensor_msgs/msg/Image]")


def test_bag_without_ground_truth_says_so(build_bag, tmp_path: Path, capsys) -> None:
    bag = build_bag(tmp_path / "no_depth", topics=BagTopics(depth=None))
    status, _, err = _run_eval(capsys, bag, "--model", "mono")
    _assert_one_error_line(status, err, "no ground truth", "/camera/depth/ground_truth", "--lidar-topic", "/odom [")


def test_truncated_bag_is_a_clean_error(mcap_bag: Path, tmp_path: Path, capsys) -> None:
    bag = copy_truncated(mcap_bag, tmp_path / "cut")
    status, _, err = _run_eval(capsys, bag)
    _assert_one_error_line(status, err, str(bag), "truncated or corrupt")


def test_missing_lidar_topic_is_a_clean_error(mcap_bag: Path, capsys) -> None:
    status, _, err = _run_eval(capsys, mcap_bag, "--lidar-topic", "/velodyne_points")
    _assert_one_error_line(status, err, "'/velodyne_points'", "is not in it", "PointCloud2")


def test_rate_without_live_or_below_zero_is_a_clean_error(mcap_bag: Path, capsys) -> None:
    status, _, err = _run_eval(capsys, mcap_bag, "--rate", "2")
    _assert_one_error_line(status, err, "--rate sets the playback speed of --live")
    for rate in ("-1", "nan", "inf"):
        status, _, err = _run_eval(capsys, mcap_bag, "--live", "--rate", rate)
        _assert_one_error_line(status, err, "--rate must be > 0")


def test_camera_info_of_another_size_names_both_sizes(build_bag, frames, tmp_path: Path, capsys) -> None:
    wrong = [dataclasses.replace(frame, camera=frame.camera.resized(128, 96)) for frame in frames[:3]]
    bag = build_bag(tmp_path / "wrong_info", frames=wrong)
    status, _, err = _run_eval(capsys, bag, "--model", "mono", "--report", tmp_path / "report")
    _assert_one_error_line(status, err, "no frame of", "image 96x72 differs from camera_info 128x96")


@pytest.mark.parametrize("where", ["an existing file", "below a file", "in a read-only folder"])
def test_an_unusable_report_folder_is_refused_before_the_evaluation(
    mcap_bag: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    from depth_ros.eval import session

    monkeypatch.setattr(session, "evaluate_bag", lambda *args: pytest.fail("evaluated before checking --report"))
    (tmp_path / "file").write_text("")
    (tmp_path / "read_only").mkdir(mode=0o555)
    out = {
        "an existing file": tmp_path / "file",
        "below a file": tmp_path / "file" / "report",
        "in a read-only folder": tmp_path / "read_only" / "report",
    }[where]
    if where == "in a read-only folder" and os.access(tmp_path / "read_only", os.W_OK):
        pytest.skip("this user writes into read-only folders (root)")
    status, _, err = _run_eval(capsys, mcap_bag, "--model", "mono", "--report", out)
    _assert_one_error_line(status, err, f"cannot write the report into {out}", "--report")


def _numbers(value) -> list[float]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    return [value] if isinstance(value, int | float) and not isinstance(value, bool) else []


def test_eval_both_models_on_the_sample_bag_writes_the_report(mcap_bag: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "report"
    status, stdout, err = _run_eval(capsys, mcap_bag, "--model", "both", "--report", out)
    assert status == 0, err
    data = json.loads((out / "metrics.json").read_text())
    assert list(data["models"]) == ["mono", "multiview"]
    assert all(math.isfinite(n) for n in _numbers(data))
    for name, model in data["models"].items():
        assert model["frames_evaluated"] > 0, name
        assert model["frames_evaluated"] + sum(model["frames_skipped"].values()) == 12
        assert len(model["per_frame"]) == model["frames_evaluated"]
        for kind in ("raw", "median_scaled"):
            assert set(model[kind]) >= {"abs_rel", "sq_rel", "rmse", "rmse_log", "a1", "a2", "a3"}
        assert model["latency_ms"]["median"] > 0 and model["engine"]
    report = (out / "report.md").read_text()
    for png in ("examples.png", "error_by_depth.png", "error_over_time.png", "point_cloud.png"):
        assert f"]({png})" in report and (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| mono | raw |" in report and "| multiview | median |" in report
    assert "mono" in stdout and "multiview" in stdout and f"report: {out / 'report.md'}" in stdout


@pytest.mark.ros
def test_live_eval_faster_than_the_node_reports_the_dropped_frames(mcap_bag: Path, tmp_path: Path, capsys) -> None:
    pytest.importorskip("rclpy", reason="rclpy is not installed (no ROS 2 and no ROS 2 wheels)")
    from depth_ros.ros.live_replay import DROPPED, NOT_RECEIVED

    out = tmp_path / "live"
    # 1.2 s of recording played in 60 ms: the multiview network (about 0.1 s per frame) cannot keep up
    status, stdout, err = _run_eval(capsys, mcap_bag, "--live", "--rate", "20", "--model", "multiview", "--report", out)
    model = json.loads((out / "metrics.json").read_text())["models"]["live multiview"]
    skipped = model["frames_skipped"]
    assert skipped.get(DROPPED, 0) + skipped.get(NOT_RECEIVED, 0) > 0, skipped  # reported, not hidden
    assert model["frames_evaluated"] + sum(skipped.values()) == 12
    assert status in (0, 2) and "live multiview" in stdout, err


def test_two_backends_side_by_side_give_one_table_and_the_same_numbers(mcap_bag: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "backends"
    status, stdout, err = _run_eval(
        capsys, mcap_bag, "--model", "mono", "--backend", "pytorch", "onnxruntime", "--report", out
    )
    assert status == 0, err
    models = json.loads((out / "metrics.json").read_text())["models"]
    assert list(models) == ["mono (pytorch)", "mono (onnxruntime)"]
    pytorch, onnxruntime = models["mono (pytorch)"], models["mono (onnxruntime)"]
    assert "pytorch" in pytorch["engine"] and "onnxruntime" in onnxruntime["engine"]
    assert onnxruntime["median_scaled"] == pytest.approx(pytorch["median_scaled"], rel=1e-4)
    report = (out / "report.md").read_text()
    assert "| mono (pytorch) | raw |" in report and "| mono (onnxruntime) | raw |" in report
    assert "mono (pytorch)" in stdout and "mono (onnxruntime)" in stdout


def test_odometry_scale_for_an_onnx_model_takes_the_pose_network_from_pose_model(
    mcap_bag: Path, tmp_path: Path, capsys
) -> None:
    from depth_ros.resources import shipped_weights

    onnx = tmp_path / "lite.onnx"  # an ONNX file holds no pose network, and none lies beside it
    assert main(["export", "monodepth2", "--weights", str(shipped_weights("monodepth2")), "--out", str(onnx)]) == 0
    odometry = ("--model", "mono", "--weights-mono", onnx, "--scale-mode", "odometry", "--report", tmp_path / "r")
    status, _, err = _run_eval(capsys, mcap_bag, *odometry)
    _assert_one_error_line(status, err, "none was found", "depth-ros eval --pose-model")
    status, _, err = _run_eval(capsys, mcap_bag, *odometry, "--pose-model", shipped_weights("monodepth2_pose"))
    assert status == 0, err
    model = json.loads((tmp_path / "r" / "metrics.json").read_text())["models"]["mono"]
    assert model["frames_evaluated"] > 0 and math.isfinite(model["raw"]["abs_rel"])
    status, _, err = _run_eval(capsys, mcap_bag, "--model", "mono", "--pose-model", shipped_weights("monodepth2_pose"))
    _assert_one_error_line(status, err, "--pose-model is for the mono model with --scale-mode odometry")


def test_odometry_scale_for_the_shipped_checkpoint_finds_its_pose_network() -> None:
    from depth_ros.eval.replay import open_model
    from depth_ros.pipeline.mono import MonoSettings
    from depth_ros.resources import shipped_weights

    model = open_model("mono", shipped_weights("monodepth2"), "pytorch", mono_settings=MonoSettings("odometry"))
    assert model.metric  # odometry makes it metric; without its pose network this raised


def test_summary_table_columns_line_up_with_long_model_names() -> None:
    """``live multiview``, ``mono (onnxruntime)``: names longer than the column once pushed the rows out of line."""
    from depth_ros.eval.report import summary_table

    names = ["mono", "live multiview", "multiview mvdepthnet_lite.pt (onnxruntime)"]
    lines = summary_table([ModelResult(name) for name in names]).splitlines()
    assert len({len(line) for line in lines}) == 1, lines  # fixed-width columns after a name column of one width
