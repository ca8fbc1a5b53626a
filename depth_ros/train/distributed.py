"""Distributed data parallel through ``torchrun``: one process per device, gloo on CPU, nccl on GPU.

``torchrun --nproc-per-node 2 $(which depth-ros) train ...`` sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; without them training runs in one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Distributed:
    """This process's place in the run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """The process that logs and writes checkpoints."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device_kind: str) -> Distributed:
    """Join the process group described by torchrun's environment (if any)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed()
    context = Distributed(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_kind == "cuda" else "gloo")
    return context


def wait_for_all(context: Distributed) -> None:
    """Return once every process has got here (at the end of a run that went well: the main process still
    writes the last checkpoint after the final step, and a process that tore gloo down meanwhile was seen to
    abort with ``terminate called without an active exception``, SIGABRT, in 1 of about 10 CI runs)."""
    if context.enabled and dist.is_initialized():
        dist.barrier()


def teardown(context: Distributed) -> None:
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()


def mean_across_processes(value: torch.Tensor, context: Distributed) -> torch.Tensor:
    """The mean of a tensor over all processes (itself in a single process)."""
    if not context.enabled:
        return value
    value = value.detach().clone()
    dist.all_reduce(value)
    return value / context.world_size


def gather_floats(value: float, context: Distributed) -> list[float]:
    """``value`` from every process, in rank order (a one-element list in a single process)."""
    if not context.enabled:
        return [value]
    gathered = [None] * context.world_size
    dist.all_gather_object(gathered, value)
    return [float(v) for v in gathered]
