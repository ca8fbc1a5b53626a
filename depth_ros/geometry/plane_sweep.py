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

from depth_ros.geometry._array import array_namespace, like, swap_last_axes
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
    direction, offset = plane_sweep_rays(K_ref, K_meas, T_meas_ref, height, width)
    return plane_sweep_projection(direction, offset, depths, height, width, eps)


def plane_sweep_rays(K_ref: Any, K_meas: Any, T_meas_ref: Any, height: int, width: int) -> tuple[Any, Any]:
    """The depth-independent parts of the sweep, ``p(d) = d direction + offset`` (for computing the planes
    in several blocks with :func:`plane_sweep_projection`).

    Returns:
        ``direction``: (..., 3, H*W) ``K_meas R K_ref^-1 [u, v, 1]`` of every reference pixel, row-major;
        ``offset``: (..., 3, 1) ``K_meas t``.
    """
    rays = pixel_grid(height, width, K_ref).reshape(height * width, 3)
    direction = K_meas @ T_meas_ref[..., :3, :3] @ pinhole_inverse(K_ref) @ swap_last_axes(rays)
    return direction, K_meas @ T_meas_ref[..., :3, 3:4]


def plane_sweep_projection(
    direction: Any, offset: Any, depths: Any, height: int, width: int, eps: float = 0.0
) -> tuple[Any, Any]:
    """``uv`` and ``z`` of :func:`plane_sweep_pixels` at ``depths`` (D,), from :func:`plane_sweep_rays`."""
    # Coordinates first, (..., 3, D, HW): every step runs over contiguous rows (an inner axis of 3 made them
    # several times slower); uv is returned as a (..., D, H, W, 2) view of its (..., 2, D, HW).
    points = direction[..., None, :] * depths[:, None] + offset[..., None]
    z = points[..., 2:, :, :]
    uv = points[..., :2, :, :] / (z + eps)
    lead, planes = uv.shape[:-3], depths.shape[0]
    uv = uv.reshape(*lead, 2, planes, height, width)
    uv = array_namespace(uv).moveaxis(uv, len(lead), uv.ndim - 1)  # non-negative axes: ONNX export
    return uv, z.reshape(*lead, planes, height, width)


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
