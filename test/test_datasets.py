"""Frame sources and training samples: every source gives back what was written in its real format, and
the training datasets keep the conventions the losses rely on.

* KITTI raw (Monodepth2 layout), TUM RGB-D, image folders and ROS 2 bags are written in ``tmp_path`` from
  frames of the synthetic generator and read back: images, intrinsics, stamps, depth scaling and poses
  must come back as written; bad input must raise :class:`~depth_ros.errors.DatasetError` naming the
  file (and line).
* :class:`MonocularDataset`: sizes, K rescaled with the ``cv2.resize`` pixel convention, one colour
  jitter for all frames of a sample, flips that keep K consistent, determinism by seed.
* :class:`MultiViewDataset`: measurement frames within the baseline limits, ``T_meas_ref`` that warps
  a measurement onto the reference with the ground-truth depth, skipped frames counted.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from skimage.color import hsv2rgb, rgb2hsv

from depth_ros.data.augment import ColorJitter
from depth_ros.data.bag_layout import BagTopics
from depth_ros.data.bag_sequence import BagSequence
from depth_ros.data.bag_writer import BagWriter, camera_info_message, image_message, write_sample_bag
from depth_ros.data.folder import ImageFolderSequence
from depth_ros.data.kitti import KittiRawSequence, read_split
from depth_ros.data.sample import Frame
from depth_ros.data.sequence import FrameSequence, neighbour_frames
from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence
from depth_ros.data.training_samples import (
    MonocularDataset,
    MultiViewDataset,
    flipped_camera,
    resize_depth,
)
from depth_ros.data.tum import TUM_INTRINSICS, TumRgbdSequence, associate
from depth_ros.errors import DatasetError, DepthRosError
from depth_ros.geometry import (
    PinholeCamera,
    backproject,
    invert_transform,
    matrix_to_quaternion,
    project,
    transform_points,
)

DRIVE = "2011_09_26/2011_09_26_drive_0001_sync"
SECOND = 1_000_000_000
MS = 1_000_000


@pytest.fixture(scope="module")
def synthetic() -> SyntheticSequence:
    return SyntheticSequence(SyntheticConfig(frames=6, width=96, height=64))


@pytest.fixture(scope="module")
def synthetic_frames(synthetic: SyntheticSequence) -> list[Frame]:
    """The frames of ``synthetic`` (not conftest's ``frames``, which the bag builder uses)."""
    return list(synthetic)


@pytest.fixture(scope="module")
def moving() -> SyntheticSequence:
    """A longer sequence that speeds up to 0.25 m a frame, without moving objects (for warps)."""
    return SyntheticSequence(SyntheticConfig(frames=16, width=96, height=64, moving_objects=0, seed=4))


@pytest.fixture(scope="module")
def moving_frames(moving: SyntheticSequence) -> ListSequence:
    """``moving`` rendered once, for tests that read its frames many times."""
    return ListSequence(list(moving))


class ListSequence:
    """Frames in a list: the smallest FrameSequence."""

    def __init__(self, frames: list[Frame]):
        self.frames = frames

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> Frame:
        return self.frames[index]


def without_poses(frames: list[Frame], indices: range | list[int] | None = None) -> ListSequence:
    """The frames with ``T_world_cam`` removed (from all of them, or those at ``indices``)."""
    indices = range(len(frames)) if indices is None else indices
    return ListSequence([dataclasses.replace(f, T_world_cam=None) if i in indices else f for i, f in enumerate(frames)])


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def write_depth(path: Path, depth: np.ndarray, units_per_metre: float) -> np.ndarray:
    """Write a 16-bit depth PNG as KITTI/TUM do (0 = none) and return the metres it encodes (NaN = none)."""
    valid = np.isfinite(depth) & (depth * units_per_metre < 65535)
    raw = np.where(valid, np.round(np.where(valid, depth, 0) * units_per_metre), 0).astype(np.uint16)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), raw)
    return np.where(raw > 0, raw.astype(np.float32) / np.float32(units_per_metre), np.nan).astype(np.float32)


def seconds(stamp_ns: int) -> str:
    """A stamp as TUM writes it (seconds with 6 decimals)."""
    return f"{stamp_ns // SECOND}.{stamp_ns % SECOND // 1000:06d}"


def tum_line(stamp_ns: int, T_world_cam: np.ndarray) -> str:
    x, y, z, w = matrix_to_quaternion(T_world_cam[:3, :3])
    tx, ty, tz = T_world_cam[:3, 3]
    return f"{seconds(stamp_ns)} {tx:.9f} {ty:.9f} {tz:.9f} {x:.9f} {y:.9f} {z:.9f} {w:.9f}"


# ------------------------------------------------------------------------------------------------ KITTI


def p_rect_line(name: str, camera: PinholeCamera, tx: float) -> str:
    P = np.hstack([camera.K, [[tx], [0.0], [0.0]]])
    return f"{name}: " + " ".join(f"{v:.6e}" for v in P.ravel())


def write_kitti(root: Path, frames: list[Frame], depth_indices=(1, 2, 3, 4)) -> dict[int, np.ndarray]:
    """A KITTI raw tree with one drive: image_02 = the frames, image_03 = the frames mirrored, timestamps,
    calibration with distinct left/right cameras, and depth-benchmark ground truth for ``depth_indices``.
    Returns the depth each ground-truth PNG encodes."""
    camera = frames[0].camera
    right = PinholeCamera(camera.width, camera.height, camera.fx + 1, camera.fy + 2, camera.cx - 3, camera.cy + 4)
    date = root / "2011_09_26"
    date.mkdir(parents=True)
    (date / "calib_cam_to_cam.txt").write_text(
        "\n".join(
            [
                "calib_time: 09-Jan-2012 13:57:47",
                "corner_dist: 9.950000e-02",
                "S_rect_02: 9.600000e+01 6.400000e+01",
                p_rect_line("P_rect_02", camera, 44.857),
                p_rect_line("P_rect_03", right, -339.52),
            ]
        )
        + "\n"
    )
    drive = root / DRIVE
    stamps = []
    for i, frame in enumerate(frames):
        write_rgb(drive / "image_02" / "data" / f"{i:010d}.png", frame.rgb)
        write_rgb(drive / "image_03" / "data" / f"{i:010d}.png", frame.rgb[:, ::-1])
        stamps.append(f"2011-09-26 13:02:25.{100_000_000 * i + 12345:09d}")
    (drive / "image_02" / "timestamps.txt").write_text("\n".join(stamps) + "\n")
    gt = drive / "proj_depth" / "groundtruth" / "image_02"
    return {i: write_depth(gt / f"{i:010d}.png", frames[i].depth, 256.0) for i in depth_indices}


def test_kitti_reads_images_calibration_stamps_and_depth(tmp_path, synthetic_frames):
    depths = write_kitti(tmp_path / "kitti", synthetic_frames)
    split = tmp_path / "train_files.txt"
    split.write_text(f"{DRIVE} 1 l\n\n{DRIVE} 5 2\n{DRIVE} 3 r\n")
    sequence = KittiRawSequence(tmp_path / "kitti", split)
    assert isinstance(sequence, FrameSequence) and len(sequence) == 3 and sequence.extension == ".png"
    left, last, right = sequence[0], sequence[1], sequence[2]
    np.testing.assert_array_equal(left.rgb, synthetic_frames[1].rgb)
    np.testing.assert_array_equal(last.rgb, synthetic_frames[5].rgb)
    np.testing.assert_array_equal(right.rgb, synthetic_frames[3].rgb[:, ::-1])
    camera = synthetic_frames[0].camera
    assert (left.camera.width, left.camera.height) == (96, 64)
    np.testing.assert_allclose(left.camera.K, camera.K, rtol=1e-6)  # P_rect_02 written with 6 decimals
    np.testing.assert_allclose(right.camera.K, camera.K + np.array([[1, 0, -3], [0, 2, 4], [0, 0, 0]]), rtol=1e-6)
    assert left.stamp_ns == 1317042145 * SECOND + 100_012_345  # 2011-09-26 13:02:25 UTC
    assert right.stamp_ns == 3 * 100 * MS  # image_03 has no timestamps.txt: 10 Hz from the frame index
    np.testing.assert_array_equal(left.depth, depths[1])  # uint16 / 256, 0 -> NaN
    assert np.isnan(left.depth).any() and np.nanmax(np.abs(left.depth - synthetic_frames[1].depth)) <= 0.5 / 256 + 1e-5
    assert last.depth is None and right.depth is None  # no ground-truth PNG for frame 5 / image_03
    assert all(pose is None for pose in sequence.poses())


def test_kitti_neighbours_come_from_the_drive_not_the_split(tmp_path, synthetic_frames):
    write_kitti(tmp_path / "kitti", synthetic_frames)
    split = tmp_path / "files.txt"
    split.write_text(f"{DRIVE} 0 l\n{DRIVE} 2 l\n{DRIVE} 5 l\n{DRIVE} 4 r\n")
    sequence = KittiRawSequence(tmp_path / "kitti", split)
    before, after = neighbour_frames(sequence, 1, (-1, 1))
    np.testing.assert_array_equal(before.rgb, synthetic_frames[1].rgb)
    np.testing.assert_array_equal(after.rgb, synthetic_frames[3].rgb)
    np.testing.assert_array_equal(neighbour_frames(sequence, 3, (1,))[0].rgb, synthetic_frames[5].rgb[:, ::-1])
    assert [sequence.has_neighbours(i, (-1, 1)) for i in range(4)] == [False, True, False, True]
    dataset = MonocularDataset(sequence, 64, 96, augment=False)
    assert [int(dataset[i]["index"]) for i in range(len(dataset))] == [1, 3]
    np.testing.assert_array_equal(
        dataset[0]["images"][2].numpy(), synthetic_frames[3].rgb.transpose(2, 0, 1) / np.float32(255)
    )
    # K from P_rect_02 rescaled to the network size with the pixel-area convention u' = s (u + 0.5) - 0.5.
    K = MonocularDataset(sequence, 32, 64, augment=False)[0]["K"].double().numpy()
    fx, fy, cx, cy = (float(v) for v in sequence.intrinsics("2011_09_26", "02"))
    expected = [[fx * 2 / 3, 0, (cx + 0.5) * 2 / 3 - 0.5], [0, fy / 2, (cy + 0.5) / 2 - 0.5], [0, 0, 1]]
    np.testing.assert_allclose(K, expected, rtol=1e-6)


def test_kitti_finds_jpg_images(tmp_path, synthetic_frames):
    image = tmp_path / "kitti" / DRIVE / "image_02" / "data"
    write_kitti(tmp_path / "kitti", synthetic_frames[:2], depth_indices=())
    for png in image.glob("*.png"):
        cv2.imwrite(str(png.with_suffix(".jpg")), cv2.imread(str(png)), [cv2.IMWRITE_JPEG_QUALITY, 95])
        png.unlink()
    split = tmp_path / "files.txt"
    split.write_text(f"{DRIVE} 1 l\n")
    sequence = KittiRawSequence(tmp_path / "kitti", split)
    assert sequence.extension == ".jpg"
    assert np.abs(sequence[0].rgb.astype(float) - synthetic_frames[1].rgb).mean() < 5.0


def test_kitti_errors_name_the_file_and_line(tmp_path, synthetic_frames):
    root = tmp_path / "kitti"
    write_kitti(root, synthetic_frames[:3], depth_indices=())
    split = tmp_path / "files.txt"
    split.write_text(f"{DRIVE} 1 l\n{DRIVE} one l\n")
    with pytest.raises(DatasetError, match=r"files\.txt, line 2: expected 'folder frame_index side'"):
        KittiRawSequence(root, split)
    split.write_text(f"{DRIVE} 1 l\n{DRIVE} 2 x\n")
    with pytest.raises(DatasetError, match=r"line 2: .*side l, r, 2 or 3"):
        read_split(split)
    split.write_text(f"{DRIVE} 1 l\n{DRIVE} 9 l\n")
    with pytest.raises(DatasetError, match=r"files\.txt, line 2: image .*0000000009\.png not found"):
        KittiRawSequence(root, split)
    split.write_text("")
    with pytest.raises(DatasetError, match="lists no frames"):
        KittiRawSequence(root, split)
    split.write_text(f"{DRIVE} 1 l\n")
    with pytest.raises(DatasetError, match=r"no images found under .*empty: expected .*0000000001\.jpg or \.png"):
        KittiRawSequence(tmp_path / "empty", split)
    calibration = root / "2011_09_26" / "calib_cam_to_cam.txt"
    lines = calibration.read_text().splitlines()
    calibration.write_text("\n".join([*lines[:3], "P_rect_02: 1.0 2.0 three", *lines[4:]]))
    with pytest.raises(DatasetError, match=r"calib_cam_to_cam\.txt, line 4: P_rect_02 must be 12 numbers"):
        KittiRawSequence(root, split)
    calibration.write_text("\n".join([lines[0], "no colon here"]))
    with pytest.raises(DatasetError, match=r"calib_cam_to_cam\.txt, line 2: expected 'key: values'"):
        KittiRawSequence(root, split)
    calibration.unlink()
    with pytest.raises(DatasetError, match=r"calib_cam_to_cam\.txt not found"):
        KittiRawSequence(root, split)


# -------------------------------------------------------------------------------------------------- TUM

GAP_FRAME = 3  # groundtruth.txt has a 0.16 s hole around this frame
LAST_POSED = 4  # groundtruth.txt ends between frames 4 and 5


def write_tum(folder: Path, synthetic: SyntheticSequence, frames: list[Frame]) -> dict[int, np.ndarray]:
    """A TUM RGB-D sequence of the frames: depth 7 ms after each colour image except frame 2's (40 ms, too
    far to pair), an extra unpaired depth image, and 100 Hz ground truth with a gap around frame 3 that
    stops after frame 4. Returns the depth each PNG encodes, by frame."""
    header = "# color images\n# file: 'rgbd_dataset_freiburg1_xyz.bag'\n# timestamp filename\n"
    rgb_lines, depth_lines, depths = [], [], {}
    for i, frame in enumerate(frames):
        name = seconds(frame.stamp_ns)
        write_rgb(folder / "rgb" / f"{name}.png", frame.rgb)
        rgb_lines.append(f"{name} rgb/{name}.png")
        depth_stamp = seconds(frame.stamp_ns + (40 if i == 2 else 7) * MS)
        depths[i] = write_depth(folder / "depth" / f"{depth_stamp}.png", frame.depth, 5000.0)
        depth_lines.append(f"{depth_stamp} depth/{depth_stamp}.png")
    depth_lines.append(f"{seconds(frames[-1].stamp_ns + 500 * MS)} depth/unused.png")
    (folder / "rgb.txt").write_text(header + "\n".join(rgb_lines) + "\n")
    (folder / "depth.txt").write_text(header.replace("color", "depth") + "\n".join(depth_lines) + "\n")
    start = synthetic.config.start_time_ns
    gap = (frames[GAP_FRAME].stamp_ns - 80 * MS, frames[GAP_FRAME].stamp_ns + 80 * MS)
    end = frames[LAST_POSED].stamp_ns + 50 * MS
    truth = ["# ground truth trajectory", "# timestamp tx ty tz qx qy qz qw"]
    for stamp in range(start, end, 10 * MS):
        if not gap[0] < stamp < gap[1]:
            truth.append(tum_line(stamp, synthetic.T_world_cam((stamp - start) / 1e9)))
    (folder / "groundtruth.txt").write_text("\n".join(truth) + "\n")
    return depths


def test_tum_associates_scales_depth_and_interpolates_poses(tmp_path, synthetic, synthetic_frames):
    folder = tmp_path / "rgbd_dataset_freiburg1_xyz"
    depths = write_tum(folder, synthetic, synthetic_frames)
    sequence = TumRgbdSequence(folder)
    # frame 2: no depth within 0.02 s; frame 3: across the gap; frame 5: after the last pose.
    kept = [0, 1, 4]
    assert len(sequence) == len(kept)
    assert sum(sequence.dropped.values()) == 3
    assert sequence.intrinsics_source == "freiburg1 calibration"
    for k, i in enumerate(kept):
        frame = sequence[k]
        assert frame.stamp_ns == synthetic_frames[i].stamp_ns
        np.testing.assert_array_equal(frame.rgb, synthetic_frames[i].rgb)
        np.testing.assert_array_equal(frame.depth, depths[i])  # value / 5000, 0 -> NaN
        assert (
            np.isnan(frame.depth).any()
            and np.nanmax(np.abs(frame.depth - synthetic_frames[i].depth)) <= 0.5 / 5000 + 1e-5
        )
        assert (frame.camera.fx, frame.camera.fy, frame.camera.cx, frame.camera.cy) == TUM_INTRINSICS["freiburg1"]
        # Interpolated 3 ms after a 100 Hz ground-truth sample: some micrometres off, while the nearest
        # sample (no interpolation) would be a millimetre off at frame 4's speed.
        np.testing.assert_allclose(frame.T_world_cam, synthetic_frames[i].T_world_cam, atol=5e-5)
    np.testing.assert_allclose(np.array(sequence.poses()), [synthetic_frames[i].T_world_cam for i in kept], atol=5e-5)

    kept_unposed = TumRgbdSequence(folder, intrinsics=(50.0, 51.0, 47.0, 31.0), drop_unposed=False)
    assert len(kept_unposed) == 5 and kept_unposed[2].T_world_cam is None and kept_unposed[4].T_world_cam is None
    assert kept_unposed[0].camera == PinholeCamera(96, 64, 50.0, 51.0, 47.0, 31.0)
    assert kept_unposed.intrinsics_source == "argument"


def test_tum_without_ground_truth_and_with_unknown_camera(tmp_path, synthetic, synthetic_frames):
    folder = tmp_path / "my_kinect_recording"
    write_tum(folder, synthetic, synthetic_frames)
    (folder / "groundtruth.txt").unlink()
    sequence = TumRgbdSequence(folder)
    assert len(sequence) == 5 and all(pose is None for pose in sequence.poses())
    assert (sequence[0].camera.fx, sequence[0].camera.cx, sequence[0].camera.cy) == (525.0, 319.5, 239.5)
    with pytest.raises(DatasetError, match="needs camera poses"):
        MultiViewDataset(sequence, 64, 96)


def test_tum_association_is_one_to_one_from_the_closest_pair():
    rgb = np.array([0, 10, 20, 30]) * MS
    depth = np.array([1, 12, 14, 55]) * MS
    # 10 ms and 20 ms both want 12 ms (2 ms vs 8 ms): 10 ms gets it, 20 ms takes 14 ms; 30 ms finds 12 ms
    # and 14 ms taken and 55 ms 25 ms away.
    assert associate(rgb, depth, 20 * MS) == [(0, 0), (1, 1), (2, 2)]
    assert associate(rgb, depth, 30 * MS) == [(0, 0), (1, 1), (2, 2), (3, 3)]


def test_tum_errors_name_the_file_and_line(tmp_path, synthetic, synthetic_frames):
    folder = tmp_path / "rgbd_dataset_freiburg2_desk"
    write_tum(folder, synthetic, synthetic_frames)
    truth = (folder / "groundtruth.txt").read_text().splitlines()
    (folder / "groundtruth.txt").write_text("\n".join([*truth[:4], "1.0 2.0 3.0", *truth[4:]]))
    with pytest.raises(DatasetError, match=r"groundtruth\.txt, line 5: expected 'timestamp tx ty tz qx qy qz qw'"):
        TumRgbdSequence(folder)
    (folder / "groundtruth.txt").write_text("\n".join([*truth[:3], "1.0 0 0 0 0 0 0 0"]))
    with pytest.raises(DatasetError, match=r"groundtruth\.txt, line 4: .*quaternion"):
        TumRgbdSequence(folder)
    rgb = (folder / "rgb.txt").read_text().splitlines()
    (folder / "rgb.txt").write_text("\n".join([*rgb[:5], "12:30 rgb/x.png"]))
    with pytest.raises(DatasetError, match=r"rgb\.txt, line 6: expected 'timestamp filename'"):
        TumRgbdSequence(folder)
    (folder / "rgb.txt").write_text(rgb[0] + "\n")
    with pytest.raises(DatasetError, match=r"no images found under .*freiburg2_desk: rgb\.txt lists none"):
        TumRgbdSequence(folder)
    (folder / "depth.txt").unlink()
    with pytest.raises(DatasetError, match=r"depth\.txt not found"):
        TumRgbdSequence(folder)
    with pytest.raises(DatasetError, match="not found"):
        TumRgbdSequence(tmp_path / "missing")


# ----------------------------------------------------------------------------------------------- folder


def test_folder_reads_images_intrinsics_and_poses(tmp_path, synthetic_frames):
    camera = synthetic_frames[0].camera
    for i, frame in enumerate(synthetic_frames):
        write_rgb(tmp_path / f"{i:06d}.png", frame.rgb)
    intrinsics = {"fx": camera.fx, "fy": camera.fy, "cx": camera.cx, "cy": camera.cy, "width": 96, "height": 64}
    (tmp_path / "intrinsics.json").write_text(json.dumps(intrinsics))
    (tmp_path / "poses.txt").write_text(
        "\n".join(tum_line(i * SECOND, f.T_world_cam) for i, f in enumerate(synthetic_frames[:4]))
    )
    sequence = ImageFolderSequence(tmp_path)  # file names are numbers: stamps 0 s, 1 s, ...
    assert len(sequence) == 4 and sequence.dropped == {"no pose in poses.txt at the image's stamp": 2}
    for i in range(4):
        np.testing.assert_array_equal(sequence[i].rgb, synthetic_frames[i].rgb)
        assert sequence[i].camera == camera and sequence[i].stamp_ns == i * SECOND and sequence[i].depth is None
        np.testing.assert_allclose(sequence[i].T_world_cam, synthetic_frames[i].T_world_cam, atol=1e-8)
    assert len(ImageFolderSequence(tmp_path, drop_unposed=False)) == 6


def test_folder_with_named_images_and_a_camera_calibration_yaml(tmp_path, synthetic_frames):
    camera = synthetic_frames[0].camera
    for i, frame in enumerate(synthetic_frames[:3]):
        write_rgb(tmp_path / f"frame_{i}.jpg", frame.rgb)
    (tmp_path / "intrinsics.yaml").write_text(
        "image_width: 96\nimage_height: 64\ncamera_name: front\ncamera_matrix:\n  rows: 3\n  cols: 3\n"
        f"  data: [{camera.fx}, 0.0, {camera.cx}, 0.0, {camera.fy}, {camera.cy}, 0.0, 0.0, 1.0]\n"
    )
    sequence = ImageFolderSequence(tmp_path, fps=20.0)
    assert [sequence[i].stamp_ns for i in range(3)] == [0, 50 * MS, 100 * MS]
    assert sequence[2].camera == camera and sequence[2].T_world_cam is None


def test_folder_errors(tmp_path, synthetic_frames):
    with pytest.raises(DatasetError, match=r"no images found under .*: expected image files \(\.png"):
        ImageFolderSequence(tmp_path)
    write_rgb(tmp_path / "a.png", synthetic_frames[0].rgb)
    with pytest.raises(DatasetError, match=r"no intrinsics for the images in .*: expected intrinsics\.yaml"):
        ImageFolderSequence(tmp_path)
    (tmp_path / "intrinsics.yaml").write_text("fx: 50\nfy: 50\ncx: 47.5\n")
    with pytest.raises(DatasetError, match=r"intrinsics\.yaml: expected numbers fx, fy, cx, cy"):
        ImageFolderSequence(tmp_path)
    (tmp_path / "intrinsics.yaml").write_text("fx: 50\nfy: 50\ncx: 47.5\ncy: 31.5\nwidth: 640\nheight: 480\n")
    with pytest.raises(DatasetError, match=r"intrinsics\.yaml is for 640x480 images but .*a\.png is 96x64"):
        ImageFolderSequence(tmp_path)
    (tmp_path / "intrinsics.yaml").write_text("fx: 50\nfy: 50\ncx: 47.5\ncy: 31.5\n")
    (tmp_path / "poses.txt").write_text("5.0 0 0 0 0 0 0 1\n6.0 0 0 0 0 0 0 1\n")
    with pytest.raises(DatasetError, match=r"no image of .* has a pose in .*poses\.txt"):
        ImageFolderSequence(tmp_path)
    (tmp_path / "poses.txt").write_text("5.0 0 0 0 0 0 0 1\n6.0 0 0 0 0 0 1\n")
    with pytest.raises(DatasetError, match=r"poses\.txt, line 2"):
        ImageFolderSequence(tmp_path)


# -------------------------------------------------------------------------------------------------- bag


def test_bag_sequence_with_stride_and_poses(tmp_path, synthetic, synthetic_frames):
    bag = write_sample_bag(tmp_path / "bag", synthetic)
    sequence = BagSequence(bag, every=2)
    assert len(sequence) == 3 and sequence.has_poses
    for k, i in enumerate([0, 2, 4]):
        np.testing.assert_array_equal(sequence[k].rgb, synthetic_frames[i].rgb)
        np.testing.assert_array_equal(sequence[k].depth, synthetic_frames[i].depth)
        assert sequence[k].stamp_ns == synthetic_frames[i].stamp_ns and sequence[k].camera == synthetic_frames[i].camera
        np.testing.assert_allclose(sequence[k].T_world_cam, synthetic_frames[i].T_world_cam, atol=1e-3)
    with pytest.raises(DepthRosError, match="bag not found"):
        BagSequence(tmp_path / "nothing")


def test_bag_sequence_drops_frames_outside_the_odometry(tmp_path, build_bag, odometry):
    sequence = BagSequence(build_bag(tmp_path / "late", odometry=odometry[10:]))
    assert len(sequence) < 12 and sequence.dropped and all(pose is not None for pose in sequence.poses())
    assert len(BagSequence(tmp_path / "late", drop_unposed=False)) == 12


def test_bag_without_odometry_keeps_frames_but_cannot_feed_multi_view(tmp_path, build_bag):
    topics = dataclasses.replace(BagTopics(), odometry=None, tf_static=None, tf=None)
    bag = build_bag(tmp_path / "no_odometry", topics=topics, with_metadata_extrinsic=False)
    sequence = BagSequence(bag)
    assert len(sequence) == 12 and not sequence.has_poses and sequence[0].T_world_cam is None
    assert len(MonocularDataset(sequence, 64, 96)) == 10
    with pytest.raises(
        DatasetError, match=r"MultiViewDataset needs camera poses.*BagSequence\(.*no_odometry.*odometry"
    ):
        MultiViewDataset(sequence, 64, 96)


def test_bag_whose_images_all_have_an_unsupported_encoding_says_which(tmp_path, synthetic_frames):
    """The image topic carries depth (32FC1): the error names the encoding, not just "no images"."""
    bag = tmp_path / "depth_as_image"
    with BagWriter(bag, "mcap", BagTopics()) as writer:
        for frame in synthetic_frames:
            image = image_message(frame.depth.astype(np.float32), "32FC1", frame.stamp_ns, "camera")
            writer.write(BagTopics().image, image, frame.stamp_ns)
            writer.write(BagTopics().camera_info, camera_info_message(frame.camera, frame.stamp_ns, "camera"),
                         frame.stamp_ns)  # fmt: skip
    with pytest.raises(DatasetError) as raised:
        BagSequence(bag)
    message = str(raised.value)
    assert f"no usable images in bag {bag}: expected sensor_msgs/Image on /camera/image_raw" in message
    assert f"{len(synthetic_frames)} x frames skipped" in message and "32FC1" in message


# ------------------------------------------------------------------------------------ MonocularDataset


def test_monocular_sample_shapes_k_and_unaugmented_images(synthetic, synthetic_frames):
    dataset = MonocularDataset(synthetic, 32, 64, frame_offsets=(-2, 1), augment=False)
    assert dataset.indices == [2, 3, 4] and len(dataset) == 3
    sample = dataset[1]
    assert sample["images"].shape == (3, 3, 32, 64) and sample["images"].dtype == torch.float32
    assert sample["images_aug"].shape == (3, 3, 32, 64) and sample["depth"].shape == (1, 32, 64)
    # target, then the sources in the order of the offsets; shrunk with INTER_AREA
    expected = [cv2.resize(synthetic_frames[i].rgb, (64, 32), interpolation=cv2.INTER_AREA) for i in (3, 1, 4)]
    np.testing.assert_array_equal(
        (sample["images"] * 255).round().byte().numpy(), np.stack(expected).transpose(0, 3, 1, 2)
    )
    torch.testing.assert_close(sample["images_aug"], sample["images"])
    np.testing.assert_allclose(sample["K"].numpy(), synthetic_frames[3].camera.resized(64, 32).K, rtol=1e-6)
    # The pixel-area convention: K scales by 2/3 in x, 1/2 in y, and the centres move by (s - 1) / 2.
    fx, cx = synthetic_frames[3].camera.fx, synthetic_frames[3].camera.cx
    assert float(sample["K"][0, 0]) == pytest.approx(fx * 64 / 96) and float(sample["K"][0, 2]) == pytest.approx(
        (cx + 0.5) * 64 / 96 - 0.5
    )
    np.testing.assert_array_equal(sample["depth"][0].numpy(), resize_depth(synthetic_frames[3].depth, 64, 32))


def test_monocular_min_translation_leaves_out_static_targets(tmp_path, synthetic_frames):
    """A target is kept only when each source camera centre is >= min_translation from it."""
    x = [0.0, 0.0, 0.0, 0.1, 0.2, 0.2, 0.2, 0.3]  # metres along the camera's x axis
    frames = []
    for k, position in enumerate(x):
        pose = np.eye(4)
        pose[0, 3] = position
        frames.append(dataclasses.replace(synthetic_frames[k % len(synthetic_frames)], T_world_cam=pose))
    sequence = ListSequence(frames)
    assert MonocularDataset(sequence, 32, 64, augment=False).indices == [1, 2, 3, 4, 5, 6]
    # with sources -1 and +1, only target 3 moved 0.1 m from both; every other target stood still next to one
    dataset = MonocularDataset(sequence, 32, 64, augment=False, min_translation=0.05)
    assert dataset.indices == [3] and dataset.static == 5
    assert MonocularDataset(sequence, 32, 64, augment=False, min_translation=0.04).indices == [3]
    both_ways = MonocularDataset(sequence, 32, 64, frame_offsets=(1,), augment=False, min_translation=0.05)
    assert both_ways.indices == [2, 3, 6]
    with pytest.raises(DatasetError, match=r"no frame of .* moved at least min_translation = 0\.5 m"):
        MonocularDataset(sequence, 32, 64, augment=False, min_translation=0.5)
    # frames without a pose cannot be judged: left out; a source with none at all is a clear error
    partly = ListSequence([dataclasses.replace(f, T_world_cam=None) if i == 4 else f for i, f in enumerate(frames)])
    assert MonocularDataset(partly, 32, 64, frame_offsets=(1,), augment=False, min_translation=0.05).indices == [2, 6]
    with pytest.raises(DatasetError, match=r"min_translation needs camera poses.*min_translation: 0"):
        MonocularDataset(without_poses(frames), 32, 64, augment=False, min_translation=0.05)


def test_depth_resize_takes_the_nearest_pixel_centre():
    depth = np.arange(12, dtype=np.float32).reshape(3, 4)
    depth[0, 0] = np.nan
    up = resize_depth(depth, 8, 6)  # each source pixel becomes a 2x2 block
    np.testing.assert_array_equal(up[1::2, 1::2], depth)
    np.testing.assert_array_equal(up[::2, ::2], depth)
    down = resize_depth(np.arange(36, dtype=np.float32).reshape(6, 6), 2, 2)  # centres 1, 4 of each 3-block
    np.testing.assert_array_equal(down, [[7, 10], [25, 28]])


def test_monocular_flip_mirrors_images_and_k(synthetic):
    plain = MonocularDataset(synthetic, 64, 96, augment=False)
    augmented = MonocularDataset(synthetic, 64, 96, augment=True, seed=3)
    flips = [bool(augmented[i]["flipped"]) for i in range(len(augmented))]
    assert True in flips and False in flips
    item = flips.index(True)
    flipped, original = augmented[item], plain[item]
    torch.testing.assert_close(flipped["images"], original["images"].flip(-1))
    torch.testing.assert_close(flipped["depth"], original["depth"].flip(-1), equal_nan=True)
    # A point seen at (u, v) by the original camera is seen at (W - 1 - u, v) in the flipped image,
    # by the flipped K looking at the mirrored scene (x -> -x).
    points = np.array([[0.7, -0.2, 3.0], [-1.5, 0.4, 6.0], [0.0, 0.0, 2.0]])
    uv, _ = project(points, original["K"].double().numpy())
    uv_flipped, _ = project(points * [-1, 1, 1], flipped["K"].double().numpy())
    np.testing.assert_allclose(uv_flipped, np.stack([95 - uv[:, 0], uv[:, 1]], -1), atol=1e-4)
    # and the flipped image really shows it there: depth agrees at the mirrored pixel.
    u, v = 20, 30
    assert float(flipped["depth"][0, v, 95 - u]) == float(original["depth"][0, v, u])


def test_monocular_jitter_is_the_same_for_all_frames(synthetic_frames):
    """Frames that are permutations of each other's pixels (shifted copies) share their statistics, so
    one jitter must map each colour to the same colour in every frame."""
    base = synthetic_frames[3].rgb
    shifted = [np.roll(base, shift, axis=1) for shift in (0, 17, 40, 71)]
    sequence = ListSequence([dataclasses.replace(synthetic_frames[3], rgb=rgb) for rgb in shifted])
    dataset = MonocularDataset(sequence, 64, 96, frame_offsets=(-1, 1), augment=True, seed=0)
    jittered = 0
    for epoch in range(8):
        dataset.set_epoch(epoch)
        for item in range(len(dataset)):
            sample = dataset[item]
            if torch.equal(sample["images_aug"], sample["images"]):
                continue
            jittered += 1
            images = sample["images"].permute(0, 2, 3, 1).reshape(3, -1, 3).numpy()
            augmented = sample["images_aug"].permute(0, 2, 3, 1).reshape(3, -1, 3).numpy()
            lookup = {}
            for colour, result in zip(map(tuple, images[0]), augmented[0], strict=True):
                lookup.setdefault(colour, result)
            for k in (1, 2):
                mapped = np.array([lookup[tuple(c)] for c in images[k]])
                np.testing.assert_allclose(augmented[k], mapped, atol=1e-5)
            # and every frame of a jittered sample changes:
            assert all(not torch.equal(sample["images_aug"][k], sample["images"][k]) for k in range(3))
    assert 4 <= jittered <= 12  # p = 0.5 over 16 samples


def test_color_jitter_matches_torchvision_arithmetic(synthetic_frames):
    images = torch.from_numpy(synthetic_frames[2].rgb).permute(2, 0, 1).float()[None] / 255
    torch.testing.assert_close(ColorJitter()(images), images)
    torch.testing.assert_close(ColorJitter(brightness=0.9)(images), images * 0.9)
    mean = (0.2989 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2]).mean()
    torch.testing.assert_close(ColorJitter(contrast=1.2)(images), (1.2 * images - 0.2 * mean).clamp(0, 1))
    hsv = rgb2hsv(synthetic_frames[2].rgb)
    hsv[..., 0] = (hsv[..., 0] + 0.07) % 1.0
    expected = torch.from_numpy(hsv2rgb(hsv)).permute(2, 0, 1).float()[None]
    torch.testing.assert_close(ColorJitter(hue=0.07)(images), expected, atol=1e-5, rtol=0)


def test_monocular_is_deterministic_by_seed_and_epoch(synthetic):
    def samples(seed, epoch=0):
        dataset = MonocularDataset(synthetic, 64, 96, seed=seed)
        dataset.set_epoch(epoch)
        return [dataset[i] for i in range(len(dataset))]

    def same(a, b):
        return all(
            torch.equal(x["images_aug"], y["images_aug"]) and bool(x["flipped"]) == bool(y["flipped"])
            for x, y in zip(a, b, strict=True)
        )

    first = samples(1)
    assert same(first, samples(1))
    assert not same(first, samples(2)) and not same(first, samples(1, epoch=1))


def test_monocular_rejects_bad_sizes_and_sequences_too_short(synthetic, synthetic_frames):
    with pytest.raises(DatasetError, match="multiples of 32"):
        MonocularDataset(synthetic, 64, 100)
    with pytest.raises(DatasetError, match=r"no frame of .* has neighbours at offsets \(-3, 3\)"):
        MonocularDataset(ListSequence(synthetic_frames), 64, 96, frame_offsets=(-3, 3))
    with pytest.raises(DatasetError, match="non-zero"):
        MonocularDataset(synthetic, 64, 96, frame_offsets=(0, 1))
    with pytest.raises(TypeError, match="FrameSequence"):
        MonocularDataset(synthetic_frames[0], 64, 96)


# ----------------------------------------------------------------------------------- MultiViewDataset


def warp_error(sample: dict, k: int) -> tuple[float, float]:
    """Mean |measurement warped onto the reference - reference| (with the reference's depth, K and
    T_meas_ref) and the same without warping, over pixels with depth that land inside the measurement."""
    depth = sample["depth"][0].double().numpy()
    K = sample["K"].double().numpy()
    height, width = depth.shape
    has_depth = np.isfinite(depth)
    points = backproject(np.where(has_depth, depth, 1.0), K).reshape(-1, 3)
    uv, z = project(transform_points(sample["T_meas_ref"][k].double().numpy(), points), K)
    uv = uv.reshape(height, width, 2).astype(np.float32)
    measurement = sample["measurements"][k].permute(1, 2, 0).numpy()
    warped = cv2.remap(measurement, uv[..., 0], uv[..., 1], cv2.INTER_LINEAR)
    inside = (uv[..., 0] >= 1) & (uv[..., 0] <= width - 2) & (uv[..., 1] >= 1) & (uv[..., 1] <= height - 2)
    valid = has_depth & inside & (z.reshape(height, width) > 0)
    reference = sample["reference"].permute(1, 2, 0).numpy()
    assert valid.mean() > 0.3
    return float(np.abs(warped - reference)[valid].mean()), float(np.abs(measurement - reference)[valid].mean())


def test_multi_view_picks_measurements_by_baseline(moving):
    dataset = MultiViewDataset(
        moving, 64, 96, measurement_frames=2, min_baseline=0.1, max_baseline=0.5, search_window=4
    )
    poses = moving.poses()
    centres = np.array([pose[:3, 3] for pose in poses])
    references = set()
    for reference, measurements in dataset.pairs:
        references.add(reference)
        baselines = {j: np.linalg.norm(centres[j] - centres[reference]) for j in measurements}
        assert len(measurements) == 2 and all(0.1 <= b <= 0.5 and abs(j - reference) <= 4 for j, b in baselines.items())
        window = [j for j in range(max(0, reference - 4), min(16, reference + 5)) if j != reference]
        allowed = [np.linalg.norm(centres[j] - centres[reference]) for j in window]
        allowed = [b for b in allowed if 0.1 <= b <= 0.5]
        assert min(baselines.values()) >= sorted(allowed)[-2] - 1e-12  # the two largest allowed baselines
    # The sequence starts at rest: its first frames have no partner far enough within 4 frames.
    assert dataset.skipped == 16 - len(dataset.pairs) > 0 and 0 not in references
    assert dataset.skip_reasons and "fewer than 2 frames" in next(iter(dataset.skip_reasons))


def test_multi_view_relative_pose_warps_measurements_onto_the_reference(moving):
    dataset = MultiViewDataset(moving, 64, 96, measurement_frames=2, min_baseline=0.15, augment=False)
    for item in (len(dataset) // 2, len(dataset) - 1):
        sample = dataset[item]
        reference, measurements = dataset.pairs[item]
        assert sample["reference"].shape == (3, 64, 96) and sample["measurements"].shape == (2, 3, 64, 96)
        assert sample["T_meas_ref"].shape == (2, 4, 4) and sample["T_meas_ref"].dtype == torch.float32
        assert float(sample["reference"].max()) > 1.0  # 0..255, not 0..1
        np.testing.assert_array_equal(sample["measurement_indices"].numpy(), measurements)
        for k, j in enumerate(measurements):
            expected = invert_transform(moving.poses()[j]) @ moving.poses()[reference]
            np.testing.assert_allclose(sample["T_meas_ref"][k].numpy(), expected, atol=1e-6)
            warped, unwarped = warp_error(sample, k)
            assert warped < 6.0 and warped < 0.5 * unwarped, (warped, unwarped)
    # The check can fail: the inverse transform does not warp.
    sample = dataset[len(dataset) - 1]
    sample["T_meas_ref"] = torch.linalg.inv(sample["T_meas_ref"])
    assert warp_error(sample, 0)[0] > 2 * warp_error(dataset[len(dataset) - 1], 0)[0]


def test_multi_view_resized_sample_still_warps(moving):
    sample = MultiViewDataset(moving, 32, 64, min_baseline=0.15, augment=False)[8]
    np.testing.assert_allclose(sample["K"].numpy(), moving.camera.resized(64, 32).K, rtol=1e-6)
    warped, unwarped = warp_error(sample, 0)
    assert warped < 10.0 and warped < 0.6 * unwarped, (warped, unwarped)


def test_multi_view_skips_frames_without_pose_and_needs_poses(moving_frames, synthetic_frames):
    sequence = without_poses(moving_frames.frames, indices=[9, 10])
    dataset = MultiViewDataset(sequence, 64, 96, min_baseline=0.1, search_window=3, augment=False)
    assert dataset.skip_reasons["no pose"] == 2
    assert all(
        9 not in (reference, *measurements) and 10 not in measurements for reference, measurements in dataset.pairs
    )
    with pytest.raises(DatasetError, match=r"MultiViewDataset needs camera poses, but no frame of ListSequence"):
        MultiViewDataset(without_poses(synthetic_frames), 64, 96)
    with pytest.raises(DatasetError, match=r"no reference frame .*: 6 with fewer than 1 frames within 10 frames"):
        MultiViewDataset(ListSequence(synthetic_frames), 64, 96, min_baseline=2.0, max_baseline=3.0)


def test_multi_view_augmentation_is_paired_and_deterministic(moving_frames):
    dataset = MultiViewDataset(moving_frames, 64, 96, min_baseline=0.15, augment=True, seed=5)
    again = MultiViewDataset(moving_frames, 64, 96, min_baseline=0.15, augment=True, seed=5)
    plain = MultiViewDataset(moving_frames, 64, 96, min_baseline=0.15, augment=False)
    changed = [not torch.equal(dataset[i]["reference"], plain[i]["reference"]) for i in range(len(dataset))]
    assert any(changed) and not all(changed)  # SomeOf(0..2): a third of the samples are left alone
    for i in range(len(dataset)):
        torch.testing.assert_close(dataset[i]["measurements"], again[i]["measurements"], rtol=0, atol=0)
    # Frames showing the same picture stay the same picture after augmentation, up to the pixel noise
    # (sigma <= 2.55 grey levels); independent draws would differ by tens of grey levels.
    same_picture = ListSequence([dataclasses.replace(f, rgb=moving_frames[8].rgb) for f in moving_frames.frames])
    paired = MultiViewDataset(same_picture, 64, 96, min_baseline=0.15, augment=True, seed=5)
    differences = []
    for i in range(len(paired)):
        sample = paired[i]
        assert float(sample["reference"].min()) >= 0 and float(sample["reference"].max()) <= 255
        differences.append(float((sample["measurements"][0] - sample["reference"]).abs().mean()))
    assert max(differences) < 3.0 and differences.count(0.0) >= len(paired) // 3, differences


def test_multi_view_world_scale_scales_depth_and_baseline_together_and_nothing_else(moving):
    plain = MultiViewDataset(moving, 64, 96, min_baseline=0.15, augment=False)
    scaled = MultiViewDataset(moving, 64, 96, min_baseline=0.15, augment=False, world_scale=(0.25, 4.0))
    factors = []
    for item in range(len(plain)):
        a, b = plain[item], scaled[item]
        torch.testing.assert_close(a["reference"], b["reference"], rtol=0, atol=0)
        valid = torch.isfinite(a["depth"])
        factor = float((b["depth"][valid] / a["depth"][valid]).mean())
        torch.testing.assert_close(b["depth"][valid], factor * a["depth"][valid])
        torch.testing.assert_close(b["T_meas_ref"][:, :3, 3], factor * a["T_meas_ref"][:, :3, 3])
        torch.testing.assert_close(b["T_meas_ref"][:, :3, :3], a["T_meas_ref"][:, :3, :3], rtol=0, atol=0)
        factors.append(factor)
    assert min(factors) >= 0.25 and max(factors) <= 4.0 and max(factors) / min(factors) > 2.0
    warped, unwarped = warp_error(scaled[len(scaled) - 1], 0)  # still a consistent sample
    assert warped < 6.0 and warped < 0.5 * unwarped, (warped, unwarped)
    scaled.set_epoch(1)  # a new draw every epoch
    assert not torch.equal(
        scaled[0]["depth"],
        MultiViewDataset(moving, 64, 96, min_baseline=0.15, augment=False, world_scale=(0.25, 4.0))[0]["depth"],
    )
    with pytest.raises(DatasetError, match="world_scale"):
        MultiViewDataset(moving, 64, 96, min_baseline=0.15, world_scale=(2.0, 1.0))


def test_multi_view_depth_outside_the_range_is_unknown(moving):
    sample = MultiViewDataset(moving, 64, 96, min_baseline=0.15, augment=False, depth_range=(2.0, 10.0))[5]
    full = MultiViewDataset(moving, 64, 96, min_baseline=0.15, augment=False)[5]["depth"]
    inside = (full >= 2.0) & (full <= 10.0)
    assert 0 < int(inside.sum()) < int(torch.isfinite(full).sum())
    torch.testing.assert_close(sample["depth"][inside], full[inside])
    assert torch.isnan(sample["depth"][~inside]).all()


def test_flipped_camera_is_its_own_inverse(synthetic_frames):
    camera = synthetic_frames[0].camera.resized(64, 32)
    assert flipped_camera(flipped_camera(camera)) == camera
    assert flipped_camera(camera).cx == pytest.approx(63 - camera.cx)


def test_monocular_odometry_poses_warp_each_source_onto_the_target():
    """With ``odometry_unit``, the ground-truth depth (in those units) and the sample's ``T_source_target``
    bring each source onto the target, flipped samples included; the translation is in odometry units."""
    from depth_ros.losses import reprojection_error
    from depth_ros.train.monodepth2_task import Monodepth2Loss

    config = SyntheticConfig(frames=40, width=128, height=96, moving_objects=0, seed=3, trajectory="orbit")
    sequence = SyntheticSequence(config)  # orbiting: sideways motion and yaw, which a flip mirrors
    unit = 10.0
    dataset = MonocularDataset(sequence, 96, 128, augment=True, seed=1, odometry_unit=unit)
    warp = Monodepth2Loss([-1, 1], 1e-3, True, True, 0.1, 100.0).warp
    checked = {False: 0, True: 0}
    for item in range(len(dataset)):
        sample = dataset[item]
        index, motion = sample["index"], sample["T_source_target"]
        distances = [np.linalg.norm(sequence[index + k].T_world_cam[:3, 3] - sequence[index].T_world_cam[:3, 3])
                     for k in (-1, 1)]  # fmt: skip
        np.testing.assert_allclose(motion[:, :3, 3].norm(dim=1).numpy(), np.array(distances) / unit, rtol=1e-4)
        if min(distances) < 0.1:  # too little motion to tell a right warp from none
            continue
        images, depth = sample["images"][None], sample["depth"]
        depth = torch.where(torch.isfinite(depth), depth, torch.full_like(depth, 100.0)) / unit
        for j in (1, 2):
            warped = warp(images[:, j], depth, motion[j - 1][None], sample["K"][None])
            moved = reprojection_error(warped, images[:, 0]).mean().item()
            still = reprojection_error(images[:, j], images[:, 0]).mean().item()
            assert moved < 0.6 * still, (item, sample["flipped"], j, moved, still)
        checked[sample["flipped"]] += 1
    assert min(checked.values()) >= 3, checked
    with pytest.raises(DatasetError, match=r"poses: odometry needs camera poses.*train with poses: network"):
        MonocularDataset(without_poses(list(sequence)), 96, 128, augment=False, odometry_unit=unit)
