"""The trainer's promises: distributed runs stay in sync, resuming is exact and survives SIGKILL, bad
configs and data give clear errors, and both trainers lower their loss.

Runs are tiny (64x64 images, narrow networks, a few steps) so the whole file takes about a minute.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from test_cli import assert_clean_error, depth_ros

from depth_ros.data.bag_layout import EXTRINSIC_KEY, BagTopics, FrameNames
from depth_ros.data.bag_writer import BagWriter, extrinsic_metadata
from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence
from depth_ros.errors import DatasetError
from depth_ros.models.checkpoints import CheckpointError, load_checkpoint, read_weights, save_checkpoint
from depth_ros.train.config import ConfigError, load_config
from depth_ros.train.loop import TrainingError, loader_workers, run
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
    assert metadata.channel_order == "rgb"  # our trainer feeds RGB (published MVDepthNet weights are BGR)
    assert metadata.sweep_grid == "exact"  # and samples pixel centres exactly (the published grid is a pixel off)
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


@pytest.mark.parametrize("workers", [-2, 65, 1000000])
def test_workers_outside_auto_and_0_to_64_are_refused(workers: int) -> None:
    assert load_config(None, []).workers == -1 and load_config(None, ["workers=64"]).workers == 64
    with pytest.raises(ConfigError, match=f"workers must be 0 to 64 loading processes, or -1 to choose, got {workers}"):
        load_config(None, [f"workers={workers}"])


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    result = depth_ros("train", "mvdepthnet", *COMMON, f"out={tmp_path}", "--resume")
    assert_clean_error(result, "no checkpoint")


@pytest.mark.parametrize("previous", ["last.pt", "best.pt", "model.pt"])
def test_a_run_into_a_folder_holding_a_previous_run_is_refused_and_keeps_its_files(
    tmp_path: Path, previous: str
) -> None:
    (tmp_path / previous).write_bytes(b"an earlier run's checkpoint")
    result = depth_ros("train", "mvdepthnet", *COMMON, f"out={tmp_path}", "steps=1")
    assert_clean_error(result, str(tmp_path), previous, "--resume", "--overwrite", "out=")
    assert (tmp_path / previous).read_bytes() == b"an earlier run's checkpoint"
    with pytest.raises(TrainingError, match="already holds a previous run"):
        run(tiny_config("mvdepthnet", tmp_path, "steps=1"), make_task)
    assert (tmp_path / previous).read_bytes() == b"an earlier run's checkpoint"


def test_overwrite_replaces_a_previous_run_and_cannot_go_with_resume(tmp_path: Path) -> None:
    (tmp_path / "best.pt").write_bytes(b"an earlier run's checkpoint")
    result = depth_ros("train", "mvdepthnet", *COMMON, *TINY["mvdepthnet"], f"out={tmp_path}", "steps=1",
                       "data.validation_seeds=[]", "--overwrite")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert not (tmp_path / "best.pt").exists() and read_weights(tmp_path / "last.pt")["step"] == 1
    assert_clean_error(depth_ros("train", "mvdepthnet", *COMMON, f"out={tmp_path}", "--resume", "--overwrite"),
                       "--resume continues", "--overwrite replaces it")  # fmt: skip


def test_init_starts_a_run_from_earlier_weights_and_refuses_weights_that_do_not_fit(tmp_path: Path) -> None:
    """Fine-tuning: ``init`` loads the depth network of a checkpoint; the first step starts from its weights.
    Weights of another width (other shapes) or another input convention are refused before step 1."""
    torch.set_num_threads(1)
    first = tmp_path / "first" / "model.pt"

    def config(out: str, *extra: str):
        return tiny_config("mvdepthnet", tmp_path / out, "steps=1", "data.validation_seeds=[]", *extra)

    run(config("first", "steps=2", "learning_rate=0.05"), make_task)  # far from its random start
    started = read_weights(first)["state_dict"]
    assert run(config("tuned", f"init={first}"), make_task)["steps"] == 1
    after = final_state(tmp_path / "tuned")
    run(config("fresh"), make_task)
    fresh = final_state(tmp_path / "fresh")
    # one Adam step moves each weight by about the learning rate at most: the tuned run is near its start and
    # far from the run started at random with the same seed (batch-norm statistics follow the batch: left out)
    weights = [name for name in started if started[name].is_floating_point() and "running_" not in name]
    assert max((after[name] - started[name]).abs().max().item() for name in weights) < 0.01
    assert any(not torch.allclose(after[name], fresh[name], atol=0.01) for name in weights)

    wider = config("wider", f"init={first}")
    wider.model["width"] = 2 * wider.model.get("width", 1.0)
    with pytest.raises(CheckpointError, match=r"init: .*model\.pt"):
        run(wider, make_task)
    other_grid = tmp_path / "published_grid.pt"
    network, metadata = load_checkpoint(first)
    save_checkpoint(other_grid, network, metadata.replace(sweep_grid="published"))
    result = depth_ros("train", "mvdepthnet", *COMMON, *TINY["mvdepthnet"], f"out={tmp_path / 'grid'}",
                       f"init={other_grid}", "steps=1", "data.validation_seeds=[]")  # fmt: skip
    assert_clean_error(result, str(other_grid), "sweep_grid 'published'", "'exact'")
    assert not (tmp_path / "grid" / "last.pt").exists()


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


def write_bag(path: Path, topics: BagTopics = BagTopics(), frames: int = 6) -> Path:
    """A bag of a small synthetic recording (64x64 camera, odometry, ground-truth depth) under ``topics``."""
    sequence = SyntheticSequence(SyntheticConfig(frames=frames, width=64, height=64))
    names = FrameNames()
    with BagWriter(path, "mcap", topics) as writer:
        writer.set_custom_data(EXTRINSIC_KEY, extrinsic_metadata(sequence.T_base_cam, names))
        for sample in sequence.odometry():
            writer.write_odometry(sample, names)
        for frame in sequence:
            frame.frame_id = names.camera
            writer.write_frame(frame)
    return path


def test_an_overwriting_run_ships_its_own_weights_not_an_earlier_runs_best(tmp_path: Path) -> None:
    run(tiny_config("mvdepthnet", tmp_path, "steps=2"), make_task)  # validates: writes best.pt
    assert (tmp_path / "best.pt").is_file()
    bag = write_bag(tmp_path / "bag")
    config = tiny_config("monodepth2", tmp_path, "steps=2", "data.source=bag", f"data.path={bag}")
    run(config, make_task, overwrite=True)
    assert not (tmp_path / "best.pt").exists()  # a bag has no validation: this run wrote none
    shipped, last = read_weights(tmp_path / "model.pt"), read_weights(tmp_path / "last.pt")
    assert json.loads(shipped["metadata"])["architecture"] == "monodepth2"
    for key, value in last["state_dict"].items():
        assert torch.equal(shipped["state_dict"][key], value), key


@pytest.mark.parametrize("architecture", ["monodepth2", "mvdepthnet"])
def test_no_validation_seeds_trains_without_validation(tmp_path: Path, architecture: str) -> None:
    run(tiny_config(architecture, tmp_path, "steps=2", "data.validation_seeds=[]"), make_task)
    assert (tmp_path / "model.pt").is_file() and not (tmp_path / "best.pt").exists()


def test_sigint_saves_last_pt_and_says_that_resume_continues_from_it(tmp_path: Path) -> None:
    arguments = ["train", "mvdepthnet", *COMMON, *TINY["mvdepthnet"], f"out={tmp_path}", "steps=1000"]
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "depth_ros.cli", *arguments],
            stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, "OMP_NUM_THREADS": "1"},
        )  # fmt: skip
        deadline = time.monotonic() + 120
        try:
            while " 3/1000" not in log.read_text():  # checkpoint_every is 100: no checkpoint yet
                assert time.monotonic() < deadline and process.poll() is None, log.read_text()[-2000:]
                time.sleep(0.1)
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=60) == 130
        finally:
            process.kill()
    saved = read_weights(tmp_path / "last.pt")
    assert saved["step"] >= 3
    message = log.read_text()
    assert f"interrupted at step {saved['step']}: saved {tmp_path / 'last.pt'}" in message and "--resume" in message


def test_resume_follows_new_learning_rate_settings(tmp_path: Path) -> None:
    run(tiny_config("mvdepthnet", tmp_path, "steps=2", "learning_rate=0.001"), make_task)
    changed = ("learning_rate=0.01", "lr_step=1", "lr_gamma=0.5")
    run(tiny_config("mvdepthnet", tmp_path, "steps=3", *changed), make_task, resume=True)
    saved = read_weights(tmp_path / "last.pt")
    (group,) = saved["optimizer"]["param_groups"]
    assert group["lr"] == pytest.approx(0.01 * 0.5**3)  # the new schedule, as if it had run from the start
    assert (saved["schedule"]["step_size"], saved["schedule"]["gamma"]) == (1, 0.5)


@pytest.mark.parametrize(
    "change", ["batch_size=3", "seed=7", "height=96", "model={width: 0.25, planes: 8}", "data.frames=10"]
)
def test_resume_refuses_a_change_the_checkpoint_cannot_follow(tmp_path: Path, change: str) -> None:
    run(tiny_config("mvdepthnet", tmp_path, "steps=1"), make_task)
    key = change.split("=")[0]
    with pytest.raises(
        TrainingError, match=rf"--resume: .*last\.pt was trained with {re.escape(key)}=.*may change only"
    ):
        run(tiny_config("mvdepthnet", tmp_path, "steps=2", change), make_task, resume=True)
    assert read_weights(tmp_path / "last.pt")["step"] == 1


@pytest.fixture(scope="module")
def training_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The content of a tiny MVDepthNet run's last.pt (one step)."""
    out = tmp_path_factory.mktemp("one_step")
    run(tiny_config("mvdepthnet", out, "steps=1"), make_task)
    return read_weights(out / "last.pt")


@pytest.mark.parametrize(
    "broken",
    [{"networks": []}, {"optimizer": None}, {"torch_rng": torch.zeros(3)}, {"step": "x"}, {"config": "[1, 2]"}],
    ids=["networks_list", "optimizer_none", "torch_rng_floats", "step_text", "config_list"],
)
def test_resuming_a_checkpoint_of_broken_structure_is_a_training_error(
    tmp_path: Path, training_checkpoint: dict, broken: dict
) -> None:
    torch.save({**training_checkpoint, **broken}, tmp_path / "last.pt")
    with pytest.raises(TrainingError, match=rf"^{re.escape(str(tmp_path / 'last.pt'))} is not a training checkpoint"):
        run(tiny_config("mvdepthnet", tmp_path, "steps=2"), make_task, resume=True)


def test_a_dataset_error_in_a_loading_process_keeps_its_one_line_message(tmp_path: Path) -> None:
    """A TUM sequence whose rgb.txt lists an image that is missing, loaded by two worker processes."""
    import cv2

    root = tmp_path / "tum"
    (root / "rgb").mkdir(parents=True)
    (root / "depth").mkdir()
    rgb_list, depth_list = [], []
    for frame in SyntheticSequence(SyntheticConfig(frames=4, width=64, height=64)):
        stamp = f"{frame.stamp_ns / 1e9:.6f}"
        cv2.imwrite(str(root / f"rgb/{stamp}.png"), frame.rgb[..., ::-1])
        cv2.imwrite(str(root / f"depth/{stamp}.png"), np.nan_to_num(frame.depth * 5000, posinf=0).astype(np.uint16))
        rgb_list.append(f"{stamp} rgb/{stamp}.png")
        depth_list.append(f"{stamp} depth/{stamp}.png")
    (root / "rgb.txt").write_text("\n".join(rgb_list) + "\n")
    (root / "depth.txt").write_text("\n".join(depth_list) + "\n")
    missing = root / rgb_list[2].split()[1]  # every sample (targets 1 and 2, offsets -1 and 1) needs it
    missing.unlink()
    config = tiny_config("monodepth2", tmp_path / "run", "data.source=tum", f"data.path={root}", "workers=2")
    with pytest.raises(DatasetError) as raised:
        run(config, make_task)
    assert str(raised.value) == f"cannot read image {missing}: missing, unreadable, or not an image file"


@pytest.mark.parametrize("architecture", ["monodepth2", "mvdepthnet"])
def test_weights_that_become_non_finite_stop_the_run_before_any_checkpoint_keeps_them(
    tmp_path: Path, architecture: str
) -> None:
    torch.set_num_threads(1)
    config = tiny_config(architecture, tmp_path, "steps=50", "checkpoint_every=1", "learning_rate=100000000.0")
    with pytest.raises(TrainingError, match="lower learning_rate"):
        run(config, make_task)
    assert not (tmp_path / "model.pt").exists()
    for checkpoint in tmp_path.glob("*.pt"):
        for key, value in read_weights(checkpoint)["state_dict"].items():
            assert not value.is_floating_point() or torch.isfinite(value).all(), (checkpoint.name, key)


def test_bag_topic_names_come_from_the_data_config(tmp_path: Path) -> None:
    """A recording under a RealSense-like layout: the trainer reads its image, camera_info, odometry and depth."""
    names = {
        "image_topic": "/camera/color/image_raw",
        "camera_info_topic": "/camera/color/camera_info",
        "odometry_topic": "/odometry/filtered",
        "depth_topic": "/camera/aligned_depth_to_color/image_raw",
    }
    topics = BagTopics(**{key.removesuffix("_topic"): value for key, value in names.items()})
    bag = write_bag(tmp_path / "renamed", topics)
    assert load_config(None, []).data.image_topic == BagTopics().image
    overrides = [f"data.{key}={value}" for key, value in names.items()]
    config = tiny_config(
        "monodepth2", tmp_path / "run", "data.source=bag", f"data.path={bag}", *overrides, "poses=odometry",
        "depth_loss=berhu", "steps=2",
    )  # fmt: skip
    assert run(config, make_task)["steps"] == 2


def test_numbers_written_as_strings_are_accepted_for_float_keys(tmp_path: Path) -> None:
    """YAML 1.1 reads ``1e-4`` (no dot) as a string."""
    assert load_config(None, ["learning_rate=1e-4"]).learning_rate == 1e-4
    config = tmp_path / "c.yaml"
    config.write_text("learning_rate: 3e-4\nlr_gamma: '0.5'\n")
    assert (load_config(config).learning_rate, load_config(config).lr_gamma) == (3e-4, 0.5)
    with pytest.raises(ConfigError, match="config key 'learning_rate' takes a float, got 'fast'"):
        load_config(None, ["learning_rate=fast"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("steps=[1", "override 'steps=[1': the value is not valid YAML"),
        ("batch_size=0", "batch_size must be 1 or more, got 0"),
        ("batch_size=-1", "batch_size must be 1 or more, got -1"),
        ("steps=0", "steps must be 1 or more, got 0"),
        ("checkpoint_every=0", "checkpoint_every must be 1 or more"),
        ("log_every=0", "log_every must be 1 or more"),
        ("validate_every=-2", "validate_every must be 1 or more"),
        ("data.frames=0", "data.frames must be 1 or more"),
        ("data.every=0", "data.every must be 1 or more"),
        ("learning_rate=-1", "learning_rate must be a finite number above 0, got -1.0"),
        ("learning_rate=.nan", "learning_rate must be a finite number above 0, got nan"),
        ("learning_rate=.inf", "learning_rate must be a finite number above 0, got inf"),
        ("lr_gamma=0", "lr_gamma must be a finite number above 0"),
        ("lr_step=-1", "lr_step must be 0 (no decay) or more"),
        ("smoothness=-1", "smoothness must be a finite number, 0 or more"),
        ("depth_loss_weight=-1", "depth_loss_weight must be a finite number, 0 or more"),
        ("seed=-1", "seed must be 0 or more"),
        ("device=gpu", "device must be auto, cpu or cuda, got 'gpu'"),
        ("data.scenes=[]", "data.scenes must be a non-empty list of corridor, room or objects, got []"),
        ("data.scenes=[cave]", "data.scenes must be a non-empty list of corridor, room or objects, got ['cave']"),
        ("data.world_scale=[2, 1]", "data.world_scale must be empty (no scaling) or [low, high] with 0 < low <= high"),
        ("data.world_scale=[0, 1]", "data.world_scale must be empty (no scaling) or [low, high] with 0 < low <= high"),
        ("data.world_scale=[1]", "data.world_scale must be empty (no scaling) or [low, high] with 0 < low <= high"),
        ("frame_offsets=[]", "frame_offsets must be a non-empty list of distinct non-zero frame offsets"),
        ("frame_offsets=[a]", "config key 'frame_offsets' takes a list of int, got ['a']"),
        ("data.seeds=[a]", "config key 'data.seeds' takes a list of int, got ['a']"),
        ("data.seeds=[-1]", "data.seeds must be a list of 0 or more, got [-1]"),
        ("data.moving_objects=-1", "data.moving_objects must be 0 or more"),
    ],
)
def test_values_that_make_no_sense_are_one_config_error_naming_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(None, [override])
    assert message in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("architecture", "model", "message"),
    [
        ("monodepth2", "{foo: 1}", "unknown monodepth2 argument model.foo: valid ones are num_layers, width,"),
        ("monodepth2", "{num_layers: 7}", "model.num_layers must be 18, 34 or 50, got 7"),
        ("monodepth2", "{width: a}", "config key 'model.width' takes a float, got 'a'"),
        ("monodepth2", "{decoder_width: 0}", "model.decoder_width must be a finite number above 0, got 0.0"),
        ("monodepth2", "{with_fc: 1}", "config key 'model.with_fc' takes true or false, got 1"),
        ("mvdepthnet", "{width: -1}", "model.width must be a finite number above 0, got -1.0"),
        ("mvdepthnet", "{planes: 0}", "model.planes must be 2 or more, got 0"),
        ("mvdepthnet", "{planes: 8.5}", "config key 'model.planes' takes a int, got 8.5"),
    ],
)
def test_network_arguments_are_checked_for_the_architecture(architecture, model, message) -> None:
    with pytest.raises(ConfigError) as raised:
        make_task(load_config(None, [f"architecture={architecture}", *COMMON, f"model={model}"]))
    assert message in str(raised.value)


@pytest.mark.parametrize(("architecture", "size"), [("mvdepthnet", "height=100"), ("monodepth2", "width=32")])
def test_input_sizes_the_network_cannot_take_are_a_config_error(architecture: str, size: str) -> None:
    with pytest.raises(ConfigError, match=f"height, width: {architecture} input size must be multiples of 32"):
        make_task(load_config(None, [f"architecture={architecture}", *COMMON, *TINY[architecture], size]))


def test_invalid_yaml_in_an_override_is_one_error_line(tmp_path: Path) -> None:
    result = depth_ros("train", "mvdepthnet", *COMMON, f"out={tmp_path}", "data.seeds=[0, 1")
    assert_clean_error(result, "override 'data.seeds=[0, 1': the value is not valid YAML")


def test_a_synthetic_sequence_without_multi_view_pairs_is_left_out_with_a_warning(caplog) -> None:
    """A street drive of 4 frames stands at rest (no baseline); the objects sequence beside it trains alone."""
    config = load_config(
        None,
        ["architecture=mvdepthnet", "data.scenes=[objects,corridor]", "data.seeds=[0,1]", "data.frames=4",
         "data.measurement_frames=1", "data.validation_seeds=[]", "height=64", "width=64", "model.width=0.125"],
    )  # fmt: skip
    with caplog.at_level("WARNING", logger="depth_ros.train.tasks"):
        task = make_task(config)
    assert 0 < len(task.train_set) <= 4
    assert any("left out of training: no reference frame in SyntheticSequence" in r.message for r in caplog.records)
    with pytest.raises(TrainingError, match="no multi-view samples"):
        make_task(load_config(None, ["architecture=mvdepthnet", "data.scenes=[corridor]", "data.seeds=[1,2]",
                                     "data.frames=4", "data.validation_seeds=[]"]))  # fmt: skip
