"""PoseBuffer: exact at samples, interpolated between them, never across gaps or outside its history, and
robust to bad, late and looped odometry while another thread reads it."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

from depth_ros.errors import PoseError
from depth_ros.geometry import axis_angle_to_matrix, make_transform
from depth_ros.pipeline.frame import FrameSkipped
from depth_ros.pipeline.pose_buffer import PoseBuffer

SECOND = 1_000_000_000
START = 1_700_000_000 * SECOND


def planar_pose(x: float, yaw: float) -> np.ndarray:
    """(4, 4) T_odom_base at ``x`` metres along odom x, heading ``yaw`` radians."""
    return make_transform(axis_angle_to_matrix(np.array([0.0, 0.0, yaw])), np.array([x, 0.0, 0.0]))


def moving_buffer(count: int = 5, period_ns: int = 20_000_000, **kwargs: float) -> PoseBuffer:
    """A buffer of ``count`` samples of a robot at 1 m/s and 1 rad/s from ``START``."""
    buffer = PoseBuffer(**kwargs)
    for i in range(count):
        t = i * period_ns / SECOND
        buffer.add(START + i * period_ns, planar_pose(t, t))
    return buffer


def skip_reason(buffer: PoseBuffer, stamp_ns: int) -> str:
    with pytest.raises(FrameSkipped) as caught:
        buffer.at(stamp_ns)
    return caught.value.reason


def test_at_a_sample_returns_that_sample_exactly_as_a_copy() -> None:
    buffer = moving_buffer()
    pose = buffer.at(START + 40_000_000)
    assert np.array_equal(pose, planar_pose(0.04, 0.04))
    pose[:] = 0.0
    assert np.array_equal(buffer.at(START + 40_000_000), planar_pose(0.04, 0.04))
    assert np.array_equal(buffer.at(START), planar_pose(0.0, 0.0))


@pytest.mark.parametrize("offset_ns", [1, 5_000_000, 10_000_000, 19_999_999])
def test_between_samples_the_motion_is_interpolated(offset_ns: int) -> None:
    buffer = moving_buffer()
    t = (20_000_000 + offset_ns) / SECOND
    assert np.allclose(buffer.at(START + 20_000_000 + offset_ns), planar_pose(t, t), atol=1e-12)


def test_no_interpolation_across_a_gap_but_samples_at_its_ends_are_served() -> None:
    buffer = PoseBuffer(max_gap_s=0.2)
    buffer.add(START, planar_pose(0.0, 0.0))
    buffer.add(START + SECOND // 2, planar_pose(1.0, 0.0))
    assert skip_reason(buffer, START + SECOND // 4) == "odometry gap"
    assert np.array_equal(buffer.at(START + SECOND // 2), planar_pose(1.0, 0.0))
    assert np.array_equal(buffer.at(START), planar_pose(0.0, 0.0))


def test_stamps_outside_the_history_are_skipped_with_stable_reasons() -> None:
    buffer = PoseBuffer()
    assert buffer.newest_stamp_ns is None
    assert skip_reason(buffer, START) == "no odometry yet"
    buffer = moving_buffer(count=3)
    assert buffer.newest_stamp_ns == START + 40_000_000
    assert skip_reason(buffer, START + 40_000_001) == "image newer than the latest odometry"
    assert skip_reason(buffer, START - 1) == "image older than the odometry history"


@pytest.mark.parametrize(
    "bad",
    [
        planar_pose(np.nan, 0.0),
        planar_pose(np.inf, 0.0),
        np.diag([1.1, 1.0, 1.0, 1.0]),  # a scaled "rotation"
        np.diag([1.0, 1.0, -1.0, 1.0]),  # a reflection
        np.eye(3),
    ],
    ids=["nan", "inf", "scaled", "reflection", "3x3"],
)
def test_an_invalid_pose_is_rejected_and_counted_and_the_buffer_still_works(bad: np.ndarray) -> None:
    buffer = moving_buffer(count=3)
    with pytest.raises(PoseError):
        buffer.add(START + 60_000_000, bad)
    assert buffer.rejected == {"invalid pose": 1}
    assert len(buffer) == 3 and buffer.newest_stamp_ns == START + 40_000_000
    buffer.add(START + 60_000_000, planar_pose(0.06, 0.06))
    assert np.allclose(buffer.at(START + 50_000_000), planar_pose(0.05, 0.05), atol=1e-12)


@pytest.mark.parametrize("position", [1e300, -1e300, 2e9], ids=["1e300", "-1e300", "2e9"])
def test_an_implausible_position_is_rejected_without_a_numpy_warning_not_taken_as_a_jump(position: float) -> None:
    buffer = moving_buffer(count=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow measuring the speed would be a RuntimeWarning
        with pytest.raises(PoseError, match=r"more than 1e\+09 m from the origin: not a plausible pose"):
            buffer.add(START + 60_000_000, planar_pose(position, 0.0))
    assert buffer.rejected == {"invalid pose": 1} and buffer.jumps == 0
    assert len(buffer) == 3 and buffer.newest_stamp_ns == START + 40_000_000


def test_late_and_duplicate_samples_are_rejected_and_the_buffer_is_unchanged() -> None:
    buffer = moving_buffer(count=3)
    with pytest.raises(PoseError, match="not newer"):
        buffer.add(START + 40_000_000, planar_pose(5.0, 0.0))  # duplicate stamp
    with pytest.raises(PoseError, match="not newer"):
        buffer.add(START + 10_000_000, planar_pose(5.0, 0.0))  # late
    assert buffer.rejected == {"out of order": 2}
    assert len(buffer) == 3 and buffer.resets == 0
    assert np.array_equal(buffer.at(START + 40_000_000), planar_pose(0.04, 0.04))


def replay(buffer: PoseBuffer, start_ns: int, count: int, first_t: float = 0.0, period_ns: int = 20_000_000) -> str:
    """Add ``count`` samples of the robot of :func:`moving_buffer` from ``start_ns``, at its pose ``first_t``
    seconds into its motion; what became of each: ``+`` added, ``R`` added as a restart of the history (a new
    time line or a jump), ``x`` refused as out of order."""
    outcomes = ""
    for i in range(count):
        t = first_t + i * period_ns / SECOND
        try:
            outcomes += "R" if buffer.add(start_ns + i * period_ns, planar_pose(t, t)) else "+"
        except PoseError:
            outcomes += "x"
    return outcomes


@pytest.mark.parametrize("back_ns", [5 * SECOND, SECOND // 2], ids=["5 s", "0.5 s"])
def test_a_bag_loop_starts_a_new_history_after_three_samples(back_ns: int) -> None:
    """A bag played again: the third sample in a row behind the newest, each after the last, replaces the history
    with those three, however short the loop."""
    buffer = moving_buffer(count=50)  # 1 s
    loop = START + 49 * 20_000_000 - back_ns
    assert replay(buffer, loop, count=5) == "xxR++"
    assert buffer.resets == 1 and buffer.rejected == {"out of order": 2}
    assert len(buffer) == 5 and buffer.newest_stamp_ns == loop + 4 * 20_000_000
    assert np.allclose(buffer.at(loop + 10_000_000), planar_pose(0.01, 0.01), atol=1e-12)  # between the first two
    assert skip_reason(buffer, loop - 1) == "image older than the odometry history"


def test_one_stale_sample_leaves_the_history_as_it_was() -> None:
    """An old message (an unset stamp, a stale publisher) is refused; the history it came into stays whole."""
    buffer = moving_buffer(count=50)
    with pytest.raises(PoseError, match="not newer"):
        buffer.add(0, planar_pose(9.0, 0.0))
    assert replay(buffer, START + 50 * 20_000_000, count=3, first_t=1.0) == "+++"
    assert buffer.resets == 0 and len(buffer) == 53
    assert np.allclose(buffer.at(START + 10_000_000), planar_pose(0.01, 0.01), atol=1e-12)


def test_a_second_clock_on_the_topic_never_clears_the_first() -> None:
    """Two publishers, one on wall time and one on sim time, alternate: the wall-time samples are kept, the others
    refused, and the history is never cleared."""
    buffer = PoseBuffer()
    for i in range(100):
        buffer.add(START + i * 20_000_000, planar_pose(i * 0.02, 0.0))
        with pytest.raises(PoseError, match="not newer"):
            buffer.add(10 * SECOND + i * 20_000_000, planar_pose(0.0, 0.0))
    assert buffer.resets == 0 and buffer.rejected == {"out of order": 100} and len(buffer) == 100
    assert np.allclose(buffer.at(START + 990_000_000), planar_pose(0.99, 0.0), atol=1e-12)


def test_samples_older_than_the_history_are_dropped() -> None:
    buffer = moving_buffer(count=150, history_s=1.0)  # 3 s at 50 Hz
    newest = buffer.newest_stamp_ns
    assert newest == START + 149 * 20_000_000
    assert len(buffer) == 51  # the newest and 50 periods of 20 ms behind it
    assert skip_reason(buffer, newest - SECOND - 1) == "image older than the odometry history"
    t = (newest - SECOND) / SECOND - START / SECOND
    assert np.allclose(buffer.at(newest - SECOND), planar_pose(t, t), atol=1e-9)


@pytest.mark.parametrize(
    "jump", [planar_pose(0.5, 0.0), planar_pose(0.0, 1.0)], ids=["0.5 m in 20 ms", "57 degrees in 20 ms"]
)
def test_an_odometry_jump_starts_the_history_again(jump: np.ndarray) -> None:
    """A base driver restarting at the origin: 0.5 m in 20 ms (25 m/s, for a robot set to 10 m/s at most) or a
    turn of 57 degrees (2865 deg/s) is a reset of the odometry frame, not motion: nothing is interpolated across it."""
    buffer = PoseBuffer(max_speed_mps=10.0)
    buffer.add(START, planar_pose(0.0, 0.0))
    assert buffer.add(START + 20_000_000, planar_pose(0.1, 0.0)) is False  # 5 m/s: motion
    assert buffer.add(START + 40_000_000, planar_pose(0.1, 0.0) @ jump) is True
    assert buffer.jumps == 1 and buffer.resets == 0 and len(buffer) == 1
    assert skip_reason(buffer, START + 30_000_000) == "image older than the odometry history"
    assert buffer.add(START + 60_000_000, planar_pose(0.1, 0.0) @ jump @ planar_pose(0.1, 0.0)) is False


def test_a_car_at_motorway_speed_is_motion_by_default() -> None:
    buffer = PoseBuffer()  # 40 m/s
    assert buffer.max_speed_mps == 40.0
    buffer.add(START, planar_pose(0.0, 0.0))
    assert buffer.add(START + 20_000_000, planar_pose(0.6, 0.0)) is False and buffer.jumps == 0  # 30 m/s


def test_constructor_rejects_non_positive_durations() -> None:
    with pytest.raises(ValueError, match="positive"):
        PoseBuffer(max_gap_s=0.0)


def test_concurrent_writer_and_reader_see_consistent_poses() -> None:
    """One thread adds odometry at 1 kHz of stamps while another interpolates just behind it."""
    buffer = PoseBuffer(history_s=0.5)
    period_ns, count = 1_000_000, 3000
    errors: list[BaseException] = []
    served = 0

    def write() -> None:
        for i in range(count):
            buffer.add(START + i * period_ns, planar_pose(i * 1e-3, 0.0))

    def read() -> None:
        nonlocal served
        while writer.is_alive() or served == 0:
            newest = buffer.newest_stamp_ns
            if newest is None:
                continue
            query = newest - period_ns // 2
            try:
                pose = buffer.at(query)
            except FrameSkipped:
                continue
            except BaseException as error:  # reported by the main thread
                errors.append(error)
                return
            if abs(pose[0, 3] - (query - START) * 1e-9) > 1e-9:
                errors.append(AssertionError(f"pose at {query} has x = {pose[0, 3]}"))
                return
            served += 1

    writer = threading.Thread(target=write, daemon=True)
    reader = threading.Thread(target=read, daemon=True)
    writer.start()
    reader.start()
    writer.join(timeout=30)
    reader.join(timeout=30)
    assert not errors, errors
    assert served > 0
    assert len(buffer) == 501 and not buffer.rejected
