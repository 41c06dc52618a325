"""Similarity alignment of a face to a canonical template, and the crop/paste warps.

The crop keeps the low-resolution face at its native size (scale near 1), choosing the crop side
from a few buckets; `Alignment.scaled(s)` gives the matching map between the frame upscaled by s
and the crop upscaled by s, so a crop super-resolved by s pastes back sub-pixel exactly.

Pixel convention everywhere: pixel centres at integer coordinates, so pixel i spans
[i - 0.5, i + 0.5]; resizing by s maps x to s * x + (s - 1) / 2 (what PIL and torch's
`interpolate(..., align_corners=False)` do).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

CROP_SIZES: tuple[int, ...] = (16, 24, 32, 48, 64, 96, 128, 160, 192, 256)
"""Crop sides (low-resolution px) an aligned face may get; multiples of 8 for the network."""

FIT_POINTS = slice(17, 68)
"""Brows, nose, eyes and mouth: the points the similarity is fitted to (the jaw line moves with
the mouth and slides with yaw, so it would make the crop breathe)."""

# Mean dlib-68 layout of frontal faces in a unit square, eyes level: measured with dlib on every
# third congress portrait (../shared/data/faces/congress, 293 faces), generalised-Procrustes
# averaged, then scaled so the landmarks are 0.6 wide and centred with room for the forehead
# (0.3 of the landmark height above the brows) and the chin.
TEMPLATE68 = np.array(
    [
        (0.2000, 0.3973),
        (0.2030, 0.4743),
        (0.2089, 0.5507),
        (0.2199, 0.6280),
        (0.2460, 0.7012),
        (0.2912, 0.7648),
        (0.3500, 0.8189),
        (0.4161, 0.8631),
        (0.4939, 0.8769),
        (0.5723, 0.8641),
        (0.6411, 0.8215),
        (0.7032, 0.7691),
        (0.7513, 0.7058),
        (0.7796, 0.6317),
        (0.7913, 0.5534),
        (0.7970, 0.4753),
        (0.8000, 0.3966),
        (0.2546, 0.3467),
        (0.2877, 0.3098),
        (0.3383, 0.2980),
        (0.3915, 0.3037),
        (0.4416, 0.3233),
        (0.5430, 0.3224),
        (0.5942, 0.3030),
        (0.6481, 0.2970),
        (0.7000, 0.3092),
        (0.7349, 0.3457),
        (0.4927, 0.3766),
        (0.4921, 0.4282),
        (0.4915, 0.4794),
        (0.4909, 0.5327),
        (0.4289, 0.5602),
        (0.4590, 0.5717),
        (0.4922, 0.5830),
        (0.5259, 0.5716),
        (0.5570, 0.5600),
        (0.3165, 0.3863),
        (0.3468, 0.3686),
        (0.3830, 0.3688),
        (0.4154, 0.3907),
        (0.3814, 0.3958),
        (0.3458, 0.3961),
        (0.5735, 0.3908),
        (0.6058, 0.3688),
        (0.6418, 0.3685),
        (0.6728, 0.3862),
        (0.6434, 0.3959),
        (0.6079, 0.3961),
        (0.3625, 0.6452),
        (0.4106, 0.6350),
        (0.4577, 0.6313),
        (0.4933, 0.6385),
        (0.5293, 0.6315),
        (0.5778, 0.6352),
        (0.6284, 0.6450),
        (0.5805, 0.6927),
        (0.5324, 0.7129),
        (0.4937, 0.7167),
        (0.4555, 0.7126),
        (0.4087, 0.6927),
        (0.3801, 0.6492),
        (0.4575, 0.6496),
        (0.4936, 0.6535),
        (0.5298, 0.6495),
        (0.6108, 0.6488),
        (0.5307, 0.6811),
        (0.4934, 0.6855),
        (0.4567, 0.6808),
    ],
    dtype=np.float64,
)


def similarity_from_points(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation; no reflection).

    Args:
        src: (N, 2) points.
        dst: (N, 2) points.

    Returns:
        (2, 3) float64 matrix M with dst ~ M @ [src, 1].
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - src_mean, dst - dst_mean
    denom = float((s**2).sum())
    if denom <= 0:
        raise ValueError("similarity_from_points: source points are all equal")
    a = float((s * d).sum()) / denom  # scale * cos
    b = float((s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum()) / denom  # scale * sin
    linear = np.array([[a, -b], [b, a]])
    return np.concatenate([linear, (dst_mean - linear @ src_mean)[:, None]], axis=1)


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a (..., 2, 3) affine map, as (..., 2, 3)."""
    m = np.asarray(matrix, dtype=np.float64)
    linear_inv = np.linalg.inv(m[..., :2, :2])
    translation = -(linear_inv @ m[..., :2, 2:3])
    return np.concatenate([linear_inv, translation], axis=-1)


def native_size(landmarks68: np.ndarray) -> float:
    """Side (frame px) of the template's unit square fitted to these (68, 2) landmarks."""
    frame_from_unit = similarity_from_points(TEMPLATE68[FIT_POINTS], landmarks68[FIT_POINTS])
    return float(math.hypot(frame_from_unit[0, 0], frame_from_unit[1, 0]))


def nearest_crop_size(size: float) -> int:
    """The bucket of CROP_SIZES closest to `size` on a log scale."""
    return min(CROP_SIZES, key=lambda c: abs(math.log(c / max(size, 1e-6))))


def choose_crop_size(landmarks68: np.ndarray) -> int:
    """Crop side (from CROP_SIZES) matching the face's native size in the frame."""
    return nearest_crop_size(native_size(landmarks68))


@dataclass(frozen=True, eq=False)
class Alignment:
    """Where an aligned face crop sits in its frame.

    crop_from_frame: (2, 3) float64, frame pixels -> crop pixels.
    crop_size: side of the square crop (px).
    """

    crop_from_frame: np.ndarray
    crop_size: int

    @property
    def frame_from_crop(self) -> np.ndarray:
        """(2, 3) float64, crop pixels -> frame pixels."""
        return invert_affine(self.crop_from_frame)

    @property
    def scale(self) -> float:
        """Crop pixels per frame pixel (close to 1 for native-size crops)."""
        return float(math.hypot(self.crop_from_frame[0, 0], self.crop_from_frame[1, 0]))

    def scaled(self, s: float) -> Alignment:
        """The alignment between the frame upscaled by s and the crop upscaled by s.

        Both images are resized with the pixel-centre convention x_s = s * x + (s - 1) / 2, so the
        linear part is unchanged and only the translation moves.
        """
        linear = self.crop_from_frame[:, :2]
        offset = np.full(2, (s - 1.0) / 2.0)
        translation = s * self.crop_from_frame[:, 2] + offset - linear @ offset
        matrix = np.concatenate([linear, translation[:, None]], axis=1)
        return Alignment(crop_from_frame=matrix, crop_size=round(self.crop_size * s))


def align(landmarks68: np.ndarray, crop_size: int) -> Alignment:
    """Similarity that puts these (68, 2) frame landmarks on the template in a crop_size crop."""
    # Unit square [0, 1] covers the crop's pixel edges [-0.5, crop_size - 0.5].
    template = TEMPLATE68[FIT_POINTS] * crop_size - 0.5
    crop_from_frame = similarity_from_points(landmarks68[FIT_POINTS], template)
    return Alignment(crop_from_frame=crop_from_frame, crop_size=int(crop_size))


def align_native(landmarks68: np.ndarray, crop_size: int) -> Alignment:
    """Axis-aligned crop at scale 1 and a whole-pixel offset, centred where `align` centres.

    Its pixels are copied from the frame, never resampled, and (with `Alignment.scaled`) the
    crop upscaled by s sits on whole pixels of the frame upscaled by s, so neither the crop nor
    the paste blurs anything. The face keeps its roll: the priors rendered in the same crop
    carry the pose to the network.
    """
    similarity = align(landmarks68, crop_size)
    middle = (crop_size - 1) / 2.0
    centre = similarity.frame_from_crop @ np.array([middle, middle, 1.0])
    x0, y0 = round(centre[0] - middle), round(centre[1] - middle)
    crop_from_frame = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0]])
    return Alignment(crop_from_frame=crop_from_frame, crop_size=int(crop_size))


def _as_batch_matrix(matrix: np.ndarray | torch.Tensor, batch: int) -> np.ndarray:
    m = matrix.detach().cpu().double().numpy() if torch.is_tensor(matrix) else np.asarray(matrix)
    m = m.astype(np.float64)
    if m.ndim == 2:
        m = m[None]
    if m.shape[1:] != (2, 3) or m.shape[0] not in (1, batch):
        raise ValueError(f"expected (B, 2, 3) or (2, 3) affine matrices, got {m.shape}")
    return np.broadcast_to(m, (batch, 2, 3))


_SHIFT_PADDING = {"zeros": "constant", "border": "replicate"}


def whole_pixel_shifts(src_from_dst: np.ndarray) -> list[tuple[int, int]] | None:
    """(dx, dy) per map when every map (B, 2, 3) only moves by whole pixels, else None.

    `align_native` crops are such shifts (at any scale), so cutting a crop out of a frame and
    pasting its SR back are copies, exact and much cheaper than sampling every pixel."""
    linear = src_from_dst[:, :, :2]
    shift = src_from_dst[:, :, 2]
    if not np.allclose(linear, np.eye(2), rtol=0.0, atol=1e-9):
        return None
    whole = np.round(shift)
    if not np.allclose(shift, whole, rtol=0.0, atol=1e-6):
        return None
    return [(int(dx), int(dy)) for dx, dy in whole]


def _shifted(
    image: torch.Tensor, dx: int, dy: int, out_size: tuple[int, int], padding_mode: str
) -> torch.Tensor:
    """image (C, H, W) read at (x + dx, y + dy) for every output pixel -> (1, C, h, w)."""
    _, height, width = image.shape
    out_h, out_w = out_size
    left, top = max(0, -dx), max(0, -dy)
    right, bottom = max(0, dx + out_w - width), max(0, dy + out_h - height)
    x0, y0 = dx + left, dy + top
    if left or top or right or bottom:
        image = F.pad(image[None], (left, right, top, bottom), mode=_SHIFT_PADDING[padding_mode])[0]
    return image[None, :, y0 : y0 + out_h, x0 : x0 + out_w]


def _sample(
    image: torch.Tensor,
    src_from_dst: np.ndarray,
    out_size: tuple[int, int],
    mode: str,
    padding_mode: str,
) -> torch.Tensor:
    """Sample image (B, C, H, W) at src_from_dst (B, 2, 3) of every output pixel -> (B, C, h, w)."""
    shifts = whole_pixel_shifts(src_from_dst)
    if shifts is not None and padding_mode in _SHIFT_PADDING:
        return torch.cat(
            [
                _shifted(image[b], dx, dy, out_size, padding_mode)
                for b, (dx, dy) in enumerate(shifts)
            ]
        )
    batch, _, height, width = image.shape
    out_h, out_w = out_size
    ys, xs = np.meshgrid(
        np.arange(out_h, dtype=np.float64), np.arange(out_w, dtype=np.float64), indexing="ij"
    )
    dst = np.stack([xs, ys, np.ones_like(xs)], axis=-1)  # (h, w, 3)
    src = np.einsum("bij,hwj->bhwi", src_from_dst, dst)  # (B, h, w, 2)
    # align_corners=False: -1 and +1 are the outer pixel edges, i.e. -0.5 and size - 0.5.
    grid = np.empty_like(src)
    grid[..., 0] = (2.0 * src[..., 0] + 1.0) / width - 1.0
    grid[..., 1] = (2.0 * src[..., 1] + 1.0) / height - 1.0
    grid_t = torch.from_numpy(grid).to(device=image.device, dtype=image.dtype)
    return F.grid_sample(image, grid_t, mode=mode, padding_mode=padding_mode, align_corners=False)


def warp_affine(
    image: torch.Tensor,
    dst_from_src: np.ndarray | torch.Tensor,
    out_size: int | tuple[int, int],
    mode: str = "bilinear",
    padding_mode: str = "border",
) -> torch.Tensor:
    """Warp images by affine maps given in pixel coordinates (centres at integers).

    Args:
        image: (B, C, H, W) float.
        dst_from_src: (B, 2, 3) or (2, 3) maps from source to output pixel coordinates.
        out_size: output side, or (h, w).
        mode: "bilinear", "bicubic" or "nearest".
        padding_mode: what lies outside the source: "border", "zeros" or "reflection".

    Returns:
        (B, C, h, w) warped images, same dtype and device.
    """
    if image.ndim != 4:
        raise ValueError(f"expected (B, C, H, W) images, got {tuple(image.shape)}")
    size = (out_size, out_size) if isinstance(out_size, int) else tuple(out_size)
    src_from_dst = invert_affine(_as_batch_matrix(dst_from_src, image.shape[0]))
    return _sample(image, src_from_dst, size, mode, padding_mode)


def paste(
    frame: torch.Tensor,
    crop: torch.Tensor,
    crop_from_frame: np.ndarray | torch.Tensor,
    mask: torch.Tensor,
    mode: str = "bilinear",
) -> torch.Tensor:
    """Warp crops back into their frames and alpha-blend them in through a mask.

    Args:
        frame: (B, C, H, W) float frames.
        crop: (B, C, h, w) float crops, in the pixel frame of `crop_from_frame`.
        crop_from_frame: (B, 2, 3) or (2, 3) maps from frame to crop pixels.
        mask: (B, 1, h, w) float in [0, 1], 1 where the crop replaces the frame.

    Returns:
        (B, C, H, W) blended frames.
    """
    batch, _, height, width = frame.shape
    m = _as_batch_matrix(crop_from_frame, batch)
    # Premultiplied alpha: warping is linear, so warp(crop * mask) blends correctly at the edges.
    both = torch.cat([crop * mask, mask], dim=1)
    warped = _sample(both, m, (height, width), mode, "zeros")
    color, alpha = warped[:, :-1], warped[:, -1:].clamp(0.0, 1.0)
    return frame * (1.0 - alpha) + color


def blend_shifted(
    region: np.ndarray, crop: torch.Tensor, alpha: torch.Tensor, dx: int, dy: int
) -> None:
    """Alpha-blend a crop into a uint8 image in place where the crop sits at a whole-pixel
    offset (`align_native` crops at any scale): region pixel (x, y) takes crop pixel
    (x + dx, y + dy), no resampling, only over the pixels the two share.

    Args:
        region: (H, W, C) uint8, writable (a view into the output frame).
        crop: (C, h, w) float in [0, 1], on any device.
        alpha: (1, h, w) float in [0, 1], 1 where the crop replaces the region.
    """
    height, width = region.shape[:2]
    x0, y0 = max(0, -dx), max(0, -dy)
    x1, y1 = min(width, crop.shape[-1] - dx), min(height, crop.shape[-2] - dy)
    if x1 <= x0 or y1 <= y0:
        return
    target = torch.from_numpy(region)[y0:y1, x0:x1]
    # Planar 0-255 floats: one transposing copy in, one out; the blend runs on contiguous planes.
    under = target.to(crop.device).permute(2, 0, 1).contiguous().float()
    rows, columns = slice(y0 + dy, y1 + dy), slice(x0 + dx, x1 + dx)
    blended = torch.lerp(under, crop[:, rows, columns] * 255.0, alpha[:, rows, columns])
    pixels = blended.add_(0.5).clamp_(0.0, 255.0).to(torch.uint8)
    target.copy_(pixels.permute(1, 2, 0))


def crop_image(rgb: np.ndarray, alignment: Alignment, mode: str = "bilinear") -> np.ndarray:
    """Aligned crop of an (H, W, 3) uint8 frame as (crop_size, crop_size, 3) uint8."""
    image = torch.from_numpy(rgb.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    crop = warp_affine(image, alignment.crop_from_frame, alignment.crop_size, mode=mode)
    out = (crop[0].permute(1, 2, 0).clamp(0, 1) * 255.0 + 0.5).to(torch.uint8)
    return out.numpy()
