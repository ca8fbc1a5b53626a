"""MVDepthNet's plane-sweep cost volume as a per-plane loop, written from the published description.

This is an independent oracle for :func:`depth_ros.models.mvdepthnet.cost_volume` (which computes all
planes and frames at once): it follows ``depthNet.getVolume`` of the upstream model step by step
(``docs``: /work/shared/reference/models.md, section 2.2) and uses nothing from ``depth_ros``.

For every measurement frame, with ``(R, t)`` the reference-to-measurement transform ("left2right"):

* ``KRKiUV = K R K^-1 [u, v, 1]^T`` for every reference pixel ``(u, v)`` (integer pixel coordinates),
  and ``KT = K t``;
* for every plane of inverse depth ``i`` (depth ``d = 1 / i``): ``p = KRKiUV * d + KT``,
  ``uv = p[:2] / (p[2] + 1e-6)``, grid ``(u - W/2) / (W/2)``, ``(v - H/2) / (H/2)`` (MVDepthNet's
  convention), ``warped = grid_sample(measurement, grid, bilinear, zeros, align_corners=True)`` and
  ``cost = sum over channels |warped - reference|``;

and the volumes of the frames are averaged. Used by the tests and by the cost-volume benchmark.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-6


def cost_volume_per_plane(
    reference: torch.Tensor,
    measurements: torch.Tensor,
    K: torch.Tensor,
    T_meas_ref: torch.Tensor,
    inverse_depths: torch.Tensor,
) -> torch.Tensor:
    """Plane-sweep cost volume, one plane and one measurement frame at a time.

    Args:
        reference: (B, C, H, W) normalised reference image.
        measurements: (B, N, C, H, W) normalised measurement images.
        K: (B, 3, 3) intrinsics shared by the reference and the measurement images.
        T_meas_ref: (B, N, 4, 4) reference-to-measurement camera transforms.
        inverse_depths: (D,) plane inverse depths in m^-1.

    Returns:
        (B, D, H, W): for every plane, the per-pixel sum over channels of ``|warped - reference|``,
        averaged over the N measurement frames.
    """
    batch, frames, _, height, width = measurements.shape
    dtype, device = reference.dtype, reference.device

    # Homogeneous pixel coordinates [u, v, 1] of every reference pixel, row-major (v, then u): (3, H*W).
    v, u = torch.meshgrid(
        torch.arange(height, dtype=dtype, device=device),
        torch.arange(width, dtype=dtype, device=device),
        indexing="ij",
    )
    uv1 = torch.stack([u.reshape(-1), v.reshape(-1), torch.ones(height * width, dtype=dtype, device=device)])
    half_size = torch.tensor([width / 2.0, height / 2.0], dtype=dtype, device=device)
    K_inv = torch.linalg.inv(K)  # general inverse (as upstream's np.linalg.inv)

    volume = torch.zeros(batch, inverse_depths.shape[0], height, width, dtype=dtype, device=device)
    for frame in range(frames):
        R = T_meas_ref[:, frame, :3, :3]
        t = T_meas_ref[:, frame, :3, 3]
        KRKiUV = K @ R @ K_inv @ uv1  # (B, 3, H*W)
        KT = (K @ t[:, :, None])[:, :, 0]  # (B, 3)
        measurement = measurements[:, frame]
        for plane, inverse_depth in enumerate(inverse_depths):
            depth = 1.0 / inverse_depth
            p = KRKiUV * depth + KT[:, :, None]  # (B, 3, H*W)
            warp_uv = p[:, :2] / (p[:, 2:3] + EPS)  # (B, 2, H*W)
            grid = (warp_uv.transpose(1, 2) - half_size) / half_size  # (B, H*W, 2)
            grid = grid.reshape(batch, height, width, 2)
            warped = F.grid_sample(measurement, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
            volume[:, plane] += (warped - reference).abs().sum(1)
    return volume / frames
