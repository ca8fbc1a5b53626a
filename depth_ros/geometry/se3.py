"""Rigid transforms (SE(3)): rotations as quaternions, matrices and axis-angle; inversion; interpolation.

Conventions:

* ``T_b_a`` is a (4, 4) homogeneous transform that maps coordinates in frame ``a`` to frame ``b``
  (``p_b = T_b_a @ p_a``); its columns are ``a``'s axes and origin expressed in ``b``. So
  ``T_world_cam`` is the camera's pose in the world, and ``T_c_a = T_c_b @ T_b_a``.
* Quaternions are ``(x, y, z, w)``, the order of ``geometry_msgs/Quaternion``, and are returned with
  ``w >= 0``.
* Axis-angle is a rotation vector: unit axis times angle in radians (right-hand rule).
* Stamps are integer nanoseconds, like ``builtin_interfaces/Time`` folded into one number.

Functions accept batches (leading ``...`` dimensions). Those marked *NumPy or torch* also accept torch
tensors (used by the networks); the others are NumPy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from depth_ros.errors import PoseError
from depth_ros.geometry._array import array_namespace, like, swap_last_axes

_SMALL_ANGLE = 1e-4  # rad: below it, Taylor series replace sin(theta) / theta and its kin


def quaternion_to_matrix(q_xyzw: np.ndarray) -> np.ndarray:
    """(..., 4) quaternion ``(x, y, z, w)`` -> (..., 3, 3) rotation matrix; normalises the quaternion."""
    q = np.asarray(q_xyzw, dtype=np.float64)
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    if not np.all(np.isfinite(q)) or np.any(norm < 1e-9):
        raise PoseError(f"quaternion must be finite and non-zero, got {q.tolist()}")
    x, y, z, w = np.moveaxis(q / norm, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


UNIT_QUATERNION_TOLERANCE = 0.01  # on the squared length, as tf2 checks the quaternions it is given


def unit_quaternion_to_matrix(q_xyzw: np.ndarray, what: str) -> np.ndarray:
    """(3, 3) rotation of one quaternion ``(x, y, z, w)`` from a message or a parameter, which must have unit
    length: ``|x^2 + y^2 + z^2 + w^2 - 1| <= 0.01`` (tf2's test). One of another length is a bug upstream (a
    zeroed or half-written message), not a rotation to guess, so it is refused rather than normalised.

    Raises:
        PoseError: naming ``what``, for a quaternion that is not finite or not of unit length.
    """
    q = np.asarray(q_xyzw, dtype=np.float64)
    squared = float(np.dot(q, q))
    if not np.isfinite(squared) or abs(squared - 1.0) > UNIT_QUATERNION_TOLERANCE:
        raise PoseError(
            f"{what}: quaternion (x y z w) {q.tolist()} is not of unit length (length {np.sqrt(squared):.6g})"
        )
    return quaternion_to_matrix(q)


def matrix_to_quaternion(R: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrix -> (..., 4) unit quaternion ``(x, y, z, w)`` with ``w >= 0``.

    Uses the largest of ``w, x, y, z`` as the pivot (Shepperd's method), so it is accurate for every
    rotation, including half turns.
    """
    R = np.asarray(R, dtype=np.float64)
    m00, m11, m22 = R[..., 0, 0], R[..., 1, 1], R[..., 2, 2]
    # Four candidate solutions, each divided by the component it pivots on (4 * pivot ** 2 below).
    candidates = np.stack(
        [
            np.stack(
                [
                    1 + m00 - m11 - m22,
                    R[..., 1, 0] + R[..., 0, 1],
                    R[..., 0, 2] + R[..., 2, 0],
                    R[..., 2, 1] - R[..., 1, 2],
                ],
                -1,
            ),
            np.stack(
                [
                    R[..., 1, 0] + R[..., 0, 1],
                    1 - m00 + m11 - m22,
                    R[..., 2, 1] + R[..., 1, 2],
                    R[..., 0, 2] - R[..., 2, 0],
                ],
                -1,
            ),
            np.stack(
                [
                    R[..., 0, 2] + R[..., 2, 0],
                    R[..., 2, 1] + R[..., 1, 2],
                    1 - m00 - m11 + m22,
                    R[..., 1, 0] - R[..., 0, 1],
                ],
                -1,
            ),
            np.stack(
                [
                    R[..., 2, 1] - R[..., 1, 2],
                    R[..., 0, 2] - R[..., 2, 0],
                    R[..., 1, 0] - R[..., 0, 1],
                    1 + m00 + m11 + m22,
                ],
                -1,
            ),
        ],
        -2,
    )
    pivot = np.argmax(np.stack([m00 - m11 - m22, m11 - m00 - m22, m22 - m00 - m11, m00 + m11 + m22], -1), -1)
    q = np.take_along_axis(candidates, pivot[..., None, None], -2)[..., 0, :]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., 3:4] < 0, -q, q)


def axis_angle_to_matrix(rotvec: Any) -> Any:
    """(..., 3) rotation vector -> (..., 3, 3) rotation matrix (Rodrigues). NumPy or torch.

    Smooth at zero (Taylor series below 1e-4 rad), so gradients through it stay finite.
    """
    xp = array_namespace(rotvec)
    theta2 = (rotvec * rotvec).sum(-1)
    small = theta2 < _SMALL_ANGLE**2
    theta = xp.sqrt(xp.where(small, like(rotvec, 1.0), theta2))
    sin_over_theta = xp.where(small, 1.0 - theta2 / 6.0, xp.sin(theta) / theta)
    one_minus_cos_over_theta2 = xp.where(small, 0.5 - theta2 / 24.0, (1.0 - xp.cos(theta)) / (theta * theta))
    x, y, z = rotvec[..., 0], rotvec[..., 1], rotvec[..., 2]
    zero = xp.zeros_like(x)
    skew = xp.stack([xp.stack([zero, -z, y], -1), xp.stack([z, zero, -x], -1), xp.stack([-y, x, zero], -1)], -2)
    eye = like(rotvec, np.eye(3))
    return eye + sin_over_theta[..., None, None] * skew + one_minus_cos_over_theta2[..., None, None] * (skew @ skew)


def matrix_to_axis_angle(R: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrix -> (..., 3) rotation vector with angle in ``[0, pi]``."""
    q = matrix_to_quaternion(R)
    sin_half = np.linalg.norm(q[..., :3], axis=-1)
    angle = 2.0 * np.arctan2(sin_half, q[..., 3])
    scale = np.where(sin_half < 1e-12, 2.0, angle / np.maximum(sin_half, 1e-12))
    return q[..., :3] * scale[..., None]


def rotation_angle_deg(T_b_a: np.ndarray) -> float:
    """Angle in degrees (0..180) of the rotation part of a (4, 4) transform or a (3, 3) rotation."""
    return float(np.degrees(np.linalg.norm(matrix_to_axis_angle(np.asarray(T_b_a)[:3, :3]))))


def make_transform(R: Any, t: Any) -> Any:
    """(..., 4, 4) transform from a (..., 3, 3) rotation and a (..., 3) translation. NumPy or torch."""
    xp = array_namespace(R, t)
    top = xp.concatenate([R, t[..., None]], -1)
    bottom = like(R, np.array([0.0, 0.0, 0.0, 1.0])) + xp.zeros_like(top[..., :1, :])
    return xp.concatenate([top, bottom], -2)


def invert_transform(T_b_a: Any) -> Any:
    """``T_a_b`` from ``T_b_a`` (..., 4, 4), using ``R^T`` rather than a general inverse. NumPy or torch."""
    R_a_b = swap_last_axes(T_b_a[..., :3, :3])
    t = -(R_a_b @ T_b_a[..., :3, 3:4])[..., 0]
    return make_transform(R_a_b, t)


def check_rigid(T: np.ndarray, name: str = "transform", atol: float = 1e-5) -> np.ndarray:
    """Return ``T`` as float64 (..., 4, 4) after checking it is finite and rigid; raise :class:`PoseError`."""
    T = np.asarray(T, dtype=np.float64)
    if T.shape[-2:] != (4, 4):
        raise PoseError(f"{name}: expected (..., 4, 4), got shape {T.shape}")
    if not np.all(np.isfinite(T)):
        raise PoseError(f"{name}: contains NaN or infinite values")
    R = T[..., :3, :3]
    orthogonality = np.abs(swap_last_axes(R) @ R - np.eye(3)).max()
    if orthogonality > atol:
        raise PoseError(f"{name}: not a rigid transform (R^T R differs from I by {orthogonality:.2e})")
    if np.any(np.linalg.det(R) < 0):
        raise PoseError(f"{name}: not a rigid transform (det R < 0: a reflection)")
    if np.abs(T[..., 3, :] - [0, 0, 0, 1]).max() > atol:
        raise PoseError(f"{name}: not a rigid transform (last row must be [0, 0, 0, 1], got {T[..., 3, :].tolist()})")
    return T


def slerp(q0: np.ndarray, q1: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """Spherical linear interpolation of unit quaternions ``(x, y, z, w)`` along the shorter arc.

    Args:
        q0, q1: (..., 4) unit quaternions (``alpha = 0`` gives ``q0``, ``alpha = 1`` gives ``q1``).
        alpha: scalar or (...) interpolation fractions.
    """
    q0 = np.asarray(q0, dtype=np.float64)
    q1 = np.asarray(q1, dtype=np.float64)
    alpha = np.asarray(alpha, dtype=np.float64)[..., None]
    dot = (q0 * q1).sum(-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot)
    angle = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_angle = np.sin(angle)
    nearly_parallel = sin_angle < 1e-9
    safe_sin = np.where(nearly_parallel, 1.0, sin_angle)
    w0 = np.where(nearly_parallel, 1.0 - alpha, np.sin((1.0 - alpha) * angle) / safe_sin)
    w1 = np.where(nearly_parallel, alpha, np.sin(alpha * angle) / safe_sin)
    q = w0 * q0 + w1 * q1
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def interpolate_transform(T0: np.ndarray, T1: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """Pose between ``T0`` (``alpha = 0``) and ``T1`` (``alpha = 1``): slerp of rotation, lerp of translation."""
    alpha = np.asarray(alpha, dtype=np.float64)
    q = slerp(matrix_to_quaternion(T0[..., :3, :3]), matrix_to_quaternion(T1[..., :3, :3]), alpha)
    t = (1.0 - alpha[..., None]) * T0[..., :3, 3] + alpha[..., None] * T1[..., :3, 3]
    return make_transform(quaternion_to_matrix(q), t)


def interpolate_pose(
    stamps_ns: np.ndarray, poses: np.ndarray, query_ns: np.ndarray | int, max_gap_ns: int | None = None
) -> np.ndarray:
    """Poses at ``query_ns`` interpolated from a time series (no extrapolation).

    Args:
        stamps_ns: (N,) strictly increasing integer stamps in nanoseconds.
        poses: (N, 4, 4) transforms at those stamps (e.g. ``T_odom_base``).
        query_ns: scalar or (M,) stamps to interpolate at.
        max_gap_ns: refuse to interpolate across two samples further apart than this.

    Returns:
        (4, 4) or (M, 4, 4) interpolated transforms.

    Raises:
        PoseError: a query outside ``[stamps_ns[0], stamps_ns[-1]]`` or across a gap above ``max_gap_ns``.
    """
    stamps = np.asarray(stamps_ns, dtype=np.int64)
    if stamps.ndim != 1 or len(stamps) == 0 or len(stamps) != len(poses):
        raise PoseError(f"need N >= 1 stamps and N poses, got {stamps.shape} stamps and {np.shape(poses)} poses")
    if np.any(np.diff(stamps) <= 0):
        raise PoseError("pose stamps must be strictly increasing; sort them and drop duplicates first")
    query = np.asarray(query_ns, dtype=np.int64)
    if np.any(query < stamps[0]) or np.any(query > stamps[-1]):
        raise PoseError(
            f"stamp outside the pose series [{stamps[0]}, {stamps[-1]}] ns: asked for "
            f"[{query.min()}, {query.max()}] ns; poses are interpolated, never extrapolated"
        )
    upper = np.clip(np.searchsorted(stamps, query, side="left"), 1, max(len(stamps) - 1, 1))
    lower = upper - 1
    if len(stamps) == 1:
        return np.broadcast_to(poses[0], (*query.shape, 4, 4)).copy()
    gap = stamps[upper] - stamps[lower]
    on_sample = (query == stamps[lower]) | (query == stamps[upper])
    too_wide = (gap > max_gap_ns) & ~on_sample if max_gap_ns is not None else np.zeros_like(on_sample)
    if np.any(too_wide):
        raise PoseError(
            f"pose gap of {gap[too_wide].max() / 1e6:.3f} ms around the requested stamp exceeds "
            f"{max_gap_ns / 1e6:.3f} ms: poses are not interpolated across gaps"
        )
    alpha = (query - stamps[lower]) / gap
    return interpolate_transform(poses[lower], poses[upper], alpha)
