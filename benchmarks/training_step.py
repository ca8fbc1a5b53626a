"""Where a training step's time goes: loading a batch (the trainer's DataLoader, for each number of workers)
against the network step on a batch already on the device (forward, loss, backward, update).

    python benchmarks/training_step.py monodepth2 --config config/train_monodepth2_lite.yaml [key=value ...]
        [--workers 0 4] [--steps 20] [--device cuda]

Both are timed in the same run, after warm-up, in samples per second; the trainer runs them one after the
other (``workers: 0``) or overlapped (``workers`` > 0), so its throughput is at most the smaller one. The
step is followed by ``torch.cuda.synchronize()`` on a GPU, and mixed precision follows the config's ``amp``.
``--profile`` adds PyTorch's profiler table of the step's operators, by self CPU time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from depth_ros.train.config import load_config
from depth_ros.train.sampler import EpochIndexed, ResumableSampler
from depth_ros.train.tasks import make_task

WARMUP = 3


def loading_rate(dataset, batch_size: int, workers: int, steps: int, pin_memory: bool) -> float:
    """Samples per second the trainer's DataLoader delivers with ``workers`` processes, after warm-up."""
    sampler = ResumableSampler(len(dataset), 0, 0, 1, 0, with_epoch=True)
    loader = DataLoader(
        EpochIndexed(dataset), batch_size, sampler=sampler, num_workers=workers, drop_last=True, pin_memory=pin_memory
    )
    batches = iter(loader)
    for _ in range(WARMUP):
        next(batches)
    started = time.perf_counter()
    for _ in range(steps):
        next(batches)
    return steps * batch_size / (time.perf_counter() - started)


def step_rate(task, batch: dict[str, torch.Tensor], device: torch.device, amp: bool, steps: int, profile: bool):
    """Samples per second of forward, loss, backward and Adam update on one batch kept on ``device``."""
    parameters = [p for network in task.networks.values() for p in network.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=1e-5)
    use_amp = amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    def step() -> None:
        with torch.autocast(device.type, enabled=use_amp):
            loss, _ = task.loss(task.networks, batch)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(WARMUP):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    rate = steps * len(next(iter(batch.values()))) / (time.perf_counter() - started)
    if profile:
        activities = [torch.profiler.ProfilerActivity.CPU]
        if device.type == "cuda":
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        with torch.profiler.profile(activities=activities) as profiler:
            for _ in range(3):
                step()
        print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("architecture", choices=["monodepth2", "mvdepthnet"])
    parser.add_argument("--config", type=Path, required=True, help="training config YAML")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, as depth-ros train")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 4], help="DataLoader workers to time")
    parser.add_argument("--steps", type=int, default=20, help="timed batches and steps (default: 20)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--profile", action="store_true", help="print the step's operators by self CPU time")
    args = parser.parse_intermixed_args()
    config = load_config(args.config, args.overrides)
    config.architecture = args.architecture
    torch.manual_seed(config.seed)
    started = time.perf_counter()
    task = make_task(config)
    print(f"{args.architecture} {config.width}x{config.height}, batch {config.batch_size}, model {config.model}")
    print(f"data prepared in {time.perf_counter() - started:.1f} s; {len(task.train_set)} training samples")
    device = torch.device(args.device)
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; amp {config.amp and device.type == 'cuda'}")
    for network in task.networks.values():
        network.to(device).train()
    for workers in args.workers:
        rate = loading_rate(task.train_set, config.batch_size, workers, args.steps, device.type == "cuda")
        print(f"loading, {workers} workers: {rate:8.1f} samples/s")
    loader = DataLoader(EpochIndexed(task.train_set), config.batch_size)
    batch = {k: v.to(device) for k, v in next(iter(loader)).items()}
    rate = step_rate(task, batch, device, config.amp, args.steps, args.profile)
    print(f"network step:      {rate:8.1f} samples/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
