"""MVDepthNet (Wang and Shen, 3DV 2018): a plane-sweep cost volume and an encoder-decoder on it.

Cost volume (:func:`cost_volume`): 64 fronto-parallel planes uniform in inverse depth from 0.02 to
2.0 m^-1 (plane 0 is the farthest); for each plane the measurement image is warped into the reference
view (:func:`~depth_ros.geometry.plane_sweep_pixels` with ``z + 1e-6``), sampled bilinearly with zero
padding and ``align_corners=True`` at MVDepthNet's grid coordinates ``(u - W/2) / (W/2)`` (published weights) or
at the exact pixel centres (our own, :func:`sampling_grid`), and the cost
is the sum over RGB of ``|warped - reference|`` on normalised images ``(x - 81) / 35``. Volumes of several
measurement frames are averaged. All planes and frames are computed by the same vectorised operations (no
per-plane Python loop): all at once on a GPU and in exported graphs, in cache-sized blocks of planes on
the CPU.

Network (:class:`MVDepthNet`): the reference image and the cost volume (3 + 64 channels) go through
five stride-2 stages and a decoder with skips; each of four heads outputs ``2 sigmoid(.)``, inverse
depth in (0, 2) m^-1, at full, 1/2, 1/4 and 1/8 resolution. Bilinear upsampling uses
``align_corners=True``, disparity upsampling nearest. Parameter names follow
``opensource_model.pth.tar``: ``conv1.0`` .. ``conv5.4``, ``upconvN.{1,2}``, ``iconvN.{0,1}``, ``dispN.0``.
H and W must be multiples of 32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from depth_ros.geometry import plane_sweep_projection, plane_sweep_rays
from depth_ros.models.metadata import SweepGrid, check_input_size

IMAGE_MEAN = 81.0
IMAGE_STD = 35.0
MIN_INVERSE_DEPTH = 0.02  # m^-1: the farthest plane, 50 m
MAX_INVERSE_DEPTH = 2.0  # m^-1: the nearest plane, 0.5 m
PLANES = 64
_EPS = 1e-6


def inverse_depth_planes(count: int = PLANES, device=None, dtype=torch.float32) -> torch.Tensor:
    """(count,) inverse depths ``0.02 + i (2.0 - 0.02) / (count - 1)`` in m^-1, farthest first."""
    return torch.linspace(MIN_INVERSE_DEPTH, MAX_INVERSE_DEPTH, count, device=device, dtype=dtype)


def normalize_image(rgb: torch.Tensor) -> torch.Tensor:
    """RGB values in [0, 255] -> MVDepthNet's network input ``(x - 81) / 35``."""
    return (rgb - IMAGE_MEAN) / IMAGE_STD


def sampling_grid(uv: torch.Tensor, height: int, width: int, grid: SweepGrid = "published") -> torch.Tensor:
    """Pixel coordinates -> ``grid_sample`` coordinates (used with ``align_corners=True``).

    * ``published``: MVDepthNet's ``(u - W/2) / (W/2)``, ``(v - H/2) / (H/2)``, which samples the measurement at
      ``u (W - 1) / W`` instead of ``u`` (up to a pixel off towards the top-left corner at the far edges: at 128 x 96
      and 5 pixels of parallax, a depth error of up to 20%). Kept so that published weights see the cost volumes
      they were trained on.
    * ``exact``: :func:`~depth_ros.geometry.grid_sample_coordinates`' ``2 u / (W - 1) - 1``, pixel centres exactly
      (what depth_ros trains its own models with).
    """
    if grid == "exact":  # Python numbers: no host tensor (see test_runtime)
        return torch.stack([uv[..., 0] * (2.0 / (width - 1)) - 1.0, uv[..., 1] * (2.0 / (height - 1)) - 1.0], -1)
    half_width, half_height = width / 2.0, height / 2.0
    return torch.stack([(uv[..., 0] - half_width) / half_width, (uv[..., 1] - half_height) / half_height], -1)


# On the CPU the planes go through in blocks of about this many bytes of warped samples: small enough to stay
# in cache and in the allocator's reused memory (fresh multi-megabyte buffers cost a page fault per 4 KB).
CPU_BLOCK_BYTES = 4 << 20


def cost_volume(
    reference: torch.Tensor,
    measurements: torch.Tensor,
    K: torch.Tensor,
    T_meas_ref: torch.Tensor,
    inverse_depths: torch.Tensor,
    block_bytes: int | None = None,
    grid: SweepGrid = "published",
) -> torch.Tensor:
    """Plane-sweep cost volume, averaged over measurement frames.

    Every plane, frame and batch element is computed by the same vectorised operations (one ``grid_sample``
    per block of planes). On a GPU, and whenever the graph is traced for export, one block holds all
    planes; on the CPU blocks hold about ``block_bytes`` of samples (default :data:`CPU_BLOCK_BYTES`),
    which makes the same arithmetic several times faster there.

    Args:
        reference: (B, 3, H, W) normalised reference image.
        measurements: (B, N, 3, H, W) normalised measurement images.
        K: (B, 3, 3) intrinsics at network resolution (shared by all images).
        T_meas_ref: (B, N, 4, 4) reference-to-measurement camera transforms (MVDepthNet's "left2right").
        inverse_depths: (D,) plane inverse depths in m^-1.
        block_bytes: bytes of warped samples per block; 0 = all planes in one block (the default off the CPU).
        grid: the pixel-to-sampling-grid convention (:func:`sampling_grid`; the model's ``sweep_grid`` metadata).

    Returns:
        (B, D, H, W) mean over frames of the per-pixel sum over RGB of ``|warped - reference|``.
    """
    batch, frames, channels, height, width = measurements.shape
    planes = inverse_depths.shape[0]
    direction, offset = plane_sweep_rays(K[:, None], K[:, None], T_meas_ref, height, width)  # (B, N, 3, HW)
    images = measurements.reshape(batch * frames, channels, height, width)
    per_plane = batch * frames * channels * height * width * measurements.element_size()
    if block_bytes is None:
        exporting = torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
        block_bytes = CPU_BLOCK_BYTES if measurements.device.type == "cpu" and not exporting else 0
    step = planes if block_bytes <= 0 else max(1, min(planes, block_bytes // per_plane))
    blocks = [
        _plane_costs(reference, images, direction, offset, inverse_depths[start : start + step], frames, grid)
        for start in range(0, planes, step)
    ]
    return blocks[0] if len(blocks) == 1 else torch.cat(blocks, 1)


def _plane_costs(
    reference: torch.Tensor,
    images: torch.Tensor,
    direction: torch.Tensor,
    offset: torch.Tensor,
    inverse_depths: torch.Tensor,
    frames: int,
    grid: SweepGrid,
) -> torch.Tensor:
    """(B, D, H, W) costs of D planes; ``images`` (B*N, 3, H, W), ``direction`` and ``offset`` from
    :func:`~depth_ros.geometry.plane_sweep_rays`."""
    batch, channels, height, width = reference.shape
    planes = inverse_depths.shape[0]
    uv, _ = plane_sweep_projection(direction, offset, 1.0 / inverse_depths, height, width, eps=_EPS)
    coordinates = sampling_grid(uv, height, width, grid)  # (B, N, D, H, W, 2)
    warped = F.grid_sample(
        images,
        coordinates.reshape(batch * frames, planes * height, width, 2),
        mode="bilinear",
        padding_mode="zeros",
        align_corners=True,
    ).reshape(batch, frames, channels, planes, height, width)
    costs = (warped - reference[:, None, :, None]).abs().sum(2)  # (B, N, D, H, W)
    return costs.mean(1)


def _down(in_channels: int, out_channels: int, kernel: int) -> nn.Sequential:
    pad = (kernel - 1) // 2
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, 1, pad, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, kernel, 2, pad, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def _conv(in_channels: int, out_channels: int, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, 1, (kernel - 1) // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def _up(in_channels: int, out_channels: int, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Upsample(scale_factor=2.0, mode="bilinear", align_corners=True),
        nn.Conv2d(in_channels, out_channels, kernel, 1, (kernel - 1) // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def _head(in_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, 1, 3, 1, 1), nn.Sigmoid())


class MVDepthNet(nn.Module):
    """The encoder-decoder on ``[reference image, cost volume]``.

    Args:
        width: channel multiplier (1.0 = the published network, 33,898,500 parameters).
        planes: cost-volume planes (64 in the published network).

    Forward: (B, 3, H, W) normalised reference and (B, planes, H, W) cost volume -> inverse depths in
    m^-1 ``[(B, 1, H, W), (B, 1, H/2, W/2), (B, 1, H/4, W/4), (B, 1, H/8, W/8)]``.
    """

    def __init__(self, width: float = 1.0, planes: int = PLANES):
        super().__init__()
        self.planes = planes
        c1, c2, c3, c4, c5 = (max(round(c * width), 8) for c in (128, 256, 512, 512, 512))
        u1, u2, u3 = (max(round(c * width), 8) for c in (64, 128, 256))
        self.conv1 = _down(3 + planes, c1, 7)
        self.conv2 = _down(c1, c2, 5)
        self.conv3 = _down(c2, c3, 3)
        self.conv4 = _down(c3, c4, 3)
        self.conv5 = _down(c4, c5, 3)
        self.upconv5 = _up(c5, c4)
        self.iconv5 = _conv(2 * c4, c4)
        self.upconv4 = _up(c4, c3)
        self.iconv4 = _conv(2 * c3, c3)
        self.disp4 = _head(c3)
        self.upconv3 = _up(c3, u3)
        self.iconv3 = _conv(u3 + c2 + 1, u3)
        self.disp3 = _head(u3)
        self.upconv2 = _up(u3, u2)
        self.iconv2 = _conv(u2 + c1 + 1, u2)
        self.disp2 = _head(u2)
        self.upconv1 = _up(u2, u1)
        self.iconv1 = _conv(u1 + 1, u1)
        self.disp1 = _head(u1)

    def forward(self, reference: torch.Tensor, volume: torch.Tensor) -> list[torch.Tensor]:
        if not torch.jit.is_tracing():  # sizes are fixed at export time
            check_input_size("mvdepthnet", reference.shape[-2], reference.shape[-1])
        conv1 = self.conv1(torch.cat([reference, volume], 1))
        conv2 = self.conv2(conv1)
        conv3 = self.conv3(conv2)
        conv4 = self.conv4(conv3)
        conv5 = self.conv5(conv4)
        iconv5 = self.iconv5(torch.cat([self.upconv5(conv5), conv4], 1))
        iconv4 = self.iconv4(torch.cat([self.upconv4(iconv5), conv3], 1))
        disp4 = 2.0 * self.disp4(iconv4)
        iconv3 = self.iconv3(torch.cat([self.upconv3(iconv4), conv2, _nearest_x2(disp4)], 1))
        disp3 = 2.0 * self.disp3(iconv3)
        iconv2 = self.iconv2(torch.cat([self.upconv2(iconv3), conv1, _nearest_x2(disp3)], 1))
        disp2 = 2.0 * self.disp2(iconv2)
        iconv1 = self.iconv1(torch.cat([self.upconv1(iconv2), _nearest_x2(disp2)], 1))
        disp1 = 2.0 * self.disp1(iconv1)
        return [disp1, disp2, disp3, disp4]


def _nearest_x2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest")
