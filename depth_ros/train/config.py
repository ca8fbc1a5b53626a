"""Training configuration: plain values, a YAML file, and ``key=value`` overrides on the command line.

Every key has a default here; a YAML file or an override may set only keys that exist (a typo is an
error naming the key and listing the valid ones). Values in overrides are parsed as YAML
(``learning_rate=1e-4``, ``model.width=0.5``, ``data.seeds=[1,2,3]``); numbers written as strings are
accepted for float keys (YAML 1.1 reads ``1e-4`` as a string). Each value is checked against
:data:`CONSTRAINTS` (and the network arguments against :data:`MODEL_ARGUMENTS` once the architecture is
known, :func:`check_model`), so a value that makes no sense is one error naming the key and what it allows,
before training starts.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import yaml

from depth_ros.data.bag_layout import BagTopics
from depth_ros.errors import DepthRosError
from depth_ros.models.metadata import check_input_size

AUTO_WORKERS = -1  # config.workers: chosen for the device (depth_ros.train.loop.loader_workers)
MAX_WORKERS = 64  # more loading processes than this is a typo (1000000 hung starting them)


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
        scenes: synthetic scene families to use: ``corridor`` and ``room`` (:mod:`depth_ros.data.synthetic`),
            ``objects`` (:mod:`depth_ros.data.objects`: random primitives, world scale, cameras and motion).
        frames: frames per synthetic sequence.
        moving_objects: independently moving boxes per synthetic sequence.
        every: keep every n-th frame (bags, folders) to get enough motion between frames.
        measurement_frames: MVDepthNet measurement frames per sample.
        world_scale: MVDepthNet only: ``[low, high]`` of a random scale (log-uniform) that multiplies each
            training sample's depth and translations, the images unchanged (the same scene at another size:
            appearance then tells nothing about metric depth); empty (default): none.
        validation_seeds: held-out synthetic sequences for validation (empty: no validation).
        image_topic, camera_info_topic, odometry_topic, depth_topic: topic names of a ``bag``: the camera's
            ``sensor_msgs/Image`` and its ``CameraInfo``, ``nav_msgs/Odometry`` (for poses; a bag without it
            trains Monodepth2 with the pose network), and ground-truth depth (``sensor_msgs/Image``, optional).
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
    world_scale: list[float] = field(default_factory=list)
    validation_seeds: list[int] = field(default_factory=lambda: [1000])
    image_topic: str = BagTopics.image
    camera_info_topic: str = BagTopics.camera_info
    odometry_topic: str = BagTopics.odometry
    depth_topic: str = BagTopics.depth


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
        init: weights the depth network starts from (fine-tuning): a depth_ros checkpoint of the same
            architecture and shapes, or ``shipped`` for the shipped weights; empty (default): random
            (see depth_ros.train.initial_weights).
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
    init: str = ""
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
    known = get_type_hints(type(target))
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
            setattr(target, key, _coerce(name, known[key], value))


def _coerce(name: str, expected: Any, value: Any) -> Any:
    """``value`` checked against the declared type ``expected`` (``int``, ``float``, ``str``, ``bool`` or a
    ``list`` of one of them); ints and numeric strings are accepted for floats."""
    item = get_args(expected)[0] if get_origin(expected) is list else None
    try:
        if item is None:
            return _scalar(expected, value)
        if not isinstance(value, list):
            raise TypeError(value)
        return [_scalar(item, element) for element in value]
    except (TypeError, ValueError):
        kind = f"a list of {item.__name__}" if item else _describe_type(expected)
        raise ConfigError(f"config key {name!r} takes {kind}, got {value!r}") from None


def _scalar(expected: type, value: Any) -> Any:
    """``value`` as an ``expected`` (raises TypeError or ValueError when it is none)."""
    if expected is float and isinstance(value, (int, str)) and not isinstance(value, bool):
        return float(value)
    if type(value) is not expected:
        raise TypeError(value)
    return value


def _describe_type(expected: type) -> str:
    return "true or false" if expected is bool else f"a {expected.__name__}"


Check = tuple[Callable[[Any], bool], str]
"""A test of a config value, and what it allows (the end of ``KEY must be ...``)."""


def _at_least(minimum: float) -> Check:
    return (lambda value: value >= minimum, f"{minimum} or more")


def _one_of(*choices: Any) -> Check:
    names = [str(choice) for choice in choices]
    return (lambda value: value in choices, f"{', '.join(names[:-1])} or {names[-1]}")


def _list_of(check: Check, non_empty: bool = False) -> Check:
    test, allowed = check
    kind = "a non-empty list" if non_empty else "a list"
    return (lambda values: (values or not non_empty) and all(test(v) for v in values), f"{kind} of {allowed}")


POSITIVE: Check = (lambda value: math.isfinite(value) and value > 0, "a finite number above 0")
NOT_NEGATIVE: Check = (lambda value: math.isfinite(value) and value >= 0, "a finite number, 0 or more")
FRAME_OFFSETS: Check = (
    lambda offsets: len(offsets) > 0 and 0 not in offsets and len(set(offsets)) == len(offsets),
    "a non-empty list of distinct non-zero frame offsets (0 is the target)",
)
SCENES = ("corridor", "room", "objects")  # depth_ros.data.synthetic, depth_ros.data.objects

CONSTRAINTS: dict[str, Check] = {
    "architecture": (lambda value: value in ("", "monodepth2", "mvdepthnet"), "monodepth2 or mvdepthnet"),
    "batch_size": _at_least(1),
    "steps": _at_least(1),
    "learning_rate": POSITIVE,
    "lr_step": (lambda value: value >= 0, "0 (no decay) or more"),
    "lr_gamma": POSITIVE,
    "seed": _at_least(0),
    "checkpoint_every": _at_least(1),
    "validate_every": _at_least(1),
    "log_every": _at_least(1),
    "workers": (
        lambda value: AUTO_WORKERS <= value <= MAX_WORKERS,
        f"0 to {MAX_WORKERS} loading processes, or {AUTO_WORKERS} to choose",
    ),
    "device": _one_of("auto", "cpu", "cuda"),
    "frame_offsets": FRAME_OFFSETS,
    "smoothness": NOT_NEGATIVE,
    "min_translation": NOT_NEGATIVE,
    "poses": _one_of("network", "odometry"),
    "odometry_unit": POSITIVE,
    "depth_loss_weight": NOT_NEGATIVE,
    "data.seeds": _list_of(_at_least(0)),
    "data.scenes": _list_of(_one_of(*SCENES), non_empty=True),
    "data.frames": _at_least(1),
    "data.moving_objects": _at_least(0),
    "data.every": _at_least(1),
    "data.measurement_frames": _at_least(1),
    "data.validation_seeds": _list_of(_at_least(0)),
    "data.world_scale": (
        lambda scales: not scales or (len(scales) == 2 and 0 < scales[0] <= scales[1] and math.isfinite(scales[1])),
        "empty (no scaling) or [low, high] with 0 < low <= high",
    ),
}

MODEL_ARGUMENTS: dict[str, dict[str, tuple[type, Check]]] = {
    "monodepth2": {
        "num_layers": (int, _one_of(18, 34, 50)),
        "width": (float, POSITIVE),
        "decoder_width": (float, POSITIVE),
        "with_fc": (bool, (lambda value: True, "true or false")),
    },
    "mvdepthnet": {"width": (float, POSITIVE), "planes": (int, _at_least(2))},
}
"""Per architecture: the network arguments ``model`` may set, their types and constraints."""


def _check(name: str, check: Check, value: Any) -> None:
    test, allowed = check
    if not test(value):
        raise ConfigError(f"{name} must be {allowed}, got {value!r}")


def check_values(config: TrainConfig) -> None:
    """Raise :class:`ConfigError` for the first value outside :data:`CONSTRAINTS`."""
    values = config.to_dict()
    for name, check in CONSTRAINTS.items():
        section, _, key = name.rpartition(".")
        _check(name, check, (values[section] if section else values)[key])


def check_model(config: TrainConfig, architecture: str) -> dict[str, Any]:
    """The network arguments ``config.model`` checked against :data:`MODEL_ARGUMENTS` of ``architecture`` (ints
    given for floats made floats), after checking that the input size suits the architecture."""
    try:
        check_input_size(architecture, config.height, config.width)
    except ValueError as error:
        raise ConfigError(f"height, width: {error}") from None
    arguments = MODEL_ARGUMENTS[architecture]
    checked = {}
    for key, value in config.model.items():
        if key not in arguments:
            raise ConfigError(f"unknown {architecture} argument model.{key}: valid ones are {', '.join(arguments)}")
        expected, check = arguments[key]
        checked[key] = _coerce(f"model.{key}", expected, value)
        _check(f"model.{key}", check, checked[key])
    return checked


def parse_override(text: str) -> dict[str, Any]:
    """``a.b=value`` -> ``{"a": {"b": value}}`` with ``value`` parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key=value (e.g. steps=500 or model.width=0.5)")
    key, raw = text.split("=", 1)
    try:
        value: Any = yaml.safe_load(raw) if raw else ""
    except yaml.YAMLError as error:
        raise ConfigError(f"override {text!r}: the value is not valid YAML ({_yaml_problem(error)})") from error
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
            raise ConfigError(f"{path} is not valid YAML: {_yaml_problem(error)}") from error
        if not isinstance(values, dict):
            raise ConfigError(f"{path} must hold a mapping of config keys, got {type(values).__name__}")
        _apply(config, values)
    for override in overrides:
        _apply(config, parse_override(override))
    check_values(config)
    return config


def _yaml_problem(error: yaml.YAMLError) -> str:
    """One line of a YAML error: what is wrong and where (PyYAML's own message spans several lines)."""
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{getattr(error, 'problem', None) or str(error).splitlines()[0]}{where}"


def save_config(config: TrainConfig, path: Path) -> None:
    """Write ``config`` as YAML (the file that reproduces the run with ``--config``)."""
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
