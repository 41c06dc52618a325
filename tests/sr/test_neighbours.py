"""Neighbour inputs: sampling at pixel positions, gating by disagreement, a fusion starting at 0."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from facesr_video.sr.neighbours import (
    DIFFERENCE_LIMIT,
    WHOLE_DIFFERENCE,
    gate_by_difference,
    sample_pixels,
    warp_neighbours,
)
from facesr_video.sr.network import SAMNet, create_model


def test_sample_pixels_reads_pixel_centres_and_flags_outside() -> None:
    image = torch.rand(1, 3, 6, 7)
    ys, xs = torch.meshgrid(torch.arange(6.0), torch.arange(7.0), indexing="ij")
    xy = torch.stack([xs, ys], dim=-1)[None]
    values, inside = sample_pixels(image, xy)
    assert torch.allclose(values, image, atol=1e-6) and bool(inside.all())
    shifted = xy.clone()
    shifted[..., 0] += 0.5  # half a pixel right: the mean of two neighbours
    values, inside = sample_pixels(image, shifted)
    expected = 0.5 * (image[..., :-1] + image[..., 1:])
    assert torch.allclose(values[..., :-1], expected, atol=1e-6)
    assert inside[..., -1].sum() == 6  # x = 6.5 is the right edge: still inside
    shifted[..., 0] += 0.1
    _, inside = sample_pixels(image, shifted)
    assert inside[..., -1].sum() == 0


def test_gate_keeps_agreeing_neighbours_and_drops_disagreeing_ones() -> None:
    current = torch.rand(2, 3, 16, 16)
    warped = torch.stack([current, 1 - current], dim=1)
    confidence = torch.ones(2, 2, 1, 16, 16)
    gated = gate_by_difference(current, warped, confidence)
    assert torch.equal(gated[:, 0], confidence[:, 0])
    # The inverted image differs by ~0.33 on average, far above the limit.
    assert float(gated[:, 1].mean()) < 0.2
    # A small difference lowers trust in proportion; a neighbour far off as a whole is dropped.
    low, high = WHOLE_DIFFERENCE
    near = gate_by_difference(current, (current + 0.03)[:, None], confidence[:, :1])
    assert float(near[..., 3:-3, 3:-3].mean()) == pytest.approx(
        1 - 0.03 / DIFFERENCE_LIMIT, abs=0.02
    )
    far = gate_by_difference(current, (current + high)[:, None], confidence[:, :1])
    assert float(far.max()) < 1e-5


def test_untrusted_neighbours_show_the_current_crop() -> None:
    current = torch.rand(1, 3, 8, 8)
    images = torch.rand(1, 2, 3, 12, 12)
    positions = torch.rand(1, 2, 8, 8, 2) * 11
    confidence = torch.zeros(1, 2, 1, 8, 8)
    confidence[:, 0] = 1.0
    positions[:, 0, 0, 0, 0] = -5.0  # off the image: untrusted there
    out = warp_neighbours(current, images, positions, confidence)
    assert torch.equal(out.warped[:, 1], current)
    assert torch.equal(out.confidence[:, 1], torch.zeros(1, 1, 8, 8))
    assert out.confidence[0, 0, 0, 0, 0] == 0 and torch.equal(
        out.warped[0, 0, :, 0, 0], current[0, :, 0, 0]
    )


def _parent_and_child() -> tuple[SAMNet, SAMNet]:
    torch.manual_seed(0)
    parent = create_model("sam-light")
    child = SAMNet(replace(parent.config, frames=5))
    missing, unexpected = child.load_state_dict(parent.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("fusion.") for k in missing)
    return parent.eval(), child.eval()


def test_a_fused_network_starts_as_its_single_frame_parent() -> None:
    parent, child = _parent_and_child()
    lr = torch.rand(2, 3, 16, 16)
    warped, confidence = torch.rand(2, 4, 3, 16, 16), torch.rand(2, 4, 1, 16, 16)
    with torch.no_grad():
        assert torch.equal(child(lr, warped=warped, confidence=confidence), parent(lr))


def test_without_neighbours_the_fusion_adds_nothing_however_trained() -> None:
    parent, child = _parent_and_child()
    with torch.no_grad():
        for p in child.fusion.parameters():
            p.normal_(std=0.1)
    lr = torch.rand(1, 3, 16, 16)
    warped = torch.rand(1, 4, 3, 16, 16)
    with torch.no_grad():
        alone = child(lr, warped=warped, confidence=torch.zeros(1, 4, 1, 16, 16))
        fused = child(lr, warped=warped, confidence=torch.ones(1, 4, 1, 16, 16))
        assert torch.allclose(alone, parent(lr), atol=1e-6)
        assert float((fused - alone).abs().mean()) > 1e-3
