"""The single-image pipeline (depth_ros.pipeline.mono) on a real DepthEngine: a small, randomly initialised
Monodepth2 saved the way the trainer saves it (pose network included), run by the PyTorch backend."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence
from depth_ros.errors import DepthRosError, ImageEncodingError
from depth_ros.geometry import PinholeCamera, invert_transform, make_transform
from depth_ros.models.checkpoints import (
    CheckpointError,
    load_pose_network,
    monodepth2_metadata,
    named_pose_network,
    pose_network_for,
    save_checkpoint,
)
from depth_ros.models.metadata import ModelMetadata
from depth_ros.models.monodepth2 import Monodepth2, Monodepth2Pose
from depth_ros.pipeline.frame import FrameSkipped
from depth_ros.pipeline.mono import WAITING_FOR_SCALE, MonoDepthPipeline, MonoSettings
from depth_ros.runtime.engine import DepthEngine, open_engine

VARIANT: dict[str, Any] = {"num_layers": 18, "width": 0.25, "decoder_width": 0.25, "with_fc": False}
HEIGHT, WIDTH = 96, 128


def _translation(x: float, y: float = 0.0, z: float = 0.0) -> np.ndarray:
    return make_transform(np.eye(3), np.array([x, y, z]))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Checkpoints of one random network: ``trained`` with its pose network (as ``depth-ros train`` writes
    ``model.pt``), ``depth_only`` without, and ``stereo``/``metric`` with those scale types."""
    folder = tmp_path_factory.mktemp("mono")
    torch.manual_seed(0)
    depth = Monodepth2(**VARIANT).eval()
    pose = Monodepth2Pose(VARIANT["num_layers"], VARIANT["width"], with_fc=False, frames=1)  # as the trainer does
    relative = monodepth2_metadata(VARIANT, HEIGHT, WIDTH, False, "test")
    return {
        "trained": save_checkpoint(folder / "model.pt", depth, relative, networks={"pose": pose.state_dict()}),
        "depth_only": save_checkpoint(folder / "depth_only.pt", depth, relative),
        "stereo": save_checkpoint(folder / "stereo.pt", depth, monodepth2_metadata(VARIANT, HEIGHT, WIDTH, True, "")),
        "metric": save_checkpoint(folder / "metric.pt", depth, relative.replace(scale_type="metric")),
    }


@pytest.fixture(scope="module")
def engine(models: dict[str, Path]) -> DepthEngine:
    return open_engine(models["trained"], "pytorch")


@pytest.fixture(scope="module")
def sequence() -> SyntheticSequence:
    return SyntheticSequence(SyntheticConfig(frames=4, width=WIDTH, height=HEIGHT, seed=0))


def test_load_pose_network_gives_the_stored_pose_network_or_none(models: dict[str, Path], tmp_path: Path) -> None:
    pose = load_pose_network(models["trained"])
    stored = torch.load(models["trained"], weights_only=True)["networks"]["pose"]
    assert isinstance(pose, Monodepth2Pose) and not pose.training
    for name, value in pose.state_dict().items():
        assert torch.equal(value, stored[name]), name
    assert load_pose_network(models["depth_only"]) is None
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(models["trained"].read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_pose_network(corrupt)
    exported = tmp_path / "model.onnx"
    exported.write_bytes(b"\x08\x07onnx")
    with pytest.raises(CheckpointError, match="not in ONNX or TensorRT files"):
        load_pose_network(exported)
    data = torch.load(models["trained"], weights_only=True)
    data["networks"]["pose"].pop("decoder.net.0.weight")
    torch.save(data, tmp_path / "incomplete.pt")
    with pytest.raises(CheckpointError, match=r"pose network.*missing: decoder\.net\.0\.weight"):
        load_pose_network(tmp_path / "incomplete.pt")


def test_fixed_mode_multiplies_the_relative_depth_by_the_factor(engine: DepthEngine, sequence: SyntheticSequence):
    frame = sequence[0]
    relative = MonoDepthPipeline(engine).process(frame.rgb, frame.camera, frame.stamp_ns)
    fixed = MonoDepthPipeline(engine, MonoSettings("fixed", scale_factor=2.5)).process(
        frame.rgb, frame.camera, frame.stamp_ns
    )
    assert relative.scale == 1.0 and fixed.scale == 2.5
    np.testing.assert_array_equal(fixed.depth, relative.depth * np.float32(2.5))
    assert fixed.depth.dtype == np.float32 and not np.shares_memory(fixed.depth, relative.depth)
    assert set(fixed.timings) == {"preprocess", "inference", "postprocess"}


def test_depth_and_camera_follow_the_network_size_and_the_result_owns_its_depth(
    engine: DepthEngine, sequence: SyntheticSequence
) -> None:
    frame = sequence[0]
    camera = frame.camera.resized(2 * WIDTH, 2 * HEIGHT)
    big = cv2.resize(frame.rgb, (camera.width, camera.height), interpolation=cv2.INTER_LINEAR)
    pipeline = MonoDepthPipeline(engine)
    result = pipeline.process(big, camera, frame.stamp_ns)
    assert result.depth.shape == (HEIGHT, WIDTH) and result.rgb.shape == (HEIGHT, WIDTH, 3)
    assert result.camera == camera.resized(WIDTH, HEIGHT)
    kept = result.depth.copy()
    pipeline.process(np.zeros_like(big), camera, frame.stamp_ns)  # overwrites the engine's buffer
    np.testing.assert_array_equal(result.depth, kept)


def test_an_image_of_another_size_than_its_camera_is_a_clear_error(engine: DepthEngine) -> None:
    camera = PinholeCamera.from_fov(160, 120, 80.0)
    with pytest.raises(ImageEncodingError, match=r"image is 128x96 but its camera_info says 160x120"):
        MonoDepthPipeline(engine).process(np.zeros((96, 128, 3), np.uint8), camera, 0)


@pytest.mark.parametrize("size", [(1, 1), (3000, 2), (WIDTH // 5, HEIGHT)], ids=["1x1", "3000x2", "fifth width"])
def test_an_image_far_smaller_than_the_network_is_a_clear_error(engine: DepthEngine, size: tuple[int, int]) -> None:
    """Enlarged more than 4x along an axis, an image holds too little to find depth in: refused, not guessed."""
    camera = PinholeCamera.from_fov(*size, 80.0)
    rgb = np.zeros((size[1], size[0], 3), np.uint8)
    with pytest.raises(ImageEncodingError, match=rf"image of {size[0]}x{size[1]} is too small for a {WIDTH}x{HEIGHT}"):
        MonoDepthPipeline(engine).process(rgb, camera, 0)
    small = PinholeCamera.from_fov(WIDTH // 4, HEIGHT // 4, 80.0)  # 4x is still taken
    assert MonoDepthPipeline(engine).process(np.zeros((HEIGHT // 4, WIDTH // 4, 3), np.uint8), small, 0).depth.shape


def test_stereo_mode_needs_a_stereo_model(engine: DepthEngine, models: dict[str, Path], sequence: SyntheticSequence):
    with pytest.raises(DepthRosError, match=r"stereo-trained model.*scale_type 'relative'.*odometry, ground or fixed"):
        MonoDepthPipeline(engine, MonoSettings("stereo"))
    stereo = open_engine(models["stereo"], "pytorch")
    frame = sequence[0]
    result = MonoDepthPipeline(stereo, MonoSettings("stereo")).process(frame.rgb, frame.camera, frame.stamp_ns)
    relative = MonoDepthPipeline(engine).process(frame.rgb, frame.camera, frame.stamp_ns)
    assert result.scale == pytest.approx(5.4)
    np.testing.assert_allclose(result.depth, 5.4 * relative.depth, rtol=1e-5)


def test_a_metric_model_takes_relative_mode_only(models: dict[str, Path]) -> None:
    metric = open_engine(models["metric"], "pytorch")
    MonoDepthPipeline(metric)
    for mode in ("fixed", "ground"):
        with pytest.raises(DepthRosError, match=f"metres already; use scale_mode=relative, not {mode}"):
            MonoDepthPipeline(metric, MonoSettings(mode))
    with pytest.raises(DepthRosError, match=r"use scale_mode=relative \(its depth is already metric\)"):
        MonoDepthPipeline(metric, MonoSettings("stereo"))


def test_odometry_mode_needs_a_pose_network(engine: DepthEngine, models: dict[str, Path]) -> None:
    with pytest.raises(DepthRosError, match=r"none was found: neither a <model>_pose\.pt .* pose_model parameter"):
        MonoDepthPipeline(engine, MonoSettings("odometry"), load_pose_network(models["depth_only"]))


def test_the_pose_network_beside_a_model_file_goes_with_it(models: dict[str, Path], tmp_path: Path) -> None:
    depth_only = tmp_path / "lite.pt"
    shutil.copyfile(models["depth_only"], depth_only)
    assert pose_network_for(depth_only) is None
    shutil.copyfile(models["trained"], tmp_path / "lite_pose.pt")
    beside = pose_network_for(depth_only)
    stored = torch.load(models["trained"], weights_only=True)["networks"]["pose"]
    assert beside is not None
    assert torch.equal(beside.state_dict()["decoder.net.0.weight"], stored["decoder.net.0.weight"])
    assert pose_network_for(models["trained"]) is not None  # the trainer's model.pt carries its own


def test_the_pose_network_inside_a_checkpoint_comes_before_one_beside_it(
    models: dict[str, Path], tmp_path: Path
) -> None:
    shutil.copyfile(models["trained"], tmp_path / "model.pt")
    torch.save({"format": "x"}, tmp_path / "model_pose.pt")  # would fail to load if it were chosen
    found = pose_network_for(tmp_path / "model.pt")
    stored = torch.load(models["trained"], weights_only=True)["networks"]["pose"]
    assert found is not None and torch.equal(found.state_dict()["decoder.net.0.weight"], stored["decoder.net.0.weight"])


def test_a_broken_pose_network_inside_a_checkpoint_is_an_error_not_none(
    models: dict[str, Path], tmp_path: Path
) -> None:
    data = torch.load(models["trained"], weights_only=True)
    data["networks"]["pose"].pop("decoder.net.0.weight")
    torch.save(data, tmp_path / "model.pt")
    shutil.copyfile(models["trained"], tmp_path / "model_pose.pt")  # not taken silently in its place
    with pytest.raises(CheckpointError, match=r"decoder\.net\.0\.weight"):
        pose_network_for(tmp_path / "model.pt")


def test_a_named_pose_model_without_a_pose_network_says_so(models: dict[str, Path]) -> None:
    with pytest.raises(CheckpointError, match=f"{models['depth_only']} holds no pose network"):
        named_pose_network(models["depth_only"])
    assert named_pose_network(models["trained"]) is not None


def test_an_onnx_model_takes_the_pose_network_beside_it_or_none(models: dict[str, Path], tmp_path: Path) -> None:
    onnx = tmp_path / "lite.onnx"
    onnx.write_bytes(b"not a checkpoint")  # what matters: it is not one of ours, so it cannot hold a pose network
    assert pose_network_for(onnx) is None
    shutil.copyfile(models["trained"], tmp_path / "lite_pose.pt")
    assert pose_network_for(onnx) is not None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scale_mode": "lidar"}, "scale_mode must be one of relative, fixed, stereo, odometry, ground"),
        ({"scale_factor": 0.0}, "scale_factor must be a positive number"),
        ({"camera_height_m": np.nan}, "camera_height_m must be a positive number"),
        ({"scale_window": 0}, "scale_window must be at least 1"),
        ({"min_translation_m": -0.1}, "min_translation_m must be a number >= 0"),
    ],
)
def test_settings_are_checked(change: dict, message: str) -> None:
    with pytest.raises(DepthRosError, match=message):
        MonoSettings(**change)


def _network_translation(pose: Monodepth2Pose, earlier: np.ndarray, later: np.ndarray) -> np.ndarray:
    """The pose network's translation from ``earlier`` to ``later``, fed as in training: RGB / 255, (1, 3, H, W)."""

    def tensor(rgb: np.ndarray) -> torch.Tensor:
        return torch.tensor(rgb, dtype=torch.float32).permute(2, 0, 1).unsqueeze(0) / 255.0

    with torch.no_grad():
        return pose(tensor(earlier), tensor(later))[1][0, 0, 0].double().numpy()


def test_odometry_mode_skips_until_the_camera_moves_then_scales_by_odometry_over_network_motion(
    engine: DepthEngine, models: dict[str, Path], sequence: SyntheticSequence
) -> None:
    pose = load_pose_network(models["trained"])
    pipeline = MonoDepthPipeline(engine, MonoSettings("odometry", min_translation_m=0.05), pose)
    frames = [sequence[i] for i in range(4)]
    T0 = frames[0].T_world_cam
    with pytest.raises(FrameSkipped) as skipped:
        pipeline.process(frames[0].rgb, frames[0].camera, 0, T0)
    assert skipped.value.reason == WAITING_FOR_SCALE and "0.05 m" in skipped.value.detail
    with pytest.raises(FrameSkipped, match=WAITING_FOR_SCALE):  # 2 cm: not enough motion yet
        pipeline.process(frames[1].rgb, frames[1].camera, 1, T0 @ _translation(0.0, 0.0, 0.02))
    with pytest.raises(FrameSkipped, match="no camera pose"):
        pipeline.process(frames[1].rgb, frames[1].camera, 2, None)
    with pytest.raises(FrameSkipped, match="no camera pose"):
        pipeline.process(frames[1].rgb, frames[1].camera, 2, np.full((4, 4), np.nan))
    assert pipeline.scale is None

    T2 = T0 @ _translation(0.1, 0.0, 0.3)  # the camera moved 0.32 m from frame 0
    result = pipeline.process(frames[2].rgb, frames[2].camera, 3, T2)
    t_odometry = (invert_transform(T2) @ T0)[:3, 3]
    expected = np.linalg.norm(t_odometry) / np.linalg.norm(_network_translation(pose, frames[0].rgb, frames[2].rgb))
    assert result.scale == pytest.approx(expected, rel=1e-5) and pipeline.scale == result.scale
    assert "pose" in result.timings
    relative = MonoDepthPipeline(engine).process(frames[2].rgb, frames[2].camera, 3)
    np.testing.assert_allclose(result.depth, relative.depth * expected, rtol=1e-5)

    # Frame 2 is now the reference: a small move keeps the window's scale without running the pose network.
    later = pipeline.process(frames[3].rgb, frames[3].camera, 4, T2 @ _translation(0.01))
    assert later.scale == result.scale and "pose" not in later.timings
    # An earlier stamp (a bag played again) restarts from that frame instead of comparing backwards in time.
    replayed = pipeline.process(frames[0].rgb, frames[0].camera, 0, T0)
    assert replayed.scale == result.scale and "pose" not in replayed.timings


class _GivenDepthEngine(DepthEngine):
    """A Monodepth2-shaped engine that returns a given depth (what a perfect relative model would)."""

    backend = "test"

    def __init__(self, metadata: ModelMetadata):
        super().__init__(metadata, "cpu", "fp32")
        self.next_depth = np.zeros((metadata.height, metadata.width), np.float32)

    def _run(self, inputs: dict[str, np.ndarray]) -> None:
        self._depth[:] = self.next_depth


def test_ground_mode_skips_until_it_sees_the_ground_then_recovers_the_scale(sequence: SyntheticSequence) -> None:
    engine = _GivenDepthEngine(monodepth2_metadata(VARIANT, HEIGHT, WIDTH, False, "test"))
    pipeline = MonoDepthPipeline(engine, MonoSettings("ground", camera_height_m=sequence.config.camera_height_m))
    frame = sequence[1]
    engine.next_depth[:] = 2.0  # a wall facing the camera: no ground
    with pytest.raises(FrameSkipped, match=WAITING_FOR_SCALE):
        pipeline.process(frame.rgb, frame.camera, frame.stamp_ns)
    engine.next_depth[:] = frame.depth / 7.0
    result = pipeline.process(frame.rgb, frame.camera, frame.stamp_ns)
    assert result.scale == pytest.approx(7.0, rel=0.01)
    valid = np.isfinite(frame.depth)
    np.testing.assert_allclose(result.depth[valid], frame.depth[valid], rtol=0.01)
