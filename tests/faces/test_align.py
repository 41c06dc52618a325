"""Alignment maths: crop-size buckets, similarity fits, warps and the sub-pixel round trip."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facesr_video.faces.align import (
    CROP_SIZES,
    TEMPLATE68,
    Alignment,
    align,
    align_native,
    blend_shifted,
    choose_crop_size,
    crop_image,
    invert_affine,
    native_size,
    paste,
    similarity_from_points,
    warp_affine,
)


def _face(size: float, angle: float, centre: tuple[float, float]) -> np.ndarray:
    """Template landmarks as a face of `size` px rotated by angle about `centre`."""
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    return ((TEMPLATE68 - 0.5) * size) @ rot.T + np.asarray(centre)


def _smooth_image(h: int, w: int, seed: int = 0) -> torch.Tensor:
    """(1, 3, h, w) band-limited image: a few low-frequency sinusoids."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = []
    for _ in range(3):
        img = np.zeros((h, w))
        for _ in range(4):
            fx, fy = rng.uniform(-0.04, 0.04, 2)
            img += rng.uniform(0.05, 0.1) * np.sin(
                2 * np.pi * (fx * xs + fy * ys) + rng.uniform(0, 6)
            )
        chans.append(img + 0.5)
    return torch.from_numpy(np.stack(chans)[None]).float()


def _ramp(h: int, w: int) -> torch.Tensor:
    """(1, 3, h, w) image linear in x and y: every interpolator reproduces it exactly."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = [0.01 * xs + 0.003 * ys, 0.002 * xs - 0.007 * ys + 1.0, 0.005 * (xs + ys)]
    return torch.from_numpy(np.stack(chans)[None]).float()


def test_template_fits_in_the_unit_square() -> None:
    assert TEMPLATE68.shape == (68, 2)
    assert TEMPLATE68.min() > 0.1 and TEMPLATE68.max() < 0.95
    # Subject's right eye (36-41) is on the image left, eyes level.
    assert TEMPLATE68[36:42, 0].mean() < TEMPLATE68[42:48, 0].mean()
    assert abs(TEMPLATE68[36:42, 1].mean() - TEMPLATE68[42:48, 1].mean()) < 0.01


def test_similarity_recovers_a_known_transform() -> None:
    src = np.random.default_rng(1).uniform(0, 100, (20, 2))
    c, s = 1.7 * math.cos(0.4), 1.7 * math.sin(0.4)
    truth = np.array([[c, -s, 12.5], [s, c, -3.25]])
    dst = src @ truth[:, :2].T + truth[:, 2]
    np.testing.assert_allclose(similarity_from_points(src, dst), truth, atol=1e-9)
    both = np.concatenate([truth, [[0, 0, 1]]]) @ np.concatenate(
        [invert_affine(truth), [[0, 0, 1]]]
    )
    np.testing.assert_allclose(both, np.eye(3), atol=1e-12)


def test_crop_size_follows_the_native_face_size() -> None:
    for size in (20.0, 45.0, 60.0, 100.0, 150.0, 300.0):
        lm = _face(size, 0.3, (200.0, 150.0))
        assert native_size(lm) == __import__("pytest").approx(size, rel=1e-6)
        chosen = choose_crop_size(lm)
        assert chosen in CROP_SIZES
        ratio = chosen / size
        assert all(abs(math.log(ratio)) <= abs(math.log(c / size)) + 1e-12 for c in CROP_SIZES)
    assert choose_crop_size(_face(62.0, 0.0, (100, 100))) == 64


def test_align_maps_landmarks_onto_the_template() -> None:
    lm = _face(57.0, -0.25, (120.3, 80.7))
    al = align(lm, 64)
    crop_pts = lm @ al.crop_from_frame[:, :2].T + al.crop_from_frame[:, 2]
    np.testing.assert_allclose(crop_pts, TEMPLATE68 * 64 - 0.5, atol=1e-9)
    assert al.scale == __import__("pytest").approx(64 / 57.0)
    back = crop_pts @ al.frame_from_crop[:, :2].T + al.frame_from_crop[:, 2]
    np.testing.assert_allclose(back, lm, atol=1e-9)


def test_identity_and_integer_shift_warps_are_exact() -> None:
    image = torch.rand(2, 3, 17, 23)
    identity = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    for mode in ("bilinear", "bicubic", "nearest"):
        out = warp_affine(image, identity, (17, 23), mode=mode)
        torch.testing.assert_close(out, image, atol=1e-5, rtol=0)
    shift = np.array([[1.0, 0, -3], [0, 1.0, -2]])  # dst = src - (3, 2)
    out = warp_affine(image, shift, (10, 12))
    torch.testing.assert_close(out, image[:, :, 2:12, 3:15], atol=1e-5, rtol=0)


def test_scaled_is_consistent_with_resizing_both_sides() -> None:
    al = align(_face(40.0, 0.2, (60.0, 50.0)), 48)
    for s in (2.0, 4.0, 8.0):
        big = al.scaled(s)
        assert big.crop_size == round(48 * s)
        pts = np.random.default_rng(2).uniform(0, 100, (10, 2))
        crop = pts @ al.crop_from_frame[:, :2].T + al.crop_from_frame[:, 2]
        pts_s = s * pts + (s - 1) / 2
        crop_s = pts_s @ big.crop_from_frame[:, :2].T + big.crop_from_frame[:, 2]
        np.testing.assert_allclose(crop_s, s * crop + (s - 1) / 2, atol=1e-9)
        np.testing.assert_allclose(big.scaled(1.0).crop_from_frame, big.crop_from_frame)


def _round_trip(
    image: torch.Tensor, al: Alignment, s: int, crop_al: Alignment, mode: str = "bilinear"
) -> tuple[torch.Tensor, torch.Tensor]:
    """frame -> crop -> upscale by s -> paste with crop_al; also the frame upscaled directly."""
    crop = warp_affine(image, al.crop_from_frame, al.crop_size)
    crop_up = F.interpolate(crop, scale_factor=s, mode=mode, align_corners=False)
    frame_up = F.interpolate(image, scale_factor=s, mode=mode, align_corners=False)
    mask = torch.ones(1, 1, crop_up.shape[2], crop_up.shape[3])
    return paste(torch.zeros_like(frame_up), crop_up, crop_al.crop_from_frame, mask), frame_up


def _inner_face_mask(al: Alignment, s: int, shape: tuple[int, int]) -> np.ndarray:
    """Frame-up pixels whose crop position lies well inside the crop (away from its border)."""
    big = al.scaled(s)
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    cx = big.crop_from_frame[0, 0] * xs + big.crop_from_frame[0, 1] * ys + big.crop_from_frame[0, 2]
    cy = big.crop_from_frame[1, 0] * xs + big.crop_from_frame[1, 1] * ys + big.crop_from_frame[1, 2]
    lo, hi = 0.2 * big.crop_size, 0.8 * big.crop_size
    return (cx > lo) & (cx < hi) & (cy > lo) & (cy < hi)


def test_round_trip_crop_upscale_paste_is_subpixel_exact() -> None:
    h, w, s = 72, 96, 4
    lm = _face(44.0, 0.3, (47.3, 35.6))
    al = align(lm, choose_crop_size(lm))
    inside = torch.from_numpy(_inner_face_mask(al, s, (h * s, w * s)))
    assert inside.sum() > 1000
    # Bilinear reproduces a linear image exactly (torch's bicubic, a=-0.75, does not): any
    # pixel-convention error shows as an offset.
    pasted, frame_up = _round_trip(_ramp(h, w), al, s, al.scaled(s))
    err = (pasted - frame_up).abs()[0].amax(0)[inside]
    assert err.max() < 1e-5
    # The naive scaling (translation times s, no half-pixel term) is measurably off.
    naive = Alignment(
        np.concatenate([al.crop_from_frame[:, :2], s * al.crop_from_frame[:, 2:]], 1),
        al.crop_size * s,
    )
    pasted_naive, _ = _round_trip(_ramp(h, w), al, s, naive)
    assert (pasted_naive - frame_up).abs()[0].amax(0)[inside].max() > 1e-3
    # On a smooth image the round trip agrees to well under one grey level on average (what is
    # left is the bilinear resampling of the crop), less than half the naive scaling's error.
    pasted, frame_up = _round_trip(_smooth_image(h, w), al, s, al.scaled(s), mode="bicubic")
    err = (pasted - frame_up).abs()[0].amax(0)[inside]
    assert err.mean() < 2e-3 and err.max() < 6e-3
    pasted_naive, _ = _round_trip(_smooth_image(h, w), al, s, naive, mode="bicubic")
    assert (pasted_naive - frame_up).abs()[0].amax(0)[inside].mean() > 2 * err.mean()


def test_paste_blends_through_the_mask_and_leaves_the_rest() -> None:
    frame = torch.full((1, 3, 40, 50), 0.25)
    crop = torch.full((1, 3, 16, 16), 0.75)
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1.0
    crop_from_frame = np.array([[1.0, 0, -10], [0, 1.0, -5]])  # crop pixel (0,0) at frame (10,5)
    out = paste(frame, crop, crop_from_frame, mask)
    torch.testing.assert_close(out[..., 9:17, 14:22], torch.full((1, 3, 8, 8), 0.75))
    torch.testing.assert_close(out[..., :, :10], frame[..., :, :10])
    torch.testing.assert_close(out[..., 30:, :], frame[..., 30:, :])
    half = paste(frame, crop, crop_from_frame, mask * 0.5)
    torch.testing.assert_close(half[..., 9:17, 14:22], torch.full((1, 3, 8, 8), 0.5))


def test_native_alignment_copies_pixels_and_pastes_on_whole_pixels() -> None:

    rng = np.random.default_rng(3)
    landmarks = (TEMPLATE68 * 40 + rng.normal(0, 0.3, (68, 2)) + [13.3, 7.8]).astype(np.float32)
    native = align_native(landmarks, 48)
    m = native.crop_from_frame
    assert np.array_equal(m[:, :2], np.eye(2)) and np.all(m[:, 2] == np.round(m[:, 2]))
    frame = rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)
    crop = crop_image(frame, native)
    x0, y0 = int(-m[0, 2]), int(-m[1, 2])
    assert np.array_equal(crop, frame[y0 : y0 + 48, x0 : x0 + 48])
    scaled = native.scaled(4).crop_from_frame
    assert np.array_equal(scaled[:, 2], 4 * m[:, 2])
    # Centred where the similarity alignment centres the face (within half a pixel).
    similar = align(landmarks, 48)
    centre = similar.frame_from_crop @ np.array([23.5, 23.5, 1.0])
    assert np.all(np.abs(centre - (np.array([x0, y0]) + 23.5)) <= 0.5)


@pytest.mark.parametrize("padding_mode", ["zeros", "border"])
@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "nearest"])
def test_whole_pixel_shifts_are_copies_equal_to_sampling(mode, padding_mode, monkeypatch):
    import facesr_video.faces.align as align_module

    image = torch.rand(3, 3, 20, 30)
    # Inside, across each border and wholly outside: what cutting native crops and pasting
    # them back meets near the frame's edges.
    maps = np.array([[[1, 0, -s[0]], [0, 1, -s[1]]] for s in [(4, -3), (-12, 9), (40, 50)]])
    assert align_module.whole_pixel_shifts(align_module.invert_affine(maps)) is not None
    fast = warp_affine(image, maps, (16, 24), mode=mode, padding_mode=padding_mode)
    monkeypatch.setattr(align_module, "_SHIFT_PADDING", {})  # sampling every pixel instead
    slow = warp_affine(image, maps, (16, 24), mode=mode, padding_mode=padding_mode)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=0)
    turned = maps.astype(np.float64)
    turned[0, 0, 1] = 0.01
    assert align_module.whole_pixel_shifts(align_module.invert_affine(turned)) is None


@pytest.mark.parametrize("offset", [(7, 5), (-6, 3), (10, -4), (-30, -20)])
def test_blend_shifted_is_the_resampling_paste_for_whole_pixel_offsets(offset):
    """A crop at a whole-pixel offset, partly off the image: the copy-blend writes the same
    uint8 pixels as `paste` (to one level of rounding) and leaves the rest alone."""
    generator = torch.Generator().manual_seed(0)
    image = (torch.rand(40, 48, 3, generator=generator) * 255).to(torch.uint8).numpy()
    crop = torch.rand(3, 24, 24, generator=generator)
    alpha = torch.rand(1, 24, 24, generator=generator)
    dx, dy = offset
    crop_from_frame = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
    frame = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0
    pasted = paste(frame, crop[None], crop_from_frame, alpha[None])
    expected = (pasted[0].permute(1, 2, 0).clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).numpy()
    out = image.copy()
    blend_shifted(out, crop, alpha, dx, dy)
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1
    covered = np.zeros(image.shape[:2], bool)
    covered[max(0, -dy) : 24 - dy, max(0, -dx) : 24 - dx] = True
    np.testing.assert_array_equal(out[~covered], image[~covered])
    assert (out[covered] != image[covered]).mean() > 0.5
