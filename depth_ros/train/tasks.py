"""The two trainers as :class:`~depth_ros.train.loop.Task` objects: networks, data, loss and validation.

* ``monodepth2``: self-supervised from monocular video (:mod:`depth_ros.train.monodepth2_task`), with
  the pose network or the data's poses (``poses: odometry``, metric depth), optionally with a
  ground-truth depth term (``depth_loss``); validation reports the standard metrics with per-image
  median scaling (relative depth) or without (with odometry poses).
* ``mvdepthnet``: supervised multi-scale L1 on inverse depth (MVDepthNet's loss) with measurement frames
  picked by baseline; validation reports metric depth without scaling.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Subset

from depth_ros.data.bag_layout import BagTopics
from depth_ros.data.sequence import FrameSequence
from depth_ros.errors import DatasetError
from depth_ros.eval.metrics import NoValidPixelsError, average_metrics, depth_metrics
from depth_ros.losses.supervised import mvdepthnet_loss
from depth_ros.models.checkpoints import monodepth2_metadata, mvdepthnet_metadata
from depth_ros.models.inference import inference_graph
from depth_ros.models.metadata import ModelMetadata, SweepGrid
from depth_ros.models.monodepth2 import Monodepth2, Monodepth2Pose
from depth_ros.models.mvdepthnet import MVDepthNet, cost_volume, inverse_depth_planes, normalize_image
from depth_ros.train.config import ConfigError, DataConfig, TrainConfig, check_model
from depth_ros.train.depth_supervision import depth_loss
from depth_ros.train.loop import Task, TrainingError
from depth_ros.train.monodepth2_task import Monodepth2Loss

Batch = dict[str, torch.Tensor]
logger = logging.getLogger(__name__)


def frame_sequences(data: DataConfig, seeds: list[int], height: int, width: int) -> list[FrameSequence]:
    """The frame sources a data config names (synthetic: one sequence per seed, rendered at network size)."""
    if data.source == "synthetic":
        return [
            synthetic_sequence(data, data.scenes[i % len(data.scenes)], seed, height, width)
            for i, seed in enumerate(seeds)
        ]
    if not data.path:
        raise ConfigError(f"data.source={data.source} needs data.path (a file or folder)")
    if data.source == "bag":
        from depth_ros.data.bag_sequence import BagSequence

        return [BagSequence(data.path, bag_topics(data), every=data.every)]
    if data.source == "kitti":
        from depth_ros.data.kitti import KittiRawSequence

        if not data.split:
            raise ConfigError("data.source=kitti needs data.split (a split file of 'folder frame side' lines)")
        return [KittiRawSequence(data.path, data.split)]
    if data.source == "tum":
        from depth_ros.data.tum import TumRgbdSequence

        return [TumRgbdSequence(data.path)]
    if data.source == "folder":
        from depth_ros.data.folder import ImageFolderSequence

        return [ImageFolderSequence(data.path)]
    raise ConfigError(f"unknown data.source {data.source!r}: expected synthetic, bag, kitti, tum or folder")


def synthetic_sequence(data: DataConfig, scene: str, seed: int, height: int, width: int) -> FrameSequence:
    """One synthetic sequence: ``corridor`` or ``room`` rendered at network size, or ``objects`` rendered at
    its own random camera with 1.5 times the network's pixels (samples are resized to network size)."""
    if scene == "objects":
        from depth_ros.data.objects import ObjectsConfig, ObjectsSequence

        return ObjectsSequence(ObjectsConfig(seed=seed, frames=data.frames, pixels=round(1.5 * height * width)))
    from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence

    return SyntheticSequence(
        SyntheticConfig(
            scene=scene, frames=data.frames, width=width, height=height, moving_objects=data.moving_objects, seed=seed
        )
    )


def bag_topics(data: DataConfig) -> BagTopics:
    """The topic names a data config gives a bag."""
    return BagTopics(
        image=data.image_topic, camera_info=data.camera_info_topic, odometry=data.odometry_topic, depth=data.depth_topic
    )


def _validates(config: TrainConfig) -> bool:
    """Whether a run validates: on held-out synthetic sequences, when ``data.validation_seeds`` names some."""
    return config.data.source == "synthetic" and bool(config.data.validation_seeds)


def _concat(datasets: list[Dataset], what: str) -> Dataset:
    datasets = [d for d in datasets if len(d) > 0]
    if not datasets:
        raise TrainingError(f"no {what} samples: the data yields no frames with the neighbours/poses training needs")
    return datasets[0] if len(datasets) == 1 else ConcatDataset(datasets)


def _validation_metrics(
    predict, dataset: Dataset, device: torch.device, metadata: ModelMetadata, median_scaling: bool
) -> dict[str, float]:
    """Standard metrics averaged over the validation samples (images without valid ground truth skipped)."""
    per_image = []
    for batch in DataLoader(dataset, batch_size=4):
        depth = predict({k: v.to(device) for k, v in batch.items()}).cpu().numpy()
        for predicted, truth in zip(depth[:, 0], batch["depth"][:, 0].numpy(), strict=True):
            try:
                per_image.append(
                    depth_metrics(predicted, truth, metadata.min_depth, metadata.max_depth, median_scaling)
                )
            except NoValidPixelsError:
                continue
    return average_metrics(per_image) if per_image else {}


EXAMPLE_IMAGES = 4  # validation samples drawn in TensorBoard's validation/examples


def _example_picture(
    predict, rgb_of, dataset: Dataset, device: torch.device, metadata: ModelMetadata, median_scaling: bool
) -> np.ndarray:
    """(H * n, W * 3, 3) uint8: for the first ``n`` validation samples, a row of input RGB | predicted depth |
    ground-truth depth, both depths on one colour scale (median-scaled first for relative models)."""
    from depth_ros.pipeline.colour_map import colour_depth

    batch = next(iter(DataLoader(Subset(dataset, range(min(EXAMPLE_IMAGES, len(dataset)))), batch_size=EXAMPLE_IMAGES)))
    predicted = predict({k: v.to(device) for k, v in batch.items()}).float().cpu().numpy()[:, 0]
    truth, rgb = batch["depth"][:, 0].numpy(), rgb_of(batch)
    rows = []
    for image, depth, gt in zip(rgb, predicted, truth, strict=True):
        valid = np.isfinite(gt) & (gt > 0)
        if median_scaling and valid.any():
            depth = depth * np.median(gt[valid]) / np.median(depth[valid])
        far = metadata.max_depth if not valid.any() else float(np.percentile(gt[valid], 95))
        rows.append(np.hstack([image, colour_depth(depth, far), colour_depth(gt, far)]))
    return np.vstack(rows)


def monodepth2_task(config: TrainConfig) -> Task:
    from depth_ros.data.training_samples import MonocularDataset

    defaults = {"num_layers": 18, "width": 1.0, "decoder_width": 1.0, "with_fc": False}
    variant = {**defaults, **check_model(config, "monodepth2")}
    odometry = config.poses == "odometry"
    depth = Monodepth2(**variant)
    networks: dict[str, nn.Module] = {"depth": depth}
    if not odometry:
        networks["pose"] = Monodepth2Pose(variant["num_layers"], variant["width"], with_fc=False, frames=1)
    metadata = monodepth2_metadata(
        variant, config.height, config.width, False, f"depth_ros trainer, seed {config.seed}"
    )
    if odometry:  # known metric motion in odometry_unit metres: the depth is metric after that factor
        metadata = metadata.replace(scale_type="metric", scale_factor=config.odometry_unit)

    def dataset(seeds: list[int], training: bool) -> Dataset:
        """Training samples (augmented, static frames left out per ``min_translation``) or validation ones (all)."""
        return _concat(
            [
                MonocularDataset(
                    sequence,
                    config.height,
                    config.width,
                    config.frame_offsets,
                    augment=training,
                    seed=config.seed,
                    min_translation=config.min_translation if training else 0.0,
                    odometry_unit=config.odometry_unit if training and odometry else None,
                )
                for sequence in frame_sequences(config.data, seeds, config.height, config.width)
            ],
            "monocular",
        )

    validation = dataset(config.data.validation_seeds, False) if _validates(config) else None
    supervision = depth_loss(config.depth_loss)
    loss = Monodepth2Loss(
        config.frame_offsets, config.smoothness, config.automask, config.min_reprojection,
        metadata.min_depth, metadata.max_depth, supervision, config.depth_loss_weight,
    )  # fmt: skip

    def predict(batch: Batch) -> torch.Tensor:
        return inference_graph(depth, metadata)(batch["images"][:, 0] * 255.0)

    def validate(networks: dict[str, nn.Module], data: Dataset, device: torch.device) -> dict[str, float]:
        return _validation_metrics(predict, data, device, metadata, median_scaling=not odometry)

    def examples(networks: dict[str, nn.Module], data: Dataset, device: torch.device) -> np.ndarray:
        def rgb(batch: Batch) -> np.ndarray:
            return (batch["images"][:, 0].permute(0, 2, 3, 1).numpy() * 255.0).round().astype(np.uint8)

        return _example_picture(predict, rgb, data, device, metadata, median_scaling=not odometry)

    train_set = dataset(config.data.seeds, True)
    if supervision is not None:
        _check_has_depth(train_set, config)
    return Task(networks, metadata, train_set, validation, loss, validate, examples=examples)


def _check_has_depth(train_set: Dataset, config: TrainConfig) -> None:
    """Raise when ``depth_loss`` is set but the first frame of every training source has no depth."""
    datasets: list[Any] = list(train_set.datasets) if isinstance(train_set, ConcatDataset) else [train_set]
    if all(d.sequence[d.indices[0]].depth is None for d in datasets):
        raise DatasetError(
            f"depth_loss: {config.depth_loss} needs ground-truth depth, but the {config.data.source} data has "
            "none: use a source with depth (synthetic, tum, or a bag with a depth topic) or depth_loss: none"
        )


def mvdepthnet_forward(network: nn.Module, batch: Batch, grid: SweepGrid = "exact") -> list[torch.Tensor]:
    """Inverse depths (4 scales, m^-1) from a batch: ``reference`` (B,3,H,W) and ``measurements`` (B,N,3,H,W)
    RGB in 0..255, ``T_meas_ref`` (B,N,4,4), ``K`` (B,3,3); the cost volume sampled with ``grid`` (our models:
    ``exact``; a checkpoint's own is its metadata's ``sweep_grid``)."""
    reference = normalize_image(batch["reference"])
    volume = cost_volume(
        reference,
        normalize_image(batch["measurements"]),
        batch["K"],
        batch["T_meas_ref"],
        inverse_depth_planes(_planes(network), device=reference.device, dtype=reference.dtype),
        grid=grid,
    )
    return network(reference, volume)


def _planes(network: nn.Module) -> int:
    """Planes of a (possibly DDP-wrapped) MVDepthNet."""
    return getattr(network, "module", network).planes


def mvdepthnet_task(config: TrainConfig) -> Task:
    from depth_ros.data.training_samples import MultiViewDataset

    if config.depth_loss != "none":
        raise ConfigError(
            f"depth_loss: {config.depth_loss} applies to monodepth2 only; mvdepthnet trains with its own "
            "supervised loss (multi-scale L1 on inverse depth): remove depth_loss"
        )
    if config.poses != "network":
        raise ConfigError(f"poses: {config.poses} applies to monodepth2 only (mvdepthnet always uses the data's poses)")
    variant = {"width": 1.0, "planes": 64, **check_model(config, "mvdepthnet")}
    network = MVDepthNet(**variant)
    metadata = mvdepthnet_metadata(variant, config.height, config.width, f"depth_ros trainer, seed {config.seed}")
    metadata = metadata.replace(measurement_frames=config.data.measurement_frames, sweep_grid="exact")

    def samples(sequence: FrameSequence, augment: bool) -> MultiViewDataset:
        return MultiViewDataset(
            sequence,
            config.height,
            config.width,
            config.data.measurement_frames,
            augment=augment,
            seed=config.seed,
            depth_range=(metadata.min_depth, metadata.max_depth),
            world_scale=tuple(config.data.world_scale) if augment and config.data.world_scale else None,
        )

    def dataset(seeds: list[int], augment: bool) -> Dataset:
        sequences = frame_sequences(config.data, seeds, config.height, config.width)
        if len(sequences) == 1:
            return samples(sequences[0], augment)
        usable = []
        for sequence in sequences:  # one sequence without a usable pair (a camera at rest) does not stop a run
            try:
                usable.append(samples(sequence, augment))
            except DatasetError as error:
                logger.warning("left out of training: %s", error)
        return _concat(usable, "multi-view")

    validation = dataset(config.data.validation_seeds, False) if _validates(config) else None

    def loss(networks: dict[str, nn.Module], batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        predictions = [p.float() for p in mvdepthnet_forward(networks["depth"], batch)]
        return mvdepthnet_loss(predictions, batch["depth"]), {}

    def predict(batch: Batch) -> torch.Tensor:
        inverse = mvdepthnet_forward(network, batch)[0]
        return 1.0 / inverse.clamp(1.0 / metadata.max_depth, 1.0 / metadata.min_depth)

    def validate(networks: dict[str, nn.Module], data: Dataset, device: torch.device) -> dict[str, float]:
        return _validation_metrics(predict, data, device, metadata, median_scaling=False)

    def examples(networks: dict[str, nn.Module], data: Dataset, device: torch.device) -> np.ndarray:
        def rgb(batch: Batch) -> np.ndarray:
            return batch["reference"].permute(0, 2, 3, 1).numpy().round().clip(0, 255).astype(np.uint8)

        return _example_picture(predict, rgb, data, device, metadata, median_scaling=False)

    train_set = dataset(config.data.seeds, True)
    return Task({"depth": network}, metadata, train_set, validation, loss, validate, examples=examples)


def make_task(config: TrainConfig) -> Task:
    """The task of ``config.architecture``."""
    if config.architecture == "monodepth2":
        return monodepth2_task(config)
    if config.architecture == "mvdepthnet":
        return mvdepthnet_task(config)
    raise ConfigError(f"architecture must be monodepth2 or mvdepthnet, got {config.architecture!r}")
