"""Back-projection of depth to 3D points, projection of points to pixels, rigid transforms of points.

Conventions: pixel centres at integer ``(u, v)`` (see :mod:`depth_ros.geometry.camera`); points in
the camera's optical frame (REP 103: x right, y down, z forward); depth is the z coordinate (distance
along the optical axis, metres), not the range along the ray. Every function takes NumPy arrays or
torch tensors (not mixed) and returns the same kind, on the same device.
"""

from __future__ import annotations

from typing import Any

from depth_ros.geometry._array import arange_like, array_namespace, swap_last_axes


def pixel_grid(height: int, width: int, like_array: Any) -> Any:
    """(H, W, 3) homogeneous pixel centres ``[u, v, 1]`` with the dtype/device of ``like_array``."""
    xp = array_namespace(like_array)
    u = arange_like(like_array, width)
    v = arange_like(like_array, height)
    vv, uu = xp.meshgrid(v, u, indexing="ij")
    return xp.stack([uu, vv, xp.ones_like(uu)], -1)


def pinhole_inverse(K: Any) -> Any:
    """(..., 3, 3) inverse of upper-triangular intrinsics in closed form (exportable to ONNX, unlike a
    general matrix inverse).

    For ``K = [[fx, s, cx], [0, fy, cy], [0, 0, 1]]``:
    ``K^-1 = [[1/fx, -s/(fx fy), (s cy - cx fy)/(fx fy)], [0, 1/fy, -cy/fy], [0, 0, 1]]``.
    """
    xp = array_namespace(K)
    fx, s, cx = K[..., 0, 0], K[..., 0, 1], K[..., 0, 2]
    fy, cy = K[..., 1, 1], K[..., 1, 2]
    zero, one = xp.zeros_like(fx), xp.ones_like(fx)
    rows = [
        xp.stack([1.0 / fx, -s / (fx * fy), (s * cy - cx * fy) / (fx * fy)], -1),
        xp.stack([zero, 1.0 / fy, -cy / fy], -1),
        xp.stack([zero, zero, one], -1),
    ]
    return xp.stack(rows, -2)


def backproject(depth: Any, K: Any) -> Any:
    """Points of a depth image in its camera frame.

    Args:
        depth: (..., H, W) depth in metres along the optical axis (z).
        K: (3, 3) or (..., 3, 3) intrinsics broadcastable against ``depth``'s leading dimensions.

    Returns:
        (..., H, W, 3) points ``depth * K^-1 [u, v, 1]`` in metres.
    """
    height, width = depth.shape[-2:]
    rays = pixel_grid(height, width, depth).reshape(height * width, 3) @ swap_last_axes(pinhole_inverse(K))
    rays = rays.reshape(*rays.shape[:-2], height, width, 3)
    return rays * depth[..., None]


def project(points: Any, K: Any) -> tuple[Any, Any]:
    """Pixel coordinates of points in the camera frame.

    Args:
        points: (..., N, 3) points in metres in the camera's optical frame.
        K: (3, 3) or (..., 3, 3) intrinsics broadcastable against ``points``' leading dimensions.

    Returns:
        ``uv``: (..., N, 2) pixel coordinates ``(u, v)``, meaningful only where ``z > 0``;
        ``z``: (..., N) depth of each point in metres.
    """
    homogeneous = points @ swap_last_axes(K)
    z = homogeneous[..., 2]
    return homogeneous[..., :2] / z[..., None], z


def transform_points(T_b_a: Any, points_a: Any) -> Any:
    """Map points from frame ``a`` to frame ``b``.

    Args:
        T_b_a: (4, 4) or (..., 4, 4) rigid transform whose columns are frame ``a``'s axes and origin in ``b``.
        points_a: (..., N, 3) points in frame ``a``.

    Returns:
        (..., N, 3) the same points in frame ``b``: ``R p + t``.
    """
    return points_a @ swap_last_axes(T_b_a[..., :3, :3]) + T_b_a[..., None, :3, 3]
