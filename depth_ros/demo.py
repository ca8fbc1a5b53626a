"""``depth-ros demo`` (what ``make demo`` runs): the sample bag, both depth nodes live over DDS, a report.

1. Generate the sample bag (a synthetic street drive with exact ground truth), or reuse a cached one.
2. Draw it (``sample_preview.png``).
3. Replay it through both pipelines offline, then play it into both ROS nodes over DDS (shipped weights)
   and evaluate what they publish: the same numbers through the ROS path show it adds no error.
4. Write ``report/`` (``metrics.json``, ``report.md``, figures) and print the metrics table.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil
from pathlib import Path

from depth_ros.errors import DepthRosError


def sample_bag(out: Path, frames: int):
    """The demo's sample bag in ``out`` (reused when readable and of the right length) and its reader."""
    from depth_ros.data.bag_reader import BagReader
    from depth_ros.data.bag_writer import write_sample_bag
    from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence

    bag = out / "sample_bag"
    try:
        config = SyntheticConfig(frames=frames)
    except ValueError as error:
        raise DepthRosError(str(error)) from error
    if bag.exists():
        try:
            reader = BagReader(bag)
            if len(reader) != config.frames:
                raise DepthRosError(f"has {len(reader)} frames, expected {config.frames}")
            print(f"[1/4] reusing the sample bag {bag}")
            return reader
        except DepthRosError as error:
            print(f"[1/4] regenerating {bag}: the cached one is unusable ({error})")
            shutil.rmtree(bag)
    print(f"[1/4] generating the sample bag {bag}")
    write_sample_bag(bag, SyntheticSequence(config), progress=True)
    return BagReader(bag)


def run_demo(out: Path, frames: int, live: bool = True) -> int:
    """Run the demo into ``out``; returns the exit status."""
    from depth_ros.data.preview import save_preview
    from depth_ros.eval.ground_truth import open_ground_truth
    from depth_ros.eval.replay import MODELS
    from depth_ros.eval.session import (
        EvalRequest,
        ModelChoice,
        evaluate_bag,
        print_summary,
        require_evaluated,
        write_bag_report,
    )

    if live and importlib.util.find_spec("rclpy") is None:
        print("note: rclpy is not installed (no ROS 2 and no ROS 2 wheels): the live run over DDS is left out")
        live = False
    reader = sample_bag(out, frames)
    images = reader.read_all()
    preview = save_preview(images, out / "sample_preview.png", f"sample bag: {len(images)} frames")
    print(f"[2/4] drew {len(images)} frames read back from the bag (extrinsic from {reader.extrinsic_source})")
    print("[3/4] evaluating both models offline" + (" and live, through the ROS nodes over DDS" if live else ""))
    truth = open_ground_truth(reader)
    results = evaluate_bag(reader, truth, EvalRequest(tuple(ModelChoice(kind) for kind in MODELS), live=live))
    report = write_bag_report(out / "report", reader, truth, results)
    print(f"[4/4] wrote {report.parent}/\n")
    print_summary(results, reader, report)
    topics = ", ".join(topic for topic in dataclasses.astuple(reader.topics) if topic)
    print(f"\ndemo output in {out}/")
    print(f"  {reader.path.name}/  ROS 2 bag (mcap) with {topics}")
    print(f"  {preview.name}  frames, ground-truth depth and the camera path")
    runs = "offline and live" if live else "offline"
    print(f"  {report.parent.name}/  report.md, metrics.json and figures: {runs}, mono and multiview")
    require_evaluated(results, report.parent)
    return 0
