"""Training order and augmentation draws: a resumed run sees the same batches; each epoch draws new
augmentations (depth_ros.train.sampler)."""

from __future__ import annotations

from itertools import islice

import torch
from torch.utils.data import ConcatDataset

from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence
from depth_ros.data.training_samples import MonocularDataset
from depth_ros.train.sampler import EpochIndexed, ResumableSampler


def test_each_epoch_is_a_permutation_and_a_late_start_continues_the_same_order() -> None:
    first = list(islice(iter(ResumableSampler(10, seed=3)), 30))
    for epoch in range(3):
        assert sorted(first[10 * epoch : 10 * (epoch + 1)]) == list(range(10))
    assert first[:10] != first[10:20]  # a new permutation each epoch
    assert list(islice(iter(ResumableSampler(10, seed=3, start=13)), 17)) == first[13:]


def test_with_epoch_the_index_carries_the_epoch() -> None:
    plain = list(islice(iter(ResumableSampler(10, seed=3)), 30))
    tagged = list(islice(iter(ResumableSampler(10, seed=3, with_epoch=True)), 30))
    assert tagged == [10 * (position // 10) + index for position, index in enumerate(plain)]


def test_epochs_draw_new_augmentations_and_an_epoch_draws_the_same_again() -> None:
    sequence = SyntheticSequence(SyntheticConfig(frames=6, width=64, height=64, seed=0))
    parts = [MonocularDataset(sequence, 64, 64, (-1, 1), augment=True, seed=s) for s in (0, 1)]
    data = EpochIndexed(ConcatDataset(parts))
    size = len(data)

    def drawn(key: int) -> torch.Tensor:
        sample = data[key]
        return torch.cat([sample["images_aug"].flatten(), torch.tensor([float(sample["flipped"])])])

    same_every_epoch = [torch.equal(drawn(i), drawn(size + i)) for i in range(size)]
    assert not all(same_every_epoch)  # epoch 1 draws other flips and jitters than epoch 0
    assert all(torch.equal(drawn(size + i), drawn(size + i)) for i in range(size))  # deterministic per epoch
