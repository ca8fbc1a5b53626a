"""Plane-sweep warps: where each reference pixel lands in a measurement camera, for a set of depths.

A plane sweep hypothesises that every reference pixel lies on a fronto-parallel plane ``z = d`` of the
reference camera. For each hypothesis the pixel ``(u, v)`` back-projects to ``d K_ref^-1 [u, v, 1]``,
moves into the measurement camera by ``T_meas_ref`` and projects with ``K_meas``:

    p = K_meas (R d K_ref^-1 [u, v, 1] + t) = d (K_meas R K_ref^-1 [u, v, 1]) + K_meas t

which is MVDepthNet's ``KRKiUV * d + KT``. ``T_meas_ref`` maps reference camera coordinates into the
measurement camera (``inv(T_world_meas) @ T_world_ref``, MVDepthNet's "left2right"). Pixel conventions
are those of :mod:`depth_ros.geometry.camera`. NumPy or torch, all planes at once (no Python loop).
"""

from __future__ import annotations

from typing import Any

from depth_ros.geometry._array import like, swap_last_axes
from depth_ros.geometry.projection import pinhole_inverse, pixel_grid


def plane_sweep_pixels(
    K_ref: Any, K_meas: Any, T_meas_ref: Any, depths: Any, height: int, width: int, eps: float = 0.0
) -> tuple[Any, Any]:
    """Pixel coordinates in the measurement image of every reference pixel at every plane depth.

    Args:
        K_ref: (..., 3, 3) intrinsics of the reference image (``height x width``).
        K_meas: (..., 3, 3) intrinsics of the measurement image.
        T_meas_ref: (..., 4, 4) reference-to-measurement camera transform.
        depths: (D,) plane depths in metres along the reference optical axis (``1 / inverse_depth``).
        height, width: reference image size in pixels.
        eps: added to ``z`` before dividing (MVDepthNet uses 1e-6).

    Returns:
        ``uv``: (..., D, H, W, 2) measurement pixel coordinates ``(u, v)``, meaningful only where ``z > 0``;
        ``z``: (..., D, H, W) depth of the hypothesised point in the measurement camera, metres.
    """
    rays = pixel_grid(height, width, depths).reshape(height * width, 3)
    KR = K_meas @ T_meas_ref[..., :3, :3]
    direction = rays @ swap_last_axes(KR @ pinhole_inverse(K_ref))  # (..., HW, 3)
    offset = (K_meas @ T_meas_ref[..., :3, 3:4])[..., 0]  # (..., 3)
    points = direction[..., None, :, :] * depths[:, None, None] + offset[..., None, None, :]
    points = points.reshape(*points.shape[:-2], height, width, 3)
    z = points[..., 2]
    return points[..., :2] / (z[..., None] + eps), z


def grid_sample_coordinates(uv: Any, height: int, width: int, align_corners: bool) -> Any:
    """Pixel coordinates ``(u, v)`` -> the ``[-1, 1]`` coordinates ``torch.nn.functional.grid_sample`` reads.

    With ``align_corners=True``, -1 and 1 are the centres of the corner pixels: ``x = 2 u / (W - 1) - 1``.
    With ``align_corners=False``, they are the outer edges of the corner pixels: ``x = (2 u + 1) / W - 1``.
    Pass the same flag to ``grid_sample``; sampling at integer ``(u, v)`` then returns pixel values exactly.

    Args:
        uv: (..., 2) pixel coordinates in an image of ``height x width`` pixels.
    """
    if align_corners:
        scale = [2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)]
        shift = [-1.0, -1.0]
    else:
        scale = [2.0 / width, 2.0 / height]
        shift = [1.0 / width - 1.0, 1.0 / height - 1.0]
    return uv * like(uv, scale) + like(uv, shift)
