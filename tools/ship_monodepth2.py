"""Split a Monodepth2 training run's ``model.pt`` into the two files depth_ros ships.

    python tools/ship_monodepth2.py runs/monodepth2_lite/model.pt weights/monodepth2_lite.pt

writes the depth network with its metadata (what the nodes load) to the second path and the pose network
(used only by ``scale_mode: odometry``) beside it as ``*_pose.pt``, in float16: the pose network only
feeds a median scale ratio, and halving it keeps each shipped file under 10 MB.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from depth_ros.models.checkpoints import load_checkpoint, read_weights, save_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="model.pt written by depth-ros train monodepth2")
    parser.add_argument("out", type=Path, help="depth network file to write (the pose network goes to *_pose.pt)")
    args = parser.parse_args()
    network, metadata = load_checkpoint(args.model)
    pose = read_weights(args.model).get("networks", {}).get("pose")
    if pose is None:
        raise SystemExit(f"error: {args.model} holds no pose network")
    save_checkpoint(args.out, network, metadata)
    pose_out = args.out.with_name(f"{args.out.stem}_pose.pt")
    save_checkpoint(
        pose_out,
        None,
        metadata,
        networks={"pose": {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in pose.items()}},
    )
    for path in (args.out, pose_out):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
