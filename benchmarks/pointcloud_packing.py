"""PointCloud2 building speed for a 640x480 depth image, one core: our vectorised back-projection and
packing against a per-point Python loop (``struct.pack_into``) and against a plain copy of as many bytes,
all timed in the same run (medians of repeats); the loop's bytes are checked to be ours.

    .venv/bin/python benchmarks/pointcloud_packing.py [--repeats 51]

Targets: at least 50x faster than the loop, within 3x of the memory copy (640 * 480 * 16 bytes), judged
on the path the nodes take (``reuse``: the last published cloud's buffer written over); a new message
each time (its allocation and zero fill) and the two-step path are printed beside it.
Also printed, for the notes in depth_ros/ros/messages.py: what the generated setters of ``uint8[] data``
cost per kind of value, and what rclpy's ``serialize_message`` (run by every publish) costs for the cloud.
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

import argparse  # noqa: E402
import array  # noqa: E402
import math  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rclpy.serialization import serialize_message  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from depth_ros.geometry import PinholeCamera  # noqa: E402
from depth_ros.pipeline.points import organised_points  # noqa: E402
from depth_ros.ros.messages import point_cloud_from_depth, point_cloud_message  # noqa: E402
from depth_ros.runtime.benchmark import measure  # noqa: E402

WIDTH, HEIGHT = 640, 480
TARGET_VS_LOOP = 50.0
TARGET_VS_COPY = 3.0


def median_seconds(function: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``repeats`` timed calls after one untimed one."""
    return measure([function], repeats, warmup=1)[0].median_ms / 1e3


def scene_depth() -> np.ndarray:
    """(480, 640) float32 metres: a floor and a wall, sky (+inf) above the horizon, a NaN blob, noise."""
    v, u = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    floor = 1.2 * 500.0 / np.maximum(v - 0.3 * HEIGHT, 1e-3)
    depth = np.minimum(floor, 8.0 + 0.005 * u) * (1.0 + 0.01 * np.sin(u / 7.0) * np.cos(v / 5.0))
    depth[v < 0.25 * HEIGHT] = np.inf
    depth[(u - 450.0) ** 2 + (v - 330.0) ** 2 < 40.0**2] = np.nan
    return depth.astype(np.float32)


def loop_cloud(depth: np.ndarray, camera: PinholeCamera) -> bytes:
    """The xyz PointCloud2 data, one point at a time: float32 rays, ``x = ray * z``, NaN for invalid."""
    float32 = struct.Struct("<f")

    def rounded(value: float) -> float:
        return float32.unpack(float32.pack(value))[0]

    x_over_z = [rounded((u - camera.cx) / camera.fx) for u in range(camera.width)]
    y_over_z = [rounded((v - camera.cy) / camera.fy) for v in range(camera.height)]
    point = struct.Struct("<3f")
    nan = float("nan")
    data = bytearray(camera.width * camera.height * 16)
    offset = 0
    for v, row in enumerate(depth.tolist()):
        for u, z in enumerate(row):
            if 0.0 < z < math.inf:
                # A product of two float32 values is exact in float64, so packing rounds it as float32 would.
                point.pack_into(data, offset, x_over_z[u] * z, y_over_z[v] * z, z)
            else:
                point.pack_into(data, offset, nan, nan, nan)
            offset += 16
    return bytes(data)


def setter_costs(repeats: int) -> None:
    """Milliseconds to fill ``Image.data`` (640x480 32FC1) each way, with and without field checks."""
    pixels = np.random.default_rng(0).integers(0, 256, WIDTH * HEIGHT * 4, dtype=np.uint8)
    values = {
        "bytes": pixels.tobytes(),
        "array.array('B')": array.array("B", pixels.tobytes()),
        "list of int": pixels.tolist(),
        "numpy uint8": pixels,
    }
    print(f"\nImage.data of a 640x480 32FC1 image ({pixels.size / 1e6:.1f} MB), ms per fill:")
    print(f"{'value':18} {'default':>10} {'ROS_PYTHON_CHECK_FIELDS=1':>26}")
    for name, value in values.items():
        cells = []
        for check in (False, True):
            msg = Image(check_fields=check)
            slow = name in ("list of int", "numpy uint8") or (check and name == "bytes")

            def assign(msg=msg, value=value) -> None:
                msg.data = value

            try:
                cells.append(f"{1e3 * median_seconds(assign, 3 if slow else repeats):.3f}")
            except AssertionError:
                cells.append("rejected")
        print(f"{name:18} {cells[0]:>10} {cells[1]:>26}")

    def grow_in_place() -> None:
        msg = Image()
        msg.data.frombytes(pixels)

    print(f"{'frombytes in place':18} {1e3 * median_seconds(grow_in_place, repeats):10.3f} {'(same)':>26}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=51, help="timed repeats of the fast paths (default: 51)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cv2.setNumThreads(1)

    camera = PinholeCamera.from_fov(WIDTH, HEIGHT, 70.0)
    depth = scene_depth()
    header = Header(frame_id="camera_optical")
    valid = np.isfinite(depth).mean()
    cloud_bytes = WIDTH * HEIGHT * 16
    print(f"xyz PointCloud2 of a {WIDTH}x{HEIGHT} depth image ({valid:.0%} valid), one core")

    def ours() -> object:
        return point_cloud_message(organised_points(depth, camera), header)

    def fused() -> object:
        return point_cloud_from_depth(depth, camera, header)

    reference = loop_cloud(depth, camera)
    if not bytes(ours().data) == bytes(fused().data) == reference:
        print("error: the vectorised cloud and the per-point loop disagree")
        return 2

    source = np.random.default_rng(1).integers(0, 256, cloud_bytes, dtype=np.uint8)
    copy_s = median_seconds(lambda: bytes(source), args.repeats)
    loop_s = median_seconds(lambda: loop_cloud(depth, camera), 3)
    all_valid = np.nan_to_num(depth, nan=5.0, posinf=50.0)
    published = fused()

    def reused() -> object:
        return point_cloud_from_depth(depth, camera, header, reuse=published)

    if bytes(reused().data) != reference:
        print("error: the cloud written over a published one differs from the per-point loop")
        return 2
    # (name, seconds, judged against the targets: the path the nodes take)
    rows = [
        ("organised_points + point_cloud_message", median_seconds(ours, args.repeats), False),
        ("point_cloud_from_depth, new message", median_seconds(fused, args.repeats), False),
        ("point_cloud_from_depth, reuse (nodes)", median_seconds(reused, args.repeats), True),
        (
            "  the same, every pixel valid",
            median_seconds(lambda: point_cloud_from_depth(all_valid, camera, header, reuse=published), args.repeats),
            True,
        ),
    ]
    print(f"memory copy of {cloud_bytes / 1e6:.1f} MB (bytes(buffer)): {1e3 * copy_s:.3f} ms")
    print(f"per-point Python loop (struct.pack_into):   {1e3 * loop_s:.1f} ms, same bytes as ours: yes")
    print(f"{'ours':40} {'ms':>7} {'vs loop':>9} {'vs copy':>8} {'targets':>8}")
    all_met = True
    for name, seconds, judged in rows:
        vs_loop, vs_copy = loop_s / seconds, seconds / copy_s
        met = vs_loop >= TARGET_VS_LOOP and vs_copy <= TARGET_VS_COPY
        all_met &= met or not judged
        verdict = ("ok" if met else "MISSED") if judged else "-"
        print(f"{name:40} {1e3 * seconds:7.3f} {vs_loop:8.0f}x {vs_copy:7.2f}x {verdict:>8}")
    print(f"(targets: >= {TARGET_VS_LOOP:.0f}x faster than the loop, <= {TARGET_VS_COPY:.0f}x the copy, for the path")
    print(" the nodes take: a published cloud's buffer written over; a new message adds its allocation and zero fill)")

    msg = fused()
    serialize_s = median_seconds(lambda: serialize_message(msg), 9)
    print(f"\nfor scale: rclpy's serialize_message of this cloud: {1e3 * serialize_s:.2f} ms")
    print("(a publish serialises it as well, inside the middleware)")
    setter_costs(args.repeats)
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
