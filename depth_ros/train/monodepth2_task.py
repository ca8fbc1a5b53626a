"""Self-supervised Monodepth2 training from monocular video (Godard et al., ICCV 2019).

For a target frame and its neighbours (``frame_offsets``, default -1 and +1): the depth network predicts
sigmoid disparities at 4 scales from the colour-augmented target; the pose network predicts the motion
from each pair in temporal order (``[I(-1), I(0)]`` inverted, ``[I(0), I(+1)]`` as is); every scale's
disparity is upsampled to full resolution, turned into depth (``disp_to_depth``), back-projected,
moved into each source camera and projected; the *un-augmented* source image is sampled there
(bilinear, border padding, ``align_corners=True`` with the matching pixel-to-grid mapping). The loss per
pixel is the minimum over sources of ``0.85 SSIM + 0.15 L1`` with auto-masking against the unwarped
sources, plus edge-aware smoothness of the mean-normalised disparity weighted ``1e-3 / 2^s``, averaged
over scales. With ``poses: odometry`` the batch's known camera motion replaces the pose network.
Optionally (``depth_loss``) a ground-truth depth term on each scale's full-resolution depth
joins it (not part of Monodepth2: for data that has depth, see depth_ros.train.depth_supervision).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from depth_ros.geometry import (
    axis_angle_to_matrix,
    backproject,
    grid_sample_coordinates,
    invert_transform,
    make_transform,
    project,
    transform_points,
)
from depth_ros.losses.photometric import min_reprojection_loss, reprojection_error
from depth_ros.losses.smoothness import edge_aware_smoothness
from depth_ros.models.monodepth2 import disp_to_depth
from depth_ros.train.depth_supervision import DepthLoss

Batch = dict[str, torch.Tensor]


def pose_from_network(axisangle: torch.Tensor, translation: torch.Tensor, invert: bool) -> torch.Tensor:
    """(B, 3) axis-angle and (B, 3) translation -> (B, 4, 4) ``T = [R | t]``, or its inverse if ``invert``."""
    transform = make_transform(axis_angle_to_matrix(axisangle), translation)
    return invert_transform(transform) if invert else transform


class Monodepth2Loss:
    """The training loss of one batch (see the module docstring).

    Batch: ``images`` (B, F, 3, H, W) in [0, 1], target first then the sources in ``frame_offsets`` order;
    ``images_aug`` (the same, colour-jittered, fed to the networks); ``K`` (B, 3, 3) at network size;
    with ``depth_loss``: ``depth`` (B, 1, H, W) metres, NaN where unknown; with known camera motion
    (``poses: odometry``): ``T_source_target`` (B, F - 1, 4, 4), used instead of the pose network.
    """

    def __init__(self, frame_offsets: list[int], smoothness: float, automask: bool, min_reprojection: bool,
                 min_depth: float, max_depth: float, depth_loss: DepthLoss | None = None,
                 depth_loss_weight: float = 1.0):  # fmt: skip
        self.frame_offsets = list(frame_offsets)
        self.depth_loss, self.depth_loss_weight = depth_loss, depth_loss_weight
        self.smoothness = smoothness
        self.automask = automask
        self.min_reprojection = min_reprojection
        self.min_depth, self.max_depth = min_depth, max_depth

    def source_poses(self, pose_network: nn.Module, images: torch.Tensor) -> list[torch.Tensor]:
        """``T_source_target`` (B, 4, 4) for each source: maps target camera coordinates into the source camera."""
        poses = []
        for index, offset in enumerate(self.frame_offsets, start=1):
            if offset < 0:
                axisangle, translation = pose_network(images[:, index], images[:, 0])
            else:
                axisangle, translation = pose_network(images[:, 0], images[:, index])
            poses.append(pose_from_network(axisangle[:, 0, 0], translation[:, 0, 0], invert=offset < 0))
        return poses

    def warp(self, source: torch.Tensor, depth: torch.Tensor, T_source_target: torch.Tensor, K: torch.Tensor):
        """Sample ``source`` (B, 3, H, W) where each target pixel of ``depth`` (B, H, W) lands in it."""
        batch, height, width = depth.shape
        points = transform_points(T_source_target, backproject(depth, K).reshape(batch, -1, 3))
        points = torch.cat([points[..., :2], points[..., 2:].clamp(min=1e-6)], -1)  # behind the camera: far off
        uv, _ = project(points, K)
        grid = grid_sample_coordinates(uv.reshape(batch, height, width, 2), height, width, align_corners=True)
        return F.grid_sample(source, grid, mode="bilinear", padding_mode="border", align_corners=True)

    def __call__(self, networks: dict[str, nn.Module], batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        images, augmented, K = batch["images"], batch["images_aug"], batch["K"]
        height, width = images.shape[-2:]
        target = images[:, 0]
        disparities = networks["depth"](augmented[:, 0])
        if "T_source_target" in batch:  # known camera motion (poses: odometry) instead of the pose network
            poses = list(batch["T_source_target"].unbind(1))
        else:
            poses = self.source_poses(networks["pose"], augmented)
        sources = range(1, images.shape[1])
        identity = [reprojection_error(images[:, j], target) for j in sources] if self.automask else None
        total = supervised = target.new_zeros(())
        masked_fraction = 0.0
        for scale, disparity in enumerate(disparities):
            full = F.interpolate(disparity, (height, width), mode="bilinear", align_corners=False)
            _, depth = disp_to_depth(full, self.min_depth, self.max_depth)
            reprojection = [
                reprojection_error(self.warp(images[:, j], depth[:, 0], poses[j - 1], K), target) for j in sources
            ]
            per_pixel, automask = min_reprojection_loss(
                reprojection, identity, automask=self.automask, average=not self.min_reprojection
            )
            target_at_scale = F.interpolate(target, disparity.shape[-2:], mode="area")
            smooth = edge_aware_smoothness(disparity, target_at_scale)
            total = total + per_pixel.mean() + self.smoothness * smooth / 2**scale
            if self.depth_loss is not None:
                supervised = supervised + self.depth_loss(depth, batch["depth"])
            if scale == 0:
                masked_fraction = 1.0 - automask.float().mean().item()
        values = {"automasked_fraction": masked_fraction}
        if self.depth_loss is not None:
            total = total + self.depth_loss_weight * supervised
            values["depth_loss"] = supervised.item() / len(disparities)
        return total / len(disparities), values
