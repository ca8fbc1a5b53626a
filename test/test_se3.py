"""Rigid-transform conventions (depth_ros.geometry.se3).

Pins down:

* quaternions are ``(x, y, z, w)`` (geometry_msgs order) and come back with ``w >= 0``; quaternion,
  matrix and axis-angle (right-hand rule) describe the same rotation, including identity, tiny angles,
  half turns and angles near pi (checked against SciPy's ``Rotation`` as an independent reference);
* ``T_b_a`` maps frame ``a`` to frame ``b`` (its columns are ``a``'s axes and origin in ``b``), so
  ``T_c_a = T_c_b @ T_b_a``; ``invert_transform`` is the inverse;
* ``axis_angle_to_matrix`` works on float64 torch tensors like on NumPy, with a finite (and correct)
  gradient at the zero rotation;
* ``check_rigid`` rejects NaN, non-orthogonal and reflecting matrices;
* ``slerp`` hits its endpoints, moves at constant angular speed, and takes the shorter arc;
* ``interpolate_pose`` interpolates between integer-nanosecond stamps, never extrapolates, refuses
  gaps above ``max_gap_ns`` and unsorted stamps, and is vectorised over query stamps.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from depth_ros.errors import PoseError
from depth_ros.geometry import (
    axis_angle_to_matrix,
    check_rigid,
    interpolate_pose,
    invert_transform,
    make_transform,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    quaternion_to_matrix,
    slerp,
    transform_points,
)

Rotation = pytest.importorskip("scipy.spatial.transform").Rotation

S45 = np.sin(np.pi / 4)
R_Z90 = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
OBLIQUE = np.array([1.0, -2.0, 0.5]) / np.linalg.norm([1.0, -2.0, 0.5])


def _random_quaternions(seed: int, n: int) -> np.ndarray:
    """(n, 4) unit quaternions uniform on SO(3), with both signs of w."""
    q = np.random.default_rng(seed).normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def _random_transforms(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    R = Rotation.from_quat(_random_quaternions(seed, n)).as_matrix()
    return make_transform(R, rng.normal(scale=3.0, size=(n, 3)))


def _rotation_angle(R: np.ndarray) -> np.ndarray:
    return np.arccos(np.clip((np.trace(R, axis1=-2, axis2=-1) - 1.0) / 2.0, -1.0, 1.0))


def _same_quaternion(q0: np.ndarray, q1: np.ndarray, atol: float) -> bool:
    """Equal up to the sign that does not change the rotation."""
    return bool(np.allclose(q0, q1, rtol=0, atol=atol) or np.allclose(q0, -q1, rtol=0, atol=atol))


# ---------------------------------------------------------------------------------------------------------
# Known values: the conventions themselves
# ---------------------------------------------------------------------------------------------------------


def test_quarter_turn_about_z_maps_x_to_y() -> None:
    q = np.array([0.0, 0.0, S45, S45])
    np.testing.assert_allclose(quaternion_to_matrix(q), R_Z90, rtol=0, atol=1e-15)
    np.testing.assert_allclose(axis_angle_to_matrix(np.array([0.0, 0.0, np.pi / 2])), R_Z90, rtol=0, atol=1e-15)
    np.testing.assert_allclose(R_Z90 @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    np.testing.assert_allclose(matrix_to_quaternion(R_Z90), q, rtol=0, atol=1e-15)
    np.testing.assert_allclose(matrix_to_axis_angle(R_Z90), [0.0, 0.0, np.pi / 2], rtol=0, atol=1e-15)


def test_quaternion_order_is_xyzw() -> None:
    # A quarter turn about x in (x, y, z, w): y goes to z. Read as (w, x, y, z) it would be a turn about y.
    R = quaternion_to_matrix(np.array([S45, 0.0, 0.0, S45]))
    np.testing.assert_allclose(R @ [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(quaternion_to_matrix(np.array([0.0, 0.0, 0.0, 1.0])), np.eye(3), rtol=0, atol=0)


def test_quaternion_to_matrix_normalises() -> None:
    q = np.array([0.1, -0.4, 0.3, 0.8])
    np.testing.assert_allclose(quaternion_to_matrix(7.5 * q), quaternion_to_matrix(q / np.linalg.norm(q)))


@pytest.mark.parametrize("q", [[0.0, 0.0, 0.0, 0.0], [np.nan, 0.0, 0.0, 1.0], [0.0, np.inf, 0.0, 1.0]])
def test_quaternion_to_matrix_rejects_zero_and_non_finite(q: list[float]) -> None:
    with pytest.raises(PoseError, match="finite and non-zero"):
        quaternion_to_matrix(np.array(q))


# ---------------------------------------------------------------------------------------------------------
# Random rotations: quaternion <-> matrix <-> axis-angle
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quaternion_and_matrix_agree_with_scipy(seed: int) -> None:
    q = _random_quaternions(seed, 500)
    R = quaternion_to_matrix(q)
    np.testing.assert_allclose(R, Rotation.from_quat(q).as_matrix(), rtol=0, atol=1e-12)  # SciPy uses (x, y, z, w) too
    np.testing.assert_allclose(np.swapaxes(R, -1, -2) @ R, np.broadcast_to(np.eye(3), R.shape), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, rtol=0, atol=1e-12)

    back = matrix_to_quaternion(R)
    assert back.shape == (500, 4)
    assert np.all(back[:, 3] >= 0)
    np.testing.assert_allclose(back, np.where(q[:, 3:] < 0, -q, q), rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", [3, 4])
def test_axis_angle_and_matrix_agree_with_scipy(seed: int) -> None:
    q = _random_quaternions(seed, 500)
    R = Rotation.from_quat(q).as_matrix()
    rotvec = matrix_to_axis_angle(R)
    assert np.all(np.linalg.norm(rotvec, axis=-1) <= np.pi + 1e-12)
    np.testing.assert_allclose(rotvec, Rotation.from_matrix(R).as_rotvec(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(axis_angle_to_matrix(rotvec), R, rtol=0, atol=1e-12)


def test_axis_angle_beyond_pi_wraps_to_the_same_rotation() -> None:
    rotvec = 1.5 * np.pi * OBLIQUE
    R = axis_angle_to_matrix(rotvec)
    np.testing.assert_allclose(R, Rotation.from_rotvec(rotvec).as_matrix(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(matrix_to_axis_angle(R), -0.5 * np.pi * OBLIQUE, rtol=0, atol=1e-12)


def test_conversions_keep_batch_dimensions() -> None:
    q = _random_quaternions(5, 24).reshape(2, 3, 4, 4)
    R = quaternion_to_matrix(q)
    assert R.shape == (2, 3, 4, 3, 3)
    assert matrix_to_quaternion(R).shape == (2, 3, 4, 4)
    assert matrix_to_axis_angle(R).shape == (2, 3, 4, 3)
    np.testing.assert_allclose(R[1, 2, 3], quaternion_to_matrix(q[1, 2, 3]), rtol=0, atol=0)
    np.testing.assert_allclose(axis_angle_to_matrix(matrix_to_axis_angle(R)), R, rtol=0, atol=1e-12)


EDGE_ROTATIONS = {
    "identity": np.zeros(3),
    "tiny-x": np.array([1e-9, 0.0, 0.0]),
    "tiny-oblique": 1e-9 * OBLIQUE,
    "below-taylor-threshold": 0.9e-4 * OBLIQUE,
    "above-taylor-threshold": 1.1e-4 * OBLIQUE,
    "half-turn-x": np.array([np.pi, 0.0, 0.0]),
    "half-turn-y": np.array([0.0, np.pi, 0.0]),
    "half-turn-z": np.array([0.0, 0.0, np.pi]),
    "half-turn-oblique": np.pi * OBLIQUE,
    "near-pi-1e-3": (np.pi - 1e-3) * OBLIQUE,
    "near-pi-1e-7": (np.pi - 1e-7) * OBLIQUE,
    "near-pi-x": np.array([np.pi - 1e-6, 0.0, 0.0]),
}


@pytest.mark.parametrize("rotvec", list(EDGE_ROTATIONS.values()), ids=list(EDGE_ROTATIONS))
def test_edge_case_rotations(rotvec: np.ndarray) -> None:
    angle = np.linalg.norm(rotvec)
    axis = rotvec / angle if angle > 0 else np.array([0.0, 0.0, 1.0])
    q = np.append(np.sin(angle / 2) * axis, np.cos(angle / 2))  # (x, y, z, w) from its definition
    R_expected = Rotation.from_rotvec(rotvec).as_matrix()

    R = axis_angle_to_matrix(rotvec)
    np.testing.assert_allclose(R, R_expected, rtol=0, atol=1e-14)
    np.testing.assert_allclose(quaternion_to_matrix(q), R_expected, rtol=0, atol=1e-14)

    q_back = matrix_to_quaternion(R)
    assert q_back[3] >= 0
    assert _same_quaternion(q_back, q, atol=1e-14)

    rotvec_back = matrix_to_axis_angle(R)
    if np.isclose(angle, np.pi, rtol=0, atol=1e-12):
        # A half turn about a and about -a are the same rotation: either sign is right.
        assert np.allclose(rotvec_back, rotvec, rtol=0, atol=1e-12) or np.allclose(
            rotvec_back, -rotvec, rtol=0, atol=1e-12
        )
    else:
        # Tiny angles must come back to full relative precision, not be flushed to zero.
        np.testing.assert_allclose(rotvec_back, rotvec, rtol=1e-6, atol=1e-14 * angle + 1e-300)
    np.testing.assert_allclose(axis_angle_to_matrix(rotvec_back), R_expected, rtol=0, atol=1e-14)


# ---------------------------------------------------------------------------------------------------------
# Transforms: T_b_a, composition, inversion
# ---------------------------------------------------------------------------------------------------------


def test_make_transform_layout() -> None:
    T = make_transform(R_Z90, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(T[:3, :3], R_Z90)
    np.testing.assert_array_equal(T[:3, 3], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(T[3], [0.0, 0.0, 0.0, 1.0])


def test_composition_convention_T_c_a_equals_T_c_b_times_T_b_a() -> None:
    # Frame a sits 1 m along b's x axis; b is c turned a quarter turn about z, 5 m up c's z axis.
    T_b_a = make_transform(np.eye(3), np.array([1.0, 0.0, 0.0]))
    T_c_b = make_transform(R_Z90, np.array([0.0, 0.0, 5.0]))
    T_c_a = T_c_b @ T_b_a
    points_a = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    # a's origin is (1, 0, 0) in b, which the quarter turn takes to (0, 1, 0), then up to z = 5.
    expected_c = np.array([[0.0, 1.0, 5.0], [0.0, 2.0, 5.0], [0.0, 1.0, 6.0]])
    np.testing.assert_allclose(transform_points(T_c_a, points_a), expected_c, rtol=0, atol=1e-15)
    # The columns of T_c_a are a's origin and axes expressed in c.
    np.testing.assert_allclose(T_c_a[:3, 3], expected_c[0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(T_c_a[:3, 0], [0.0, 1.0, 0.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(transform_points(invert_transform(T_c_a), expected_c), points_a, rtol=0, atol=1e-15)


@pytest.mark.parametrize("seed", [0, 1])
def test_invert_transform_numpy(seed: int) -> None:
    T = _random_transforms(seed, 50)
    T_inv = invert_transform(T)
    eye = np.broadcast_to(np.eye(4), T.shape)
    np.testing.assert_allclose(T_inv @ T, eye, rtol=0, atol=1e-12)
    np.testing.assert_allclose(T @ T_inv, eye, rtol=0, atol=1e-12)
    np.testing.assert_allclose(T_inv, np.linalg.inv(T), rtol=0, atol=1e-12)


def test_invert_transform_torch() -> None:
    T = torch.from_numpy(_random_transforms(2, 20))
    T_inv = invert_transform(T)
    assert isinstance(T_inv, torch.Tensor)
    assert T_inv.dtype == torch.float64
    torch.testing.assert_close(T_inv @ T, torch.eye(4, dtype=torch.float64).expand(20, 4, 4), atol=1e-12, rtol=0)


# ---------------------------------------------------------------------------------------------------------
# axis_angle_to_matrix on torch tensors
# ---------------------------------------------------------------------------------------------------------


def test_axis_angle_to_matrix_torch_matches_numpy() -> None:
    rng = np.random.default_rng(7)
    rotvec = np.concatenate(
        [rng.normal(size=(20, 3)), 1e-6 * rng.normal(size=(5, 3)), np.zeros((1, 3)), np.pi * OBLIQUE[None]]
    )
    R_torch = axis_angle_to_matrix(torch.from_numpy(rotvec))
    assert isinstance(R_torch, torch.Tensor)
    assert R_torch.dtype == torch.float64
    assert R_torch.shape == (27, 3, 3)
    np.testing.assert_allclose(R_torch.numpy(), axis_angle_to_matrix(rotvec), rtol=0, atol=1e-14)
    np.testing.assert_allclose(R_torch.numpy(), Rotation.from_rotvec(rotvec).as_matrix(), rtol=0, atol=1e-14)


def _skew(w: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -w[2], w[1]], [w[2], 0.0, -w[0]], [-w[1], w[0], 0.0]])


def test_axis_angle_to_matrix_gradient_at_zero_is_finite_and_correct() -> None:
    weights = np.random.default_rng(8).normal(size=(3, 3))
    rotvec = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    loss = (axis_angle_to_matrix(rotvec) * torch.from_numpy(weights)).sum()
    (grad,) = torch.autograd.grad(loss, rotvec)
    assert torch.all(torch.isfinite(grad))
    # dR / d(rotvec_k) at zero is the skew matrix of the k-th unit vector.
    expected = [(weights * _skew(np.eye(3)[k])).sum() for k in range(3)]
    np.testing.assert_allclose(grad.numpy(), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("scale", [1e-5, 1.0], ids=["taylor-branch", "rodrigues-branch"])
def test_axis_angle_to_matrix_gradcheck(scale: float) -> None:
    rotvec = torch.tensor(scale * np.array([0.3, -0.5, 0.8]), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(axis_angle_to_matrix, (rotvec,), eps=scale * 1e-4, atol=1e-7)


# ---------------------------------------------------------------------------------------------------------
# check_rigid
# ---------------------------------------------------------------------------------------------------------


def test_check_rigid_accepts_rigid_transforms() -> None:
    T = _random_transforms(9, 4).astype(np.float32)
    checked = check_rigid(T)
    assert checked.dtype == np.float64
    np.testing.assert_array_equal(checked, T.astype(np.float64))


def _bad(kind: str) -> np.ndarray:
    T = make_transform(R_Z90, np.array([1.0, 2.0, 3.0]))
    if kind == "nan":
        T[0, 3] = np.nan
    elif kind == "inf":
        T[1, 1] = np.inf
    elif kind == "scaled":
        T[:3, :3] *= 1.01
    elif kind == "sheared":
        T[0, 1] += 0.01
    elif kind == "reflection":
        T[:3, :3] = T[:3, :3] @ np.diag([1.0, 1.0, -1.0])
    elif kind == "bottom-row":
        T[3] = [0.0, 0.0, 0.1, 1.0]
    return T


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("nan", "NaN"),
        ("inf", "NaN or infinite"),
        ("scaled", "not a rigid"),
        ("sheared", "not a rigid"),
        ("reflection", "not a rigid"),
        ("bottom-row", "not a rigid"),
    ],
)
def test_check_rigid_rejects(kind: str, message: str) -> None:
    with pytest.raises(PoseError, match=message):
        check_rigid(_bad(kind), name="T_odom_base")


def test_check_rigid_rejects_one_bad_transform_in_a_batch() -> None:
    T = _random_transforms(10, 5)
    T[3] = _bad("reflection")
    with pytest.raises(PoseError, match="T_world_cam"):
        check_rigid(T, name="T_world_cam")


def test_check_rigid_rejects_wrong_shape() -> None:
    with pytest.raises(PoseError, match="shape"):
        check_rigid(np.eye(3))


# ---------------------------------------------------------------------------------------------------------
# slerp
# ---------------------------------------------------------------------------------------------------------

Q_IDENTITY = np.array([0.0, 0.0, 0.0, 1.0])
Q_Z90 = np.array([0.0, 0.0, S45, S45])


def test_slerp_endpoints_are_exact() -> None:
    q0, q1 = _random_quaternions(11, 2)
    q1 = q1 if q0 @ q1 >= 0 else -q1
    np.testing.assert_allclose(slerp(q0, q1, 0.0), q0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(slerp(q0, q1, 1.0), q1, rtol=0, atol=1e-15)


def test_slerp_midpoint_of_identity_and_quarter_turn_is_eighth_turn() -> None:
    expected = np.array([0.0, 0.0, np.sin(np.pi / 8), np.cos(np.pi / 8)])
    np.testing.assert_allclose(slerp(Q_IDENTITY, Q_Z90, 0.5), expected, rtol=0, atol=1e-15)


def test_slerp_takes_the_shorter_arc() -> None:
    # -q is the same rotation as q; the long way round would give a 135 degree turn at the middle.
    middle = slerp(Q_IDENTITY, -Q_Z90, 0.5)
    np.testing.assert_allclose(_rotation_angle(quaternion_to_matrix(middle)), np.pi / 4, rtol=0, atol=1e-12)
    np.testing.assert_allclose(quaternion_to_matrix(middle), quaternion_to_matrix(slerp(Q_IDENTITY, Q_Z90, 0.5)))
    # Also when the shorter arc goes the other way (through the w < 0 hemisphere of q0).
    q_far = np.array([0.0, 0.0, np.sin(4.0 / 2), np.cos(4.0 / 2)])  # 4 rad about z = 2 pi - 4 about -z; w < 0
    mid = quaternion_to_matrix(slerp(Q_IDENTITY, q_far, 0.5))
    np.testing.assert_allclose(matrix_to_axis_angle(mid), [0.0, 0.0, -(2 * np.pi - 4.0) / 2], rtol=0, atol=1e-12)


def test_slerp_has_constant_angular_speed() -> None:
    angle = 2.5
    q1 = np.append(np.sin(angle / 2) * OBLIQUE, np.cos(angle / 2))
    alphas = np.linspace(0.0, 1.0, 11)
    q = slerp(np.broadcast_to(Q_IDENTITY, (11, 4)), np.broadcast_to(q1, (11, 4)), alphas)
    assert q.shape == (11, 4)
    np.testing.assert_allclose(
        matrix_to_axis_angle(quaternion_to_matrix(q)), alphas[:, None] * angle * OBLIQUE, rtol=0, atol=1e-12
    )


def test_slerp_of_equal_quaternions_is_that_quaternion() -> None:
    q = _random_quaternions(12, 1)[0]
    for alpha in (0.0, 0.3, 1.0):
        out = slerp(q, q, alpha)
        assert np.all(np.isfinite(out))
        np.testing.assert_allclose(out, q, rtol=0, atol=1e-15)


# ---------------------------------------------------------------------------------------------------------
# interpolate_pose
# ---------------------------------------------------------------------------------------------------------

T0_NS = 1_700_000_000_123_456_789  # a realistic ROS stamp: too big for float64 to hold to the nanosecond
STAMPS = np.array([T0_NS, T0_NS + 100_000_000, T0_NS + 300_000_000], dtype=np.int64)
ANGLE_1 = np.radians(120.0)
POSES = np.stack(
    [
        np.eye(4),
        make_transform(axis_angle_to_matrix(ANGLE_1 * OBLIQUE), np.array([2.0, -4.0, 1.0])),
        make_transform(axis_angle_to_matrix(np.array([0.0, 0.0, 0.3])), np.array([3.0, 0.0, 0.0])),
    ]
)


def test_interpolate_pose_hits_the_samples() -> None:
    for stamp, pose in zip(STAMPS, POSES, strict=True):
        np.testing.assert_allclose(interpolate_pose(STAMPS, POSES, stamp), pose, rtol=0, atol=1e-12)


@pytest.mark.parametrize("offset_ns", [50_000_000, 25_000_000, 90_000_000, 87_654_321])
def test_interpolate_pose_between_samples(offset_ns: int) -> None:
    query = STAMPS[0] + offset_ns
    fraction = offset_ns / 100_000_000  # the odd offset fails if the stamps lose precision (float32)
    T = interpolate_pose(STAMPS, POSES, query)
    assert T.shape == (4, 4)
    np.testing.assert_allclose(T[:3, 3], fraction * POSES[1, :3, 3], rtol=0, atol=1e-12)
    np.testing.assert_allclose(T[:3, :3], axis_angle_to_matrix(fraction * ANGLE_1 * OBLIQUE), rtol=0, atol=1e-12)
    np.testing.assert_allclose(T[3], [0.0, 0.0, 0.0, 1.0])


def test_interpolate_pose_resolves_nanoseconds() -> None:
    stamps = np.array([T0_NS, T0_NS + 2], dtype=np.int64)
    poses = np.stack([np.eye(4), make_transform(np.eye(3), np.array([2.0, 0.0, 0.0]))])
    T = interpolate_pose(stamps, poses, T0_NS + 1)
    np.testing.assert_allclose(T[:3, 3], [1.0, 0.0, 0.0], rtol=0, atol=1e-12)


def test_interpolate_pose_is_vectorised_over_queries() -> None:
    queries = np.array([STAMPS[0], STAMPS[0] + 50_000_000, STAMPS[1] + 1, STAMPS[2] - 7, STAMPS[2]])
    T = interpolate_pose(STAMPS, POSES, queries)
    assert T.shape == (5, 4, 4)
    for i, query in enumerate(queries):
        np.testing.assert_allclose(T[i], interpolate_pose(STAMPS, POSES, int(query)), rtol=0, atol=1e-12)
    np.testing.assert_allclose(T[0], POSES[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(T[4], POSES[2], rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "query",
    [STAMPS[0] - 1, STAMPS[-1] + 1, [STAMPS[1], STAMPS[-1] + 10]],
    ids=["before-first", "after-last", "one-of-many-after-last"],
)
def test_interpolate_pose_refuses_to_extrapolate(query) -> None:
    with pytest.raises(PoseError, match="never extrapolated"):
        interpolate_pose(STAMPS, POSES, query)


def test_interpolate_pose_refuses_large_gaps() -> None:
    max_gap_ns = 150_000_000  # the first interval (100 ms) is fine, the second (200 ms) is not
    inside_first = interpolate_pose(STAMPS, POSES, STAMPS[0] + 50_000_000, max_gap_ns=max_gap_ns)
    np.testing.assert_allclose(inside_first[:3, 3], 0.5 * POSES[1, :3, 3], rtol=0, atol=1e-12)
    with pytest.raises(PoseError, match="gap"):
        interpolate_pose(STAMPS, POSES, STAMPS[1] + 100_000_000, max_gap_ns=max_gap_ns)
    with pytest.raises(PoseError, match="gap"):
        interpolate_pose(STAMPS, POSES, np.array([STAMPS[0] + 1, STAMPS[2] - 1]), max_gap_ns=max_gap_ns)


def test_interpolate_pose_at_a_sample_beside_a_gap_returns_that_sample() -> None:
    """Nothing is interpolated at an exact sample stamp, so the gap next to it does not matter."""
    at_sample = interpolate_pose(STAMPS, POSES, STAMPS[2], max_gap_ns=150_000_000)
    np.testing.assert_allclose(at_sample, POSES[2], rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "stamps",
    [[T0_NS, T0_NS, T0_NS + 5], [T0_NS + 5, T0_NS, T0_NS + 10], [T0_NS, T0_NS + 10, T0_NS + 5]],
    ids=["duplicate", "decreasing-first", "decreasing-last"],
)
def test_interpolate_pose_rejects_non_increasing_stamps(stamps: list[int]) -> None:
    with pytest.raises(PoseError, match="strictly increasing"):
        interpolate_pose(np.array(stamps, dtype=np.int64), POSES, T0_NS + 5)


def test_interpolate_pose_rejects_mismatched_lengths() -> None:
    with pytest.raises(PoseError, match="N poses"):
        interpolate_pose(STAMPS[:2], POSES, STAMPS[0])


def test_interpolate_pose_single_sample() -> None:
    np.testing.assert_allclose(interpolate_pose(STAMPS[1:2], POSES[1:2], STAMPS[1]), POSES[1])
    with pytest.raises(PoseError):
        interpolate_pose(STAMPS[1:2], POSES[1:2], STAMPS[1] + 1)


def test_rotation_angle_of_a_transform_is_its_axis_angle_norm_in_degrees() -> None:
    from depth_ros.geometry import axis_angle_to_matrix, make_transform, rotation_angle_deg

    axis = np.array([1.0, 2.0, -2.0]) / 3.0
    for degrees in (0.0, 30.0, 179.0):
        T = make_transform(axis_angle_to_matrix(axis * np.radians(degrees)), np.array([5.0, 0.0, 1.0]))
        assert rotation_angle_deg(T) == pytest.approx(degrees, abs=1e-6)
        assert rotation_angle_deg(T[:3, :3]) == pytest.approx(degrees, abs=1e-6)
