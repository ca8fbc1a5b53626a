"""A sampler that can start in the middle of an epoch, so that a resumed run sees exactly the batches
an uninterrupted one would have seen; and a dataset wrapper that tells each sample its epoch, so that
augmentations differ from epoch to epoch (in any worker process, since the epoch travels in the index)."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Dataset, Sampler


class ResumableSampler(Sampler[int]):
    """Endless shuffled indices: epoch ``e`` is a permutation seeded by ``(seed, e)``, split across processes.

    Args:
        size: dataset length.
        seed: seeds every epoch's permutation.
        rank, world_size: this process's share (every ``world_size``-th index from ``rank``).
        start: indices of this process already consumed (``steps done x batch size``) to skip.
        with_epoch: yield ``epoch * size + index`` (for :class:`EpochIndexed`) instead of ``index``.
    """

    def __init__(
        self, size: int, seed: int, rank: int = 0, world_size: int = 1, start: int = 0, with_epoch: bool = False
    ):
        if size < world_size:
            raise ValueError(f"a dataset of {size} samples cannot be split across {world_size} processes")
        self.size, self.seed, self.rank, self.world_size, self.start = size, seed, rank, world_size, start
        self.per_epoch = size // world_size
        self.with_epoch = with_epoch

    def __iter__(self) -> Iterator[int]:
        epoch, offset = divmod(self.start, self.per_epoch)
        while True:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
            order = torch.randperm(self.size, generator=generator)[self.rank :: self.world_size][: self.per_epoch]
            shift = epoch * self.size if self.with_epoch else 0
            yield from (shift + index for index in order[offset:].tolist())
            epoch, offset = epoch + 1, 0

    def __len__(self) -> int:
        return self.per_epoch


class EpochIndexed(Dataset):
    """``dataset`` indexed by ``epoch * len(dataset) + index`` (what :class:`ResumableSampler` yields with
    ``with_epoch``): each sample's dataset is told the epoch (``set_epoch``) before the sample is drawn, so
    its random augmentation depends on ``(seed, epoch, index)``. Parts without ``set_epoch`` are left as
    they are."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset
        self._parts = [d for d in getattr(dataset, "datasets", [dataset]) if hasattr(d, "set_epoch")]

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: int):
        epoch, index = divmod(key, len(self))
        for part in self._parts:
            part.set_epoch(epoch)
        return self.dataset[index]
