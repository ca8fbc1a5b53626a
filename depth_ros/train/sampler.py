"""A sampler that can start in the middle of an epoch, so that a resumed run sees exactly the batches
an uninterrupted one would have seen."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class ResumableSampler(Sampler[int]):
    """Endless shuffled indices: epoch ``e`` is a permutation seeded by ``(seed, e)``, split across processes.

    Args:
        size: dataset length.
        seed: seeds every epoch's permutation.
        rank, world_size: this process's share (every ``world_size``-th index from ``rank``).
        start: indices of this process already consumed (``steps done x batch size``) to skip.
    """

    def __init__(self, size: int, seed: int, rank: int = 0, world_size: int = 1, start: int = 0):
        if size < world_size:
            raise ValueError(f"a dataset of {size} samples cannot be split across {world_size} processes")
        self.size, self.seed, self.rank, self.world_size, self.start = size, seed, rank, world_size, start
        self.per_epoch = size // world_size

    def __iter__(self) -> Iterator[int]:
        epoch, offset = divmod(self.start, self.per_epoch)
        while True:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
            order = torch.randperm(self.size, generator=generator)[self.rank :: self.world_size][: self.per_epoch]
            yield from order[offset:].tolist()
            epoch, offset = epoch + 1, 0

    def __len__(self) -> int:
        return self.per_epoch
