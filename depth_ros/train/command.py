"""``depth-ros train {monodepth2,mvdepthnet} --config FILE.yaml [key=value ...] [--resume | --overwrite]``.

An ``out=`` folder that already holds a run's checkpoints is refused unless ``--resume`` continues that run or
``--overwrite`` replaces it (see :mod:`depth_ros.train.loop`).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import get_args

from depth_ros.models.metadata import Architecture


def _train(args: argparse.Namespace) -> int:
    from depth_ros.train.config import ConfigError, load_config
    from depth_ros.train.loop import CHECKPOINTS, run
    from depth_ros.train.tasks import make_task

    config = load_config(args.config, args.overrides)
    if config.architecture not in ("", args.architecture):
        raise ConfigError(f"the config trains {config.architecture}, not {args.architecture}: fix one of them")
    config.architecture = args.architecture
    summary = run(config, make_task, resume=args.resume, overwrite=args.overwrite)
    if os.environ.get("RANK", "0") != "0":  # under torchrun, the first process reports
        return 0
    print(json.dumps({k: round(v, 6) if isinstance(v, float) else v for k, v in summary.items()}))
    written = [name for name in CHECKPOINTS if (Path(config.out) / name).is_file()]
    print(f"checkpoints in {config.out}/ ({', '.join(written)}); reproduce: --config {config.out}/config.yaml")
    if "best.pt" not in written:
        source = config.data.source
        print(f"no best.pt: this run had no validation (held-out synthetic sequences only; data.source={source})")
    return 0


def register_train(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train Monodepth2 (self-supervised) or MVDepthNet (supervised)",
        description="Train a depth network; run under torchrun for distributed data parallel.",
        epilog="example: depth-ros train mvdepthnet --config config/train_mvdepthnet_lite.yaml steps=2000",
    )
    parser.add_argument("architecture", choices=get_args(Architecture))
    parser.add_argument("--config", type=Path, help="YAML file of config keys (see depth_ros/train/config.py)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument(
        "--overwrite", action="store_true", help="start afresh in an OUT that holds a previous run, replacing its "
        "checkpoints (without --resume or --overwrite, such an OUT is refused)",
    )  # fmt: skip
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. steps=500")
    parser.set_defaults(handler=_train)
