"""Training configuration: plain values, a YAML file, and ``key=value`` overrides on the command line.

Every key has a default here; a YAML file or an override may set only keys that exist (a typo is an
error naming the key and listing the valid ones). Values in overrides are parsed as YAML
(``learning_rate=1e-4``, ``model.width=0.5``, ``data.seeds=[1,2,3]``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from depth_ros.errors import DepthRosError

AUTO_WORKERS = -1  # config.workers: chosen for the device (depth_ros.train.loop.loader_workers)


class ConfigError(DepthRosError, ValueError):
    """A configuration key that does not exist, or a value of the wrong kind."""


@dataclass
class DataConfig:
    """Where training frames come from.

    Attributes:
        source: ``synthetic`` (generated on the fly), ``bag``, ``kitti``, ``tum`` or ``folder``.
        path: file or folder of the data (unused for ``synthetic``).
        split: KITTI split file (``folder frame side`` lines).
        seeds: synthetic sequences (one per seed), scenes alternating between ``scenes``.
        scenes: synthetic scenes to use.
        frames: frames per synthetic sequence.
        moving_objects: independently moving boxes per synthetic sequence.
        every: keep every n-th frame (bags, folders) to get enough motion between frames.
        measurement_frames: MVDepthNet measurement frames per sample.
        validation_seeds: held-out synthetic sequences for validation.
    """

    source: str = "synthetic"
    path: str = ""
    split: str = ""
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3])
    scenes: list[str] = field(default_factory=lambda: ["corridor", "room"])
    frames: int = 100
    moving_objects: int = 1
    every: int = 1
    measurement_frames: int = 1
    validation_seeds: list[int] = field(default_factory=lambda: [1000])


@dataclass
class TrainConfig:
    """One training run.

    Attributes:
        architecture: ``monodepth2`` or ``mvdepthnet`` (set by the command line when the file leaves it out).
        model: constructor arguments of the network (see depth_ros.models).
        height, width: network input size (multiples of 32).
        batch_size: samples per optimiser step and process.
        steps: optimiser steps in all.
        learning_rate: Adam learning rate; ``lr_step`` / ``lr_gamma``: step schedule (every ``lr_step`` steps).
        seed: seeds data order, augmentation and initialisation.
        out: output folder (checkpoints ``last.pt`` / ``best.pt``, ``config.yaml``, TensorBoard logs).
        checkpoint_every, validate_every, log_every: in steps.
        workers: data-loading processes per training process; -1 (default): 0 on the CPU, whose cores run the
            network, and on a GPU the CPU cores left over, shared between the training processes, at most 8
            each (see :func:`depth_ros.train.loop.loader_workers`).
        amp: mixed precision on CUDA.
        device: ``auto``, ``cpu`` or ``cuda``.
        frame_offsets: Monodepth2 source frames relative to the target.
        smoothness: Monodepth2 disparity smoothness weight (divided by 2^scale).
        automask, min_reprojection: Monodepth2 auto-masking and per-pixel minimum reprojection.
        min_translation: Monodepth2 training samples whose target moved less than this (metres) relative
            to a source frame are left out (static frames; needs poses: 0 keeps every frame).
        poses: Monodepth2 only: where the camera motion between frames comes from, ``network`` (the pose
            network, as Monodepth2) or ``odometry`` (the data's poses: synthetic, TUM ``groundtruth.txt``, bag
            odometry, a folder's ``poses.txt``; no pose network is trained, and the depth comes out metric).
        odometry_unit: with ``poses: odometry``, metres per unit of the network's depth while training: the
            network's depth range is 0.1-100 units and it starts near 0.2, so 10 (1-1000 m, small first
            warps) suits streets and corridors; lower it for close-range scenes. The model's metadata gets it
            as the ``scale_factor`` that makes its depth metres.
        depth_loss: Monodepth2 only: ``none`` (self-supervised) or a ground-truth depth term added on every
            scale, ``eigen``, ``megadepth``, ``midas`` (relative) or ``huber``, ``berhu`` (metric), weighted by
            ``depth_loss_weight`` (see depth_ros.train.depth_supervision; needs data with depth).
    """

    architecture: str = ""
    model: dict[str, Any] = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)
    height: int = 192
    width: int = 256
    batch_size: int = 8
    steps: int = 1000
    learning_rate: float = 1e-4
    lr_step: int = 0
    lr_gamma: float = 0.1
    seed: int = 0
    out: str = "runs/train"
    checkpoint_every: int = 100
    validate_every: int = 250
    log_every: int = 10
    workers: int = AUTO_WORKERS
    amp: bool = True
    device: str = "auto"
    frame_offsets: list[int] = field(default_factory=lambda: [-1, 1])
    smoothness: float = 1e-3
    automask: bool = True
    min_reprojection: bool = True
    min_translation: float = 0.0
    poses: str = "network"
    odometry_unit: float = 10.0
    depth_loss: str = "none"
    depth_loss_weight: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _apply(target: Any, values: dict[str, Any], prefix: str = "") -> None:
    """Set ``values`` on the dataclass ``target``, recursing into nested dataclasses; unknown keys raise."""
    known = {f.name: f for f in dataclasses.fields(target)}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if key not in known:
            raise ConfigError(
                f"unknown config key {name!r}: valid keys are {', '.join(sorted(prefix + k for k in known))}"
            )
        current = getattr(target, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"config key {name!r} is a section: give a mapping, got {value!r}")
            _apply(current, value, f"{name}.")
        elif key == "model":
            if not isinstance(value, dict):
                raise ConfigError(f"config key {name!r} takes a mapping of network arguments, got {value!r}")
            current.update(value)
        else:
            setattr(target, key, _coerce(name, current, value))


def _coerce(name: str, current: Any, value: Any) -> Any:
    """``value`` checked against the type of the default ``current`` (ints accepted for floats)."""
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"config key {name!r} takes true or false, got {value!r}")
        return value
    if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if type(value) is not type(current):
        raise ConfigError(f"config key {name!r} takes a {type(current).__name__}, got {value!r}")
    return value


def parse_override(text: str) -> dict[str, Any]:
    """``a.b=value`` -> ``{"a": {"b": value}}`` with ``value`` parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key=value (e.g. steps=500 or model.width=0.5)")
    key, raw = text.split("=", 1)
    value: Any = yaml.safe_load(raw) if raw else ""
    for part in reversed(key.strip().split(".")):
        value = {part: value}
    return value


def load_config(path: Path | None = None, overrides: list[str] = ()) -> TrainConfig:
    """Defaults, then the YAML file (if any), then each override in order."""
    config = TrainConfig()
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"{path} is not valid YAML: {error}") from error
        if not isinstance(values, dict):
            raise ConfigError(f"{path} must hold a mapping of config keys, got {type(values).__name__}")
        _apply(config, values)
    for override in overrides:
        _apply(config, parse_override(override))
    if config.architecture not in ("", "monodepth2", "mvdepthnet"):
        raise ConfigError(f"architecture must be monodepth2 or mvdepthnet, got {config.architecture!r}")
    if config.workers < AUTO_WORKERS:
        raise ConfigError(f"workers must be 0 or more, or {AUTO_WORKERS} to choose, got {config.workers}")
    return config


def save_config(config: TrainConfig, path: Path) -> None:
    """Write ``config`` as YAML (the file that reproduces the run with ``--config``)."""
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
