"""The training loop both trainers share: read it top to bottom.

A :class:`Task` says what is trained (networks, datasets, the loss of a batch, validation); :func:`run`
does the rest: distributed setup, data order, the optimiser and its step schedule, mixed precision on
CUDA, a progress bar, TensorBoard scalars, periodic validation, and checkpoints.

Checkpoints (``OUT/last.pt`` every ``checkpoint_every`` steps and at the end, ``OUT/best.pt`` at the
best validation ``abs_rel``) are depth_ros checkpoints (:func:`depth_ros.models.save_checkpoint`, written
atomically) that also hold the optimiser, schedule, step, extra networks and RNG state, so ``--resume``
continues exactly where the last checkpoint left off, and the files load directly as weights for
export and inference. At the end, ``OUT/model.pt`` holds the weights alone (the file to ship).

A run into an ``OUT`` that holds a previous run's checkpoints (:data:`CHECKPOINTS`) is refused before anything
is built, unless it continues that run (``--resume``) or replaces it (``--overwrite``: the earlier ``best.pt``
is removed before step 1, ``last.pt`` and ``model.pt`` are replaced as the new run writes them). A resumed run
may change only :data:`RESUMABLE_CHANGES` (new learning-rate settings apply from the checkpoint's step on).
Ctrl-C (SIGINT) stops a single-process run after the current step and saves ``last.pt`` (a second Ctrl-C
stops at once). No checkpoint is written with non-finite weights.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from depth_ros.errors import DepthRosError
from depth_ros.models.checkpoints import read_weights, save_checkpoint
from depth_ros.models.metadata import ModelMetadata
from depth_ros.train import distributed
from depth_ros.train.config import AUTO_WORKERS, TrainConfig, save_config
from depth_ros.train.initial_weights import load_initial_weights
from depth_ros.train.sampler import EpochIndexed, ResumableSampler

logger = logging.getLogger(__name__)

Batch = dict[str, torch.Tensor]
LossFn = Callable[[dict[str, nn.Module], Batch], tuple[torch.Tensor, dict[str, float]]]
ValidateFn = Callable[[dict[str, nn.Module], Dataset, torch.device], dict[str, float]]
ExamplesFn = Callable[[dict[str, nn.Module], Dataset, torch.device], np.ndarray]


class TrainingError(DepthRosError):
    """A training run that cannot start or continue."""


NO_DECAY = 2**31  # StepLR period for lr_step = 0: no decay, whatever the run's length

CHECKPOINTS = ("last.pt", "best.pt", "model.pt")
"""The files a run writes into ``OUT`` (see the module docstring)."""

RESUMABLE_CHANGES = (
    "steps", "learning_rate", "lr_step", "lr_gamma", "out", "checkpoint_every", "validate_every", "log_every",
    "workers", "device", "data.path",
)  # fmt: skip
"""Config keys a ``--resume`` may change: any other change (batch size, seed, network, input size, data, losses)
would not continue the checkpoint's run, so it is refused."""


@dataclass
class Task:
    """What one trainer trains.

    Attributes:
        networks: named networks; ``"depth"`` is the one saved as the checkpoint's model (with ``metadata``),
            the others (e.g. ``"pose"``) travel in the checkpoint's ``networks`` entry.
        metadata: metadata of the depth network.
        train_set, validation_set: datasets of batches' samples (dicts of tensors).
        loss: (networks, batch on the device) -> (scalar loss, named values to log).
        validate: (networks, validation set, device) -> metrics; must contain ``abs_rel``.
        examples: (networks, validation set, device) -> an (H, W, 3) uint8 RGB picture of a few validation
            predictions next to their input and ground truth, for TensorBoard; None: no pictures.
    """

    networks: dict[str, nn.Module]
    metadata: ModelMetadata
    train_set: Dataset
    validation_set: Dataset | None
    loss: LossFn
    validate: ValidateFn
    summary: dict[str, Any] = field(default_factory=dict)
    examples: ExamplesFn | None = None


def choose_device(config: TrainConfig, context: distributed.Distributed) -> torch.device:
    if config.device == "cpu" or (config.device == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise TrainingError("device=cuda asked for, but PyTorch sees no CUDA GPU: use device=cpu or auto")
    return torch.device("cuda", context.local_rank)


MAX_AUTO_WORKERS = 8


def loader_workers(workers: int, device_type: str, world_size: int, cores: int) -> int:
    """DataLoader processes per training process: ``workers``, or with :data:`AUTO_WORKERS` 0 on the CPU (its
    cores run the network) and on a GPU the ``cores`` left over after the training processes, shared between
    them, at most :data:`MAX_AUTO_WORKERS` each. On a lent H200 with 16 cores, loading with 0 workers starved
    the network step 2-34x; 8 workers loaded 5.6-9.6x faster (README, benchmarks/training_step.py)."""
    if workers != AUTO_WORKERS:
        return workers
    if device_type != "cuda":
        return 0
    return max(0, min(MAX_AUTO_WORKERS, (cores - world_size) // world_size))


def available_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run(
    config: TrainConfig, make_task: Callable[[TrainConfig], Task], resume: bool = False, overwrite: bool = False
) -> dict[str, Any]:
    """Train; returns a summary: steps, wall seconds, training samples/s (data loading, forward, backward and
    update; validation and checkpoints excluded; all processes), parameter checksums, last validation metrics.

    ``resume`` continues the run in ``config.out`` from its ``last.pt``; ``overwrite`` replaces the run there.
    Without either, an ``out`` holding a previous run's :data:`CHECKPOINTS` raises :class:`TrainingError`."""
    _check_out(Path(config.out), resume, overwrite)
    device_kind = (
        "cuda" if config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available()) else "cpu"
    )
    context = distributed.setup(device_kind)
    try:
        summary = _run(config, make_task, resume, context)
        distributed.wait_for_all(context)
        return summary
    finally:
        distributed.teardown(context)


def _run(config: TrainConfig, make_task, resume: bool, context: distributed.Distributed) -> dict[str, Any]:
    device = choose_device(config, context)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    out = Path(config.out)
    torch.manual_seed(config.seed)  # the same initial weights in every process
    task = make_task(config)
    if config.init and not resume:  # a resumed run's checkpoint holds the weights it started from and more
        path = load_initial_weights(task.networks["depth"], task.metadata, config.init)
        logger.info("depth network initialised from %s (init)", path)
    for network in task.networks.values():
        network.to(device).train()
    parameters = [p for network in task.networks.values() for p in network.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=config.learning_rate)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, config.lr_step or NO_DECAY, config.lr_gamma)
    use_amp = config.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    step, best, rng_state = 0, math.inf, None
    last = out / "last.pt"
    if context.main:
        for stale in out.glob(".*.pt.*.tmp"):  # left by a run killed while writing a checkpoint
            stale.unlink()
        if not resume:  # an overwritten run's best.pt must not become this run's model.pt
            (out / "best.pt").unlink(missing_ok=True)
    if resume:
        if not last.is_file():
            raise TrainingError(f"--resume: no checkpoint {last} to resume from; start without --resume")
        step, best, rng_state = _restore(last, task, optimizer, schedule, scaler, config)
        logger.info("resumed from %s at step %d", last, step)
    if step >= config.steps:
        raise TrainingError(f"{last} is already at step {step} of {config.steps}: raise steps=... to train longer")

    trained = {
        name: DistributedDataParallel(network, device_ids=[device.index] if device.type == "cuda" else None)
        if context.enabled
        else network
        for name, network in task.networks.items()
    }
    sampler = ResumableSampler(
        len(task.train_set), config.seed, context.rank, context.world_size, step * config.batch_size, with_epoch=True
    )
    workers = loader_workers(config.workers, device.type, context.world_size, available_cores())
    if config.workers == AUTO_WORKERS:
        logger.info("data loading: %d worker process(es) per training process (workers=-1: chosen for %s)",
                    workers, device.type)  # fmt: skip
    loader = DataLoader(
        EpochIndexed(task.train_set), config.batch_size, sampler=sampler, num_workers=workers, drop_last=True,
        pin_memory=device.type == "cuda", persistent_workers=workers > 0, worker_init_fn=_ignore_interrupts,
    )  # fmt: skip
    writer = _tensorboard(out) if context.main else None
    if context.main:
        out.mkdir(parents=True, exist_ok=True)
        save_config(config, out / "config.yaml")
    progress = tqdm(total=config.steps, initial=step, desc=f"train {config.architecture}", disable=not context.main)
    metrics: dict[str, float] = {}
    started, first_step, training_seconds = time.perf_counter(), step, 0.0
    batches = iter(loader)
    if rng_state is not None:  # after making the iterator, which draws from the RNG too
        torch.set_rng_state(rng_state)
    with _interrupt_after_step(enabled=not context.enabled) as interrupt:
        while step < config.steps and not interrupt.requested:
            step_started = time.perf_counter()
            batch = {k: v.to(device, non_blocking=True) for k, v in _next_batch(batches).items()}
            with torch.autocast(device.type, enabled=use_amp):
                loss, values = task.loss(trained, batch)
            if not torch.isfinite(loss):
                raise TrainingError(f"loss became {loss.item()} at step {step}: lower learning_rate or check the data")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            schedule.step()
            step += 1
            training_seconds += time.perf_counter() - step_started  # data, forward, backward, update; no validation
            progress.update(1)
            if step % config.log_every == 0 or step == config.steps:
                mean_loss = distributed.mean_across_processes(loss.detach(), context).item()  # every process joins
                progress.set_postfix(loss=f"{mean_loss:.4f}")
            if writer is not None and (step % config.log_every == 0 or step == config.steps):
                writer.add_scalar("train/loss", mean_loss, step)
                writer.add_scalar("train/learning_rate", schedule.get_last_lr()[0], step)
                for name, value in values.items():
                    writer.add_scalar(f"train/{name}", value, step)
            if task.validation_set is not None and (step % config.validate_every == 0 or step == config.steps):
                metrics, picture = _validate(task, device, with_examples=writer is not None)
                if writer is not None:
                    for name, value in metrics.items():
                        writer.add_scalar(f"validation/{name}", value, step)
                    if picture is not None:
                        writer.add_image("validation/examples", picture, step, dataformats="HWC")
                if context.main and metrics.get("abs_rel", math.inf) < best:
                    best = metrics["abs_rel"]
                    _save(out / "best.pt", task, optimizer, schedule, scaler, step, best, config)
            if context.main and (step % config.checkpoint_every == 0 or step == config.steps or interrupt.requested):
                _save(last, task, optimizer, schedule, scaler, step, best, config)
    progress.close()
    if interrupt.requested:
        logger.warning("interrupted at step %d: saved %s; run the same command with --resume to continue from it",
                       step, last)  # fmt: skip
        raise KeyboardInterrupt
    if context.main:
        write_model(out)
    seconds = time.perf_counter() - started
    samples = (step - first_step) * config.batch_size * context.world_size
    summary = {
        "steps": step,
        "seconds": seconds,
        "samples_per_second": samples / max(training_seconds, 1e-9),
        "parameter_checksums": distributed.gather_floats(_checksum(task), context),
        **metrics,
    }
    if writer is not None:
        writer.close()
    return summary


def _check_out(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse a fresh run into ``out`` when it holds a previous run's checkpoints, which the run would delete
    (``best.pt``) or replace (``last.pt``, ``model.pt``), unless ``overwrite`` says so; and refuse both flags."""
    if resume and overwrite:
        raise TrainingError("--resume continues the run in out=..., --overwrite replaces it: give one of them")
    found = [name for name in CHECKPOINTS if (out / name).is_file()]
    if found and not (resume or overwrite):
        raise TrainingError(
            f"{out} already holds a previous run ({', '.join(found)}): continue it with --resume, replace it with "
            "--overwrite, or train into another out=..."
        )


def write_model(out: Path) -> Path:
    """``OUT/model.pt``: the depth network of ``best.pt`` (else ``last.pt``) with its metadata and any extra
    networks (the pose network), without optimiser state: the file to ship and to run."""
    from depth_ros.models.checkpoints import load_checkpoint

    source = out / "best.pt" if (out / "best.pt").is_file() else out / "last.pt"
    data = read_weights(source)
    network, metadata = load_checkpoint(source, data)
    return save_checkpoint(out / "model.pt", network, metadata, networks=data.get("networks", {}))


def _checksum(task: Task) -> float:
    """Sum of all parameters: equal on every process of a data-parallel run."""
    with torch.no_grad():
        return float(sum(p.double().sum() for net in task.networks.values() for p in net.parameters()))


def _tensorboard(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional at run time
        logger.warning("tensorboard is not installed: no TensorBoard logs (pip install tensorboard)")
        return None
    return SummaryWriter(str(out / "tensorboard"))


def _validate(task: Task, device: torch.device, with_examples: bool) -> tuple[dict[str, float], np.ndarray | None]:
    """Validation metrics, and the task's example picture when asked for (and the task draws one)."""
    for network in task.networks.values():
        network.eval()
    # Validation must not change the training's random draws (its DataLoader draws a seed, for one).
    with torch.no_grad(), torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        metrics = task.validate(task.networks, task.validation_set, device)
        picture = None
        if with_examples and task.examples is not None:
            picture = task.examples(task.networks, task.validation_set, device)
    for network in task.networks.values():
        network.train()
    return metrics, picture


class InterruptRequest:
    """Whether Ctrl-C asked the training loop to stop after the current step."""

    requested: bool = False


@contextmanager
def _interrupt_after_step(enabled: bool) -> Iterator[InterruptRequest]:
    """While training, the first SIGINT (Ctrl-C) only sets ``requested``, so the loop ends its step and saves
    ``last.pt``; a second one raises KeyboardInterrupt at once. Not ``enabled`` (distributed runs, whose
    processes must stop at the same step) or outside the main thread: SIGINT is left as it is."""
    request = InterruptRequest()
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield request
        return

    def stop_after_step(signum: int, frame: Any) -> None:
        request.requested = True
        signal.signal(signal.SIGINT, previous)
        logger.warning("interrupted: saving last.pt after this step (Ctrl-C again to stop at once, unsaved)")

    previous = signal.signal(signal.SIGINT, stop_after_step)
    try:
        yield request
    finally:
        signal.signal(signal.SIGINT, previous)


def _ignore_interrupts(worker_id: int) -> None:
    """DataLoader worker start: Ctrl-C in a terminal reaches every process of the group; the training process
    decides when to stop (a worker that died of it would fail the step that saves the checkpoint)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _next_batch(batches: Iterator[Batch]) -> Batch:
    """The next batch; a depth_ros error raised in a DataLoader worker process comes out as itself, one line
    (the DataLoader re-raises it with the worker's traceback in the message)."""
    try:
        return next(batches)
    except DepthRosError as error:
        text = str(error)
        if "Original Traceback" not in text:
            raise
        original = text.rstrip().splitlines()[-1].removeprefix(f"{type(error).__module__}.{type(error).__qualname__}: ")
        raise type(error)(original) from error


def _non_finite_entry(task: Task) -> str | None:
    """The name of the first parameter or buffer of the task's networks that holds NaN or infinity, or None."""
    for network_name, network in task.networks.items():
        for name, tensor in network.state_dict().items():
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                return f"{network_name}.{name}"
    return None


def _save(path: Path, task: Task, optimizer, schedule, scaler, step: int, best: float, config: TrainConfig) -> None:
    """Write a training checkpoint (atomically); weights with NaN or infinity raise instead, keeping the file."""
    broken = _non_finite_entry(task)
    if broken is not None:
        raise TrainingError(
            f"the weights became NaN or infinite at step {step} (first: {broken}): lower learning_rate or check the "
            f"data; {path} was not overwritten"
        )
    extra_networks = {name: net.state_dict() for name, net in task.networks.items() if name != "depth"}
    state = {
        "step": step,
        "best_abs_rel": best,
        "networks": extra_networks,
        "optimizer": optimizer.state_dict(),
        "schedule": schedule.state_dict(),
        "scaler": scaler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "config": yaml.safe_dump(config.to_dict(), sort_keys=False),
    }
    save_checkpoint(path, task.networks["depth"], task.metadata, **state)


TRAINING_ENTRIES = {
    "state_dict": dict, "networks": dict, "optimizer": dict, "schedule": dict, "scaler": dict, "step": int,
    "best_abs_rel": float, "torch_rng": torch.Tensor, "config": str,
}  # fmt: skip
"""What :func:`_save` writes beside the model, and the type of each entry."""


def _restore(
    path: Path, task: Task, optimizer, schedule, scaler, config: TrainConfig
) -> tuple[int, float, torch.Tensor]:
    """Load networks, optimiser, schedule and scaler, after checking that ``config`` continues the checkpoint's
    run; apply changed learning-rate settings; return the step, best abs_rel and the RNG state."""
    from depth_ros.models.checkpoints import load_state_strict

    data = read_weights(path)
    try:
        _check_entries(data)
        saved = _saved_config(data["config"])
    except (KeyError, TypeError, ValueError, yaml.YAMLError) as error:
        raise _not_resumable(path, error) from error
    _check_resumable(path, saved, config)
    try:
        load_state_strict(task.networks["depth"], data["state_dict"], str(path))
        for name, state in data["networks"].items():
            load_state_strict(task.networks[name], state, f"{path} ({name})")
        optimizer.load_state_dict(data["optimizer"])
        schedule.load_state_dict(data["schedule"])
        scaler.load_state_dict(data["scaler"])
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise _not_resumable(path, error) from error
    _follow_learning_rate(optimizer, schedule, saved, config, data["step"])
    return data["step"], data["best_abs_rel"], data["torch_rng"]


def _not_resumable(path: Path, error: Exception) -> TrainingError:
    detail = f"no {error.args[0]!r} entry" if isinstance(error, KeyError) else str(error).splitlines()[0]
    return TrainingError(
        f"{path} is not a training checkpoint that this run can resume ({detail}): resume from a last.pt that "
        "depth-ros train wrote, or start without --resume"
    )


def _check_entries(data: Any) -> None:
    """Raise KeyError or TypeError unless ``data`` holds :data:`TRAINING_ENTRIES` of their types."""
    if not isinstance(data, dict):
        raise TypeError(f"it holds a {type(data).__name__}, not a mapping of entries")
    for key, kind in TRAINING_ENTRIES.items():
        if not isinstance(data[key], kind):
            raise TypeError(f"its {key!r} is a {type(data[key]).__name__}, expected a {kind.__name__}")
    rng = data["torch_rng"]
    if rng.dtype != torch.uint8 or rng.shape != torch.get_rng_state().shape:
        raise TypeError(f"its 'torch_rng' ({rng.dtype}, {tuple(rng.shape)}) is not a CPU random generator state")


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"data": {"every": 2}}`` -> ``{"data.every": 2}`` (the ``model`` mapping stays one value)."""
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict) and key != "model":
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _saved_config(text: str) -> dict[str, Any]:
    """The flattened config a checkpoint was trained with (keys it predates: their defaults)."""
    values = yaml.safe_load(text)
    if not isinstance(values, dict):
        raise TypeError(f"its 'config' holds a {type(values).__name__}, not a mapping of config keys")
    return {**_flatten(TrainConfig().to_dict()), **_flatten(values)}


def _check_resumable(path: Path, saved: dict[str, Any], config: TrainConfig) -> None:
    """Raise when ``config`` changes a key outside :data:`RESUMABLE_CHANGES` from the checkpoint's ``saved``."""
    asked = _flatten(config.to_dict())
    changed = [key for key, value in asked.items() if key not in RESUMABLE_CHANGES and saved.get(key) != value]
    if changed:
        was = ", ".join(f"{key}={saved.get(key)}" for key in changed)
        now = ", ".join(f"{key}={asked[key]}" for key in changed)
        raise TrainingError(
            f"--resume: {path} was trained with {was}, this run asks for {now}; a resumed run may change only "
            f"{', '.join(RESUMABLE_CHANGES)}: drop the changes, or start a new run with another out=..."
        )


def _follow_learning_rate(optimizer, schedule, saved: dict[str, Any], config: TrainConfig, step: int) -> None:
    """When ``config`` changes ``learning_rate``, ``lr_step`` or ``lr_gamma`` from the checkpoint's ``saved``
    config, continue with the new step schedule, as if the run had had it from the start."""
    keys = ("learning_rate", "lr_step", "lr_gamma")
    if all(saved[key] == getattr(config, key) for key in keys):
        return
    schedule.step_size, schedule.gamma = config.lr_step or NO_DECAY, config.lr_gamma
    schedule.base_lrs = [config.learning_rate for _ in optimizer.param_groups]
    rate = config.learning_rate * config.lr_gamma ** (step // schedule.step_size)
    for group in optimizer.param_groups:
        group["initial_lr"], group["lr"] = config.learning_rate, rate
    logger.warning(
        "--resume: learning rate %g from step %d (learning_rate=%g, lr_step=%d, lr_gamma=%g; the checkpoint had %s)",
        rate, step, config.learning_rate, config.lr_step, config.lr_gamma,
        ", ".join(f"{key}={saved[key]}" for key in keys),
    )  # fmt: skip
