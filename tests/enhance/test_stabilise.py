"""Detail stabilisation: still faces keep their detail still, moving ones follow their crops,
and what changed in the low-resolution crop is never blended with the past."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facesr_video.enhance.stabilise import DetailStabiliser
from facesr_video.faces.align import Alignment

SCALE, N = 4, 16


def _scene(seed: int = 0) -> torch.Tensor:
    """A smooth LR picture larger than the crop, so a crop can move inside it."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand((1, 3, 8, 8), generator=generator)
    return F.interpolate(coarse, size=(48, 48), mode="bilinear", align_corners=False)


def _alignment(x: float, y: float) -> Alignment:
    """A crop of N px whose top-left pixel centre is frame pixel (x, y)."""
    return Alignment(np.array([[1.0, 0.0, -x], [0.0, 1.0, -y]]), N)


def _crop(scene: torch.Tensor, x: int, y: int) -> torch.Tensor:
    return scene[..., y : y + N, x : x + N].contiguous()


def _sr(lr: torch.Tensor, detail: torch.Tensor) -> torch.Tensor:
    base = F.interpolate(lr, size=(N * SCALE,) * 2, mode="bicubic", align_corners=False)
    return base + detail


def test_a_still_face_keeps_a_running_blend_of_its_detail() -> None:
    scene = _scene()
    lr = _crop(scene, 10, 10)
    stabiliser = DetailStabiliser(SCALE, strength=0.5)
    generator = torch.Generator().manual_seed(1)
    details = [
        0.05 * torch.randn((1, 3, N * SCALE, N * SCALE), generator=generator) for _ in range(2)
    ]
    first = stabiliser(7, _alignment(10, 10), lr, _sr(lr, details[0]))
    second = stabiliser(7, _alignment(10, 10), lr, _sr(lr, details[1]))
    assert torch.allclose(first, _sr(lr, details[0]).clamp(0, 1), atol=1e-6)  # its own at first
    expected = _sr(lr, 0.5 * details[0] + 0.5 * details[1]).clamp(0, 1)
    inner = (..., slice(8, -8), slice(8, -8))  # away from the border the warp cannot see past
    assert torch.allclose(second[inner], expected[inner], atol=1e-4)
    # frame-to-frame change of the output halves
    change = (second - first)[inner].abs().mean()
    raw = (_sr(lr, details[1]) - _sr(lr, details[0])).clamp(-1, 1)[inner].abs().mean()
    assert float(change) < 0.6 * float(raw)


def test_detail_follows_the_crop_when_the_face_moves() -> None:
    """The face moved 3 px right: the previous detail must be moved with it, not left behind."""
    scene = _scene()
    moved_scene = torch.roll(scene, shifts=3, dims=-1)
    stabiliser = DetailStabiliser(SCALE, strength=0.5)
    generator = torch.Generator().manual_seed(2)
    detail = 0.05 * torch.randn((1, 3, N * SCALE, N * SCALE), generator=generator)
    lr0, lr1 = _crop(scene, 10, 10), _crop(moved_scene, 13, 10)
    assert torch.equal(lr0, lr1)  # the same face, the crop moved with it
    stabiliser(3, _alignment(10, 10), lr0, _sr(lr0, detail))
    out = stabiliser(3, _alignment(13, 10), lr1, _sr(lr1, detail))
    inner = (..., slice(8, -8), slice(8, -8))
    assert torch.allclose(out[inner], _sr(lr1, detail).clamp(0, 1)[inner], atol=1e-4)


def test_what_changed_is_not_blended_and_new_tracks_start_fresh() -> None:
    stabiliser = DetailStabiliser(SCALE, strength=0.8)
    lr0 = _crop(_scene(0), 10, 10)
    lr1 = _crop(_scene(5), 10, 10)  # another picture in the same place (a cut, a turn)
    generator = torch.Generator().manual_seed(3)
    d0, d1 = (0.05 * torch.randn((1, 3, N * SCALE, N * SCALE), generator=generator) for _ in "ab")
    stabiliser(1, _alignment(10, 10), lr0, _sr(lr0, d0))
    changed = stabiliser(1, _alignment(10, 10), lr1, _sr(lr1, d1))
    difference = (lr1 - lr0).abs().mean(dim=1)
    assert float((difference > 0.1).float().mean()) > 0.5
    big = F.interpolate((difference > 0.1).float()[None], scale_factor=SCALE)[0, 0] > 0
    assert torch.allclose(changed[0][:, big], _sr(lr1, d1).clamp(0, 1)[0][:, big], atol=1e-5)
    stabiliser.forget({2})
    fresh = stabiliser(1, _alignment(10, 10), lr0, _sr(lr0, d0))
    assert torch.allclose(fresh, _sr(lr0, d0).clamp(0, 1), atol=1e-6)


def test_strength_zero_is_the_network_output_and_one_is_refused() -> None:
    lr = _crop(_scene(), 10, 10)
    sr = _sr(lr, torch.zeros((1, 3, N * SCALE, N * SCALE))).clamp(0, 1)
    off = DetailStabiliser(SCALE, strength=0.0)
    off(1, _alignment(10, 10), lr, sr)
    assert torch.allclose(off(1, _alignment(10, 10), lr, sr * 0.9), (sr * 0.9), atol=1e-6)
    with pytest.raises(ValueError, match="strength"):
        DetailStabiliser(SCALE, strength=1.0)
