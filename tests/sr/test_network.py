"""SAMNet: shapes for each scale and prior mode, conditioning really used, input checks."""

from __future__ import annotations

import pytest
import torch

from facesr_video.errors import ModelError
from facesr_video.sr.bicubic import BicubicUpscale
from facesr_video.sr.config import VARIANTS, SAMConfig
from facesr_video.sr.network import SAMNet, count_parameters, create_model

SMALL = dict(channels=8, num_groups=1, blocks_per_group=1, cond_channels=8, reduction=2)


def _inputs(scale: int, h: int, w: int, b: int = 2, cp: int = 5, d: int = 7):
    return torch.rand(b, 3, h, w), torch.rand(b, cp, h * scale, w * scale), torch.randn(b, d)


@pytest.mark.parametrize("scale", [4, 8])
@pytest.mark.parametrize("mode", ["none", "render", "all"])
def test_output_shape_each_scale_and_mode(scale: int, mode: str) -> None:
    cfg = SAMConfig(scale=scale, **SMALL).with_priors(mode, 5, 7)
    model = SAMNet(cfg).eval()
    lr, priors, coeffs = _inputs(scale, 16, 24)
    out = model(lr, priors, coeffs)
    assert out.shape == (2, 3, 16 * scale, 24 * scale)
    assert torch.isfinite(out).all()


def test_starts_near_bicubic() -> None:
    model = SAMNet(SAMConfig(scale=4, **SMALL)).eval()
    lr = torch.rand(1, 3, 16, 16)
    bicubic = torch.nn.functional.interpolate(lr, scale_factor=4, mode="bicubic")
    assert (model(lr) - bicubic).abs().mean() < 0.05


def test_gradients_reach_condition_net_and_coefficients() -> None:
    model = SAMNet(SAMConfig(scale=4, **SMALL).with_priors("all", 5, 7))
    lr, priors, coeffs = _inputs(4, 16, 16)
    model(lr, priors, coeffs).square().mean().backward()
    cond_grads = [p.grad for p in model.cond_net.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in cond_grads)
    assert model.cond_net.coeff_proj.weight.grad.abs().sum() > 0


def test_priors_change_the_output_only_when_used() -> None:
    lr, priors, coeffs = _inputs(4, 16, 16)
    torch.manual_seed(0)
    with_priors = SAMNet(SAMConfig(scale=4, **SMALL).with_priors("all", 5, 7)).eval()
    a = with_priors(lr, priors, coeffs)
    b = with_priors(lr, priors.flip(-1), coeffs)
    c = with_priors(lr, priors, coeffs * 3)
    assert not torch.allclose(a, b) and not torch.allclose(a, c)
    plain = SAMNet(SAMConfig(scale=4, **SMALL)).eval()
    assert torch.equal(plain(lr, priors, coeffs), plain(lr, None, None))


@pytest.mark.parametrize("scale", [2, 4, 8])
@pytest.mark.parametrize("mode", ["render", "all"])
def test_maps_at_the_input_size_are_read_as_their_bilinear_upscale(scale: int, mode: str) -> None:
    """enhance hands over maps rendered at the LR crop size: the same output as the maps
    upscaled bilinearly to the HR crop size (what training sees), without making them."""
    torch.manual_seed(scale)
    model = SAMNet(SAMConfig(scale=scale, **SMALL).with_priors(mode, 5, 7)).eval()
    with torch.no_grad():  # random weights everywhere, so every prior pixel matters
        for parameter in model.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.2)
    lr, small = torch.rand(2, 3, 16, 24), torch.rand(2, 5, 16, 24)
    coeffs = torch.randn(2, 7) if mode == "all" else None
    upscaled = torch.nn.functional.interpolate(
        small, scale_factor=scale, mode="bilinear", align_corners=False
    )
    with torch.no_grad():
        expected = model(lr, upscaled, coeffs)
        got = model(lr, small, coeffs)
        other = model(lr, small.flip(-1), coeffs)
    # float rounding only (summed in another order), small against what the maps change
    torch.testing.assert_close(got, expected, atol=2e-4, rtol=1e-4)
    assert (got - other).abs().max() > 100 * (got - expected).abs().max()


def test_prior_mode_none_has_no_condition_parameters() -> None:
    none = SAMNet(SAMConfig(scale=4, **SMALL))
    allp = SAMNet(SAMConfig(scale=4, **SMALL).with_priors("all", 5, 7))
    assert none.cond_net is None
    assert count_parameters(allp) > count_parameters(none)


def test_bad_inputs_say_what_is_expected() -> None:
    model = SAMNet(SAMConfig(scale=4, **SMALL).with_priors("all", 5, 7))
    lr, priors, coeffs = _inputs(4, 16, 16)
    with pytest.raises(ValueError, match="multiple of 8"):
        model(torch.rand(1, 3, 12, 16))
    with pytest.raises(ValueError, match="HR crop size"):
        model(lr, priors[..., :32, :32], coeffs)
    with pytest.raises(ValueError, match="coeffs"):
        model(lr, priors, None)


def test_config_validation_and_json_round_trip() -> None:
    with pytest.raises(ValueError):
        SAMConfig(scale=3)
    with pytest.raises(ValueError):
        SAMConfig(prior_mode="render")
    cfg = SAMConfig(scale=8, **SMALL).with_priors("render", 5, 7)
    assert cfg.coeff_dim == 0
    assert SAMConfig.from_json(cfg.to_json()) == cfg


def test_create_model_by_name_with_overrides() -> None:
    model = create_model("sam-light", scale=8)
    assert model.config.scale == 8
    assert model.config.channels == VARIANTS["sam-light"].channels
    with pytest.raises(ModelError, match="unknown model"):
        create_model("sam-huge")


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_direct_upsampler_gives_the_same_shapes_for_less_work(scale: int) -> None:
    progressive = SAMNet(SAMConfig(scale=scale, **SMALL)).eval()
    direct = SAMNet(SAMConfig(scale=scale, upsampler="direct", **SMALL)).eval()
    lr = torch.rand(1, 3, 16, 16)
    out = direct(lr)
    assert out.shape == progressive(lr).shape == (1, 3, 16 * scale, 16 * scale)
    bicubic = torch.nn.functional.interpolate(lr, scale_factor=scale, mode="bicubic")
    assert (out - bicubic).abs().mean() < 0.05  # starts near bicubic too
    # No convolution runs above the input size: the output layer is one conv then a shuffle.
    assert not any(isinstance(m, torch.nn.Conv2d) for m in direct.upsample.modules())
    with pytest.raises(ValueError, match="upsampler"):
        SAMConfig(upsampler="nearest")
    assert SAMConfig.from_json(direct.config.to_json()) == direct.config


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_bicubic_as_a_convolution_equals_interpolate(scale: int) -> None:
    x = torch.rand(2, 3, 8, 24)
    want = torch.nn.functional.interpolate(x, scale_factor=scale, mode="bicubic")
    torch.testing.assert_close(BicubicUpscale(scale)(x), want, atol=2e-6, rtol=0)
    assert not BicubicUpscale(scale).state_dict()  # nothing saved with the weights


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_hybrid_upsampler_keeps_the_first_progressive_octave(scale: int) -> None:
    progressive = SAMNet(SAMConfig(scale=scale, **SMALL)).eval()
    hybrid = SAMNet(SAMConfig(scale=scale, upsampler="hybrid", **SMALL)).eval()
    lr = torch.rand(1, 3, 16, 16)
    assert hybrid(lr).shape == (1, 3, 16 * scale, 16 * scale)
    first = {k: v.shape for k, v in hybrid.state_dict().items() if k.startswith("upsample.")}
    assert first == {k: progressive.state_dict()[k].shape for k in first}
    assert set(first) == {"upsample.0.weight", "upsample.0.bias"}
