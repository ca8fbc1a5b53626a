"""The trainer's promises: distributed runs stay in sync, resuming is exact and survives SIGKILL, bad
configs and data give clear errors, and both trainers lower their loss.

Runs are tiny (64x64 images, narrow networks, a few steps) so the whole file takes about a minute.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from test_cli import assert_clean_error, depth_ros

from depth_ros.models.checkpoints import load_checkpoint, read_weights
from depth_ros.train.config import ConfigError, load_config
from depth_ros.train.loop import loader_workers, run
from depth_ros.train.tasks import make_task

TINY = {
    "mvdepthnet": [
        "model={width: 0.125, planes: 8}",
        "data.measurement_frames=1",
    ],
    "monodepth2": [
        "model={num_layers: 18, width: 0.125, decoder_width: 0.25, with_fc: false}",
        "data.moving_objects=1",
    ],
}
COMMON = [
    "height=64",
    "width=64",
    "batch_size=2",
    "data.seeds=[0]",
    "data.frames=12",
    "data.validation_seeds=[1000]",
    "data.frames=12",
    "validate_every=1000",
    "log_every=1",
    "workers=0",
    "device=cpu",
]


def tiny_config(architecture: str, out: Path, *extra: str):
    return load_config(None, [f"architecture={architecture}", *COMMON, *TINY[architecture], f"out={out}", *extra])


def final_state(out: Path) -> dict[str, torch.Tensor]:
    return read_weights(out / "last.pt")["state_dict"]


@pytest.mark.parametrize("architecture", ["monodepth2", "mvdepthnet"])
def test_resumed_run_equals_an_uninterrupted_one(tmp_path: Path, architecture: str) -> None:
    torch.set_num_threads(1)
    straight = run(tiny_config(architecture, tmp_path / "straight", "steps=4"), make_task)
    run(tiny_config(architecture, tmp_path / "split", "steps=2"), make_task)
    resumed = run(tiny_config(architecture, tmp_path / "split", "steps=4"), make_task, resume=True)
    assert straight["steps"] == resumed["steps"] == 4
    a, b = final_state(tmp_path / "straight"), final_state(tmp_path / "split")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_data_loading_processes_do_not_change_the_run(tmp_path: Path) -> None:
    """Samples and their augmentation depend on (seed, epoch, index) only, so workers (chosen per device by
    default) leave the trained parameters as they are."""
    torch.set_num_threads(1)
    run(tiny_config("monodepth2", tmp_path / "in_process", "steps=3"), make_task)
    run(tiny_config("monodepth2", tmp_path / "two_workers", "steps=3", "workers=2"), make_task)
    a, b = final_state(tmp_path / "in_process"), final_state(tmp_path / "two_workers")
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_checkpoints_load_as_weights_with_metadata(tmp_path: Path) -> None:
    run(tiny_config("mvdepthnet", tmp_path, "steps=2"), make_task)
    network, metadata = load_checkpoint(tmp_path / "last.pt")
    assert metadata.architecture == "mvdepthnet" and (metadata.height, metadata.width) == (64, 64)
    assert metadata.scale_type == "metric" and network.planes == 8
    assert (tmp_path / "config.yaml").is_file() and (tmp_path / "best.pt").is_file()
    shipped = read_weights(tmp_path / "model.pt")
    assert "optimizer" not in shipped and "step" not in shipped
    _, shipped_metadata = load_checkpoint(tmp_path / "model.pt")
    assert shipped_metadata == metadata


def test_mvdepthnet_loss_goes_down(tmp_path: Path) -> None:
    """A few steps on one small sequence lower the supervised loss (the trainer learns something)."""
    torch.set_num_threads(1)
    config = tiny_config("mvdepthnet", tmp_path, "steps=30", "learning_rate=0.003", "data.frames=6")
    task = make_task(config)
    batch = {k: v[None] for k, v in task.train_set[0].items() if isinstance(v, torch.Tensor)}
    before = task.loss(task.networks, batch)[0].item()
    run(config, make_task)
    network, _ = load_checkpoint(tmp_path / "last.pt")
    network.train()
    after = task.loss({"depth": network}, batch)[0].item()
    assert after < 0.8 * before, (before, after)


def test_two_process_torchrun_ends_with_identical_parameters(tmp_path: Path) -> None:
    overrides = ["architecture=mvdepthnet", *COMMON, *TINY["mvdepthnet"], f"out={tmp_path}", "steps=3"]
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        "-m", "depth_ros.cli", "train", "mvdepthnet", *overrides[1:],
    ]  # fmt: skip
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("{")))
    checksums = summary["parameter_checksums"]
    assert len(checksums) == 2 and checksums[0] == checksums[1], checksums
    assert summary["steps"] == 3


def test_sigkill_then_resume_continues_from_the_last_checkpoint(tmp_path: Path) -> None:
    arguments = ["train", "mvdepthnet", *COMMON, *TINY["mvdepthnet"], f"out={tmp_path}", "checkpoint_every=1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "depth_ros.cli", *arguments, "steps=1000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if (tmp_path / "last.pt").is_file() and read_weights(tmp_path / "last.pt")["step"] >= 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail("training did not write a checkpoint at step 2 within 120 s")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    killed_at = read_weights(tmp_path / "last.pt")["step"]  # loads: the file is whole
    result = depth_ros(*arguments, f"steps={killed_at + 2}", "--resume")
    assert result.returncode == 0, result.stderr[-2000:]
    assert read_weights(tmp_path / "last.pt")["step"] == killed_at + 2
    assert not list(tmp_path.glob(".*.tmp")), "a half-written checkpoint was left behind"


def test_unknown_config_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown config key 'data\.sedes'"):
        load_config(None, ["data.sedes=[1]"])
    config = tmp_path / "c.yaml"
    config.write_text("learning_rat: 0.1\n")
    result = depth_ros("train", "mvdepthnet", "--config", str(config))
    assert_clean_error(result, "unknown config key 'learning_rat'")


def test_wrong_value_type_and_architecture_mismatch_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'steps' takes a int"):
        load_config(None, ["steps=many"])
    config = tmp_path / "c.yaml"
    config.write_text("architecture: monodepth2\n")
    assert_clean_error(depth_ros("train", "mvdepthnet", "--config", str(config)), "trains monodepth2, not mvdepthnet")


@pytest.mark.parametrize(
    ("workers", "device", "world_size", "cores", "expected"),
    [
        (-1, "cpu", 1, 16, 0),  # the CPU's cores run the network
        (-1, "cuda", 1, 16, 8),  # the spare cores, at most 8
        (-1, "cuda", 1, 5, 4),
        (-1, "cuda", 2, 9, 3),  # shared between two training processes
        (-1, "cuda", 1, 1, 0),
        (3, "cuda", 1, 16, 3),  # asked for: as asked
        (0, "cuda", 1, 16, 0),
    ],
)
def test_data_loading_workers_follow_the_device(workers, device, world_size, cores, expected) -> None:
    assert loader_workers(workers, device, world_size, cores) == expected


def test_negative_workers_other_than_auto_are_refused() -> None:
    assert load_config(None, []).workers == -1
    with pytest.raises(ConfigError, match="workers must be 0 or more, or -1 to choose, got -2"):
        load_config(None, ["workers=-2"])


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    result = depth_ros("train", "mvdepthnet", *COMMON, f"out={tmp_path}", "--resume")
    assert_clean_error(result, "no checkpoint")


def test_dataset_path_without_frames_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = depth_ros(
        "train", "monodepth2", *COMMON, f"out={tmp_path / 'run'}", "data.source=folder", f"data.path={empty}"
    )
    assert_clean_error(result, str(empty))


def test_bag_without_odometry_for_mvdepthnet_is_a_clear_error(tmp_path: Path) -> None:
    from depth_ros.data.bag_layout import BagTopics
    from depth_ros.data.bag_writer import BagWriter
    from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence

    bag = tmp_path / "no_odom"
    with BagWriter(bag, "mcap", BagTopics(odometry=None, tf=None, tf_static=None)) as writer:
        for frame in SyntheticSequence(SyntheticConfig(frames=4, width=64, height=64)):
            writer.write_frame(frame)
    result = depth_ros("train", "mvdepthnet", *COMMON, f"out={tmp_path / 'run'}", "data.source=bag", f"data.path={bag}")
    assert_clean_error(result, "pose")


@pytest.mark.parametrize("architecture", ["monodepth2", "mvdepthnet"])
def test_validation_writes_example_pictures_to_tensorboard(tmp_path: Path, architecture: str) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run(tiny_config(architecture, tmp_path, "steps=2", "validate_every=2"), make_task)
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    assert "validation/abs_rel" in events.Tags()["scalars"]
    (picture,) = events.Images("validation/examples")
    assert picture.step == 2
    assert (picture.width, picture.height) == (3 * 64, 4 * 64)  # rows: RGB | prediction | ground truth


def test_depth_loss_adds_its_weighted_term_to_the_photometric_loss(tmp_path: Path) -> None:
    """With ``depth_loss``, the Monodepth2 loss is the photometric loss plus weight x the depth term (logged)."""
    torch.manual_seed(0)
    weight = 2.5
    supervised = make_task(tiny_config("monodepth2", tmp_path, "depth_loss=eigen", f"depth_loss_weight={weight}"))
    plain = make_task(tiny_config("monodepth2", tmp_path))
    plain.networks["depth"].load_state_dict(supervised.networks["depth"].state_dict())
    plain.networks["pose"].load_state_dict(supervised.networks["pose"].state_dict())
    sample = supervised.train_set[0]
    batch = {k: v[None] for k, v in sample.items() if isinstance(v, torch.Tensor)}
    assert torch.isfinite(batch["depth"]).any()
    torch.manual_seed(1)  # the same auto-masking tie-break noise in both calls
    with_depth, values = supervised.loss(supervised.networks, batch)
    torch.manual_seed(1)
    without, plain_values = plain.loss(plain.networks, batch)
    assert "depth_loss" not in plain_values and values["depth_loss"] > 0
    assert with_depth.item() - without.item() == pytest.approx(weight * values["depth_loss"], rel=1e-4)


def test_depth_loss_needs_a_known_name_data_with_depth_and_monodepth2(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="depth_loss must be none or one of eigen, megadepth, midas"):
        make_task(tiny_config("monodepth2", tmp_path, "depth_loss=l2"))
    with pytest.raises(ConfigError, match="applies to monodepth2 only"):
        make_task(tiny_config("mvdepthnet", tmp_path, "depth_loss=eigen"))

    import cv2

    from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence

    folder = tmp_path / "frames"
    folder.mkdir()
    sequence = SyntheticSequence(SyntheticConfig(frames=4, width=64, height=64))
    for index, frame in enumerate(sequence):
        cv2.imwrite(str(folder / f"{index:06d}.png"), frame.rgb[..., ::-1])
    fx, fy, cx, cy = sequence.frame(0).camera.K[[0, 1, 0, 1], [0, 1, 2, 2]]
    (folder / "intrinsics.yaml").write_text(f"{{fx: {fx}, fy: {fy}, cx: {cx}, cy: {cy}}}\n")
    result = depth_ros(
        "train", "monodepth2", *COMMON, f"out={tmp_path / 'run'}", "data.source=folder", f"data.path={folder}",
        "depth_loss=midas",
    )  # fmt: skip
    assert_clean_error(result, "depth_loss: midas needs ground-truth depth")


def test_depth_loss_trains_on_a_bag_with_a_depth_topic(tmp_path: Path) -> None:
    """The user's case: a recorded bag with camera, odometry and a depth camera, metric BerHu on its depth."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from depth_ros.data.bag_layout import BagTopics
    from depth_ros.data.bag_writer import BagWriter
    from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence

    bag = tmp_path / "with_depth"
    assert BagTopics().depth is not None
    with BagWriter(bag, "mcap", BagTopics()) as writer:
        for frame in SyntheticSequence(SyntheticConfig(frames=6, width=64, height=64)):
            writer.write_frame(frame)
    out = tmp_path / "run"
    run(tiny_config("monodepth2", out, "data.source=bag", f"data.path={bag}", "depth_loss=berhu", "steps=2"), make_task)
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    values = [event.value for event in events.Scalars("train/depth_loss")]
    assert len(values) == 2 and all(0 < value < 1e3 for value in values), values


def test_odometry_poses_train_without_a_pose_network_into_a_metric_model(tmp_path: Path) -> None:
    config = tiny_config("monodepth2", tmp_path, "poses=odometry", "odometry_unit=5.0", "steps=2")
    task = make_task(config)
    assert set(task.networks) == {"depth"}  # the known motion replaces the pose network
    assert (task.metadata.scale_type, task.metadata.scale_factor) == ("metric", 5.0)
    batch = {k: v[None] for k, v in task.train_set[0].items() if isinstance(v, torch.Tensor)}
    assert batch["T_source_target"].shape == (1, 2, 4, 4)
    loss, _ = task.loss(task.networks, batch)
    loss.backward()
    assert all(p.grad is not None for p in task.networks["depth"].parameters() if p.requires_grad)
    run(config, make_task)
    _, metadata = load_checkpoint(tmp_path / "model.pt")
    assert (metadata.scale_type, metadata.scale_factor) == ("metric", 5.0)
    with pytest.raises(ConfigError, match="poses must be network or odometry"):
        make_task(tiny_config("monodepth2", tmp_path, "poses=gps"))
    with pytest.raises(ConfigError, match="applies to monodepth2 only"):
        make_task(tiny_config("mvdepthnet", tmp_path, "poses=odometry"))
