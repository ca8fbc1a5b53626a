"""The shipped weights: small, self-describing, and accurate on a held-out synthetic sequence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence
from depth_ros.data.training_samples import MultiViewDataset
from depth_ros.eval.metrics import average_metrics, depth_metrics
from depth_ros.models.checkpoints import load_checkpoint
from depth_ros.train.tasks import mvdepthnet_forward

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"


@pytest.mark.parametrize("path", sorted(WEIGHTS.glob("*.pt")), ids=lambda p: p.name)
def test_shipped_weights_are_at_most_10_mb_and_carry_metadata(path: Path) -> None:
    assert path.stat().st_size <= 10 * 1024 * 1024
    network, metadata = load_checkpoint(path)
    assert metadata.source.startswith("depth_ros trainer")
    assert sum(p.numel() for p in network.parameters()) * 4 <= 10 * 1024 * 1024


def test_shipped_mvdepthnet_is_metric_on_an_unseen_sequence() -> None:
    network, metadata = load_checkpoint(WEIGHTS / "mvdepthnet_lite.pt")
    sequence = SyntheticSequence(
        SyntheticConfig(
            scene="room", frames=24, width=metadata.width, height=metadata.height, seed=2024, moving_objects=0
        )
    )
    dataset = MultiViewDataset(sequence, metadata.height, metadata.width, metadata.measurement_frames, augment=False)
    per_image = []
    with torch.no_grad():
        for batch in DataLoader(dataset, batch_size=8):
            depth = (1.0 / mvdepthnet_forward(network, batch)[0].clamp(0.02, 2.0))[:, 0].numpy()
            for predicted, truth in zip(depth, batch["depth"][:, 0].numpy(), strict=True):
                per_image.append(depth_metrics(predicted, truth, metadata.min_depth, metadata.max_depth))
    metrics = average_metrics(per_image)
    assert metrics["abs_rel"] < 0.15, metrics
    assert np.isfinite(metrics["rmse"])
