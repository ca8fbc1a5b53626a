"""Shared fixtures: a ROS graph for the ROS tests (one per test module), one small synthetic sequence, the bags
written from it (mcap and sqlite3, written once per session), and a builder for hand-made bags that break one
promise at a time.

Everything is small (96x72 pixels, 12 frames) so the whole suite stays fast.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from ros_graph import RosGraph

from depth_ros.data.bag_layout import EXTRINSIC_KEY, TYPESTORE, BagTopics, FrameNames
from depth_ros.data.bag_writer import (
    BagWriter,
    extrinsic_metadata,
    odometry_message,
    transform_stamped,
    write_sample_bag,
)
from depth_ros.data.sample import Frame, OdometrySample
from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence

SAMPLE_CONFIG = SyntheticConfig(frames=12, width=96, height=72, seed=3)
STORAGES = ("mcap", "sqlite3")
DATA_SUFFIX = {"mcap": ".mcap", "sqlite3": ".db3"}


def bag_data_file(bag: Path) -> Path:
    """The single storage file (.mcap or .db3) inside a bag folder."""
    files = [p for p in bag.iterdir() if p.suffix in (".mcap", ".db3")]
    assert len(files) == 1, f"expected one storage file in {bag}, found {files}"
    return files[0]


def copy_truncated(bag: Path, destination: Path, fraction: float = 0.5) -> Path:
    """Copy of ``bag`` at ``destination`` whose storage file is cut to ``fraction`` of its size."""
    shutil.copytree(bag, destination)
    data = bag_data_file(destination)
    size = data.stat().st_size
    with data.open("r+b") as handle:
        handle.truncate(int(size * fraction))
    return destination


@pytest.fixture(scope="module")
def graph() -> Iterator[RosGraph]:
    """Real rclpy in the tests' private ROS domain, with a probe node (ros_graph.py); needs rclpy."""
    graph = RosGraph()
    yield graph
    graph.close()


@pytest.fixture(scope="session")
def sequence() -> SyntheticSequence:
    """The synthetic recording every bag of this session is written from."""
    return SyntheticSequence(SAMPLE_CONFIG)


@pytest.fixture(scope="session")
def frames(sequence: SyntheticSequence) -> list[Frame]:
    """The generator's frames (rendered once)."""
    return list(sequence)


@pytest.fixture(scope="session")
def odometry(sequence: SyntheticSequence) -> list[OdometrySample]:
    """The generator's 50 Hz odometry."""
    return sequence.odometry()


@pytest.fixture(scope="session", params=STORAGES)
def storage(request: pytest.FixtureRequest) -> str:
    """Bag storage plugin name; tests using it run once per storage."""
    return request.param


@pytest.fixture(scope="session")
def sample_bag(storage: str, sequence: SyntheticSequence, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``write_sample_bag`` output (rgb8) in ``storage``, written once per session. Do not modify it."""
    return write_sample_bag(tmp_path_factory.mktemp(f"sample_{storage}") / "bag", sequence, storage=storage)


@pytest.fixture(scope="session")
def mcap_bag(sequence: SyntheticSequence, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same bag, mcap only, for tests that need one bag rather than one per storage. (Overriding
    ``storage`` with a session-scoped ``parametrize`` instead shares pytest's cache of ``sample_bag``: run
    first, it handed the sqlite3 test of test_bags.py the mcap bag.) Do not modify it."""
    return write_sample_bag(tmp_path_factory.mktemp("sample_mcap_only") / "bag", sequence)


@pytest.fixture(scope="session")
def bgr8_bag(sequence: SyntheticSequence, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same recording with bgr8 colour images (mcap)."""
    return write_sample_bag(tmp_path_factory.mktemp("sample_bgr8") / "bag", sequence, encoding="bgr8")


BagBuilder = Callable[..., Path]


@pytest.fixture
def build_bag(sequence: SyntheticSequence, frames: list[Frame], odometry: list[OdometrySample]) -> BagBuilder:
    """A function writing a bag by hand with :class:`BagWriter`, with one part changed at a time.

    Keyword arguments:
        frames, odometry: what to write (default: the generator's).
        odometry_receive_ns: bag receive time of each odometry message (default: its header stamp);
            messages go into the bag in receive-time order, so a permutation here puts the header
            stamps out of order in the bag.
        topics: topic names (``tf_static=None`` writes no /tf_static).
        with_metadata_extrinsic: store the extrinsic in the bag metadata's custom_data.
        storage: mcap or sqlite3.
    """

    def build(
        path: Path,
        *,
        frames: Sequence[Frame] = frames,
        odometry: Sequence[OdometrySample] = odometry,
        odometry_receive_ns: Sequence[int] | None = None,
        topics: BagTopics = BagTopics(),
        with_metadata_extrinsic: bool = True,
        storage: str = "mcap",
    ) -> Path:
        names = FrameNames()
        receive = [s.stamp_ns for s in odometry] if odometry_receive_ns is None else list(odometry_receive_ns)
        events = [(r, 0, i) for i, r in enumerate(receive)] + [(f.stamp_ns, 1, i) for i, f in enumerate(frames)]
        with BagWriter(path, storage, topics) as bag:
            if with_metadata_extrinsic:
                bag.set_custom_data(EXTRINSIC_KEY, extrinsic_metadata(sequence.T_base_cam, names))
            if topics.tf_static:
                stamp = min([s.stamp_ns for s in odometry] + [f.stamp_ns for f in frames])
                tf = transform_stamped(sequence.T_base_cam, stamp, names.base, names.camera)
                message = TYPESTORE.types["tf2_msgs/msg/TFMessage"](transforms=[tf])
                bag.write(topics.tf_static, message, stamp, latched=True)
            for receive_ns, kind, index in sorted(events):
                if kind == 0 and topics.odometry:
                    bag.write(topics.odometry, odometry_message(odometry[index], names), receive_ns)
                elif kind == 1:
                    bag.write_frame(frames[index])
        return path

    return build
