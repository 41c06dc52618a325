"""Runtimes: OpenVINO's output against torch's on the shipped weights, batch buckets, the disk
cache of converted graphs, and which runtime `resolve_runtime` picks."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from facesr_video.errors import DeviceError
from facesr_video.sr import runtimes
from facesr_video.sr.config import SAMConfig
from facesr_video.sr.network import SAMNet
from facesr_video.sr.runtimes import NetworkInputs, create_runtime, resolve_runtime
from facesr_video.sr.runtimes.base import batch_chunks, check_inputs, pad_batch, weights_digest
from facesr_video.sr.runtimes.torch_runtime import TorchRuntime
from facesr_video.sr.weights import load_model

WEIGHTS = Path(__file__).resolve().parents[2] / "facesr_video" / "weights"
FP32_DB = 100.0  # f32 in both: rounding order only (measured ~140 dB)
BF16_DB = 50.0  # bfloat16 arithmetic (measured ~57 dB: the size of 8-bit output rounding)
SMALL = dict(channels=8, num_groups=1, blocks_per_group=1, cond_channels=8, reduction=2)

needs_openvino = pytest.mark.skipif(
    not runtimes.openvino_available(),
    reason="openvino is not installed (pip install 'facesr-video[openvino]')",
)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR (dB, peak 1) of a against b; inf when identical."""
    mse = float(((a.float() - b.float()) ** 2).mean())
    return math.inf if mse == 0.0 else 10.0 * math.log10(1.0 / mse)


def random_inputs(config: SAMConfig, batch: int, n: int, neighbours: int = 0) -> NetworkInputs:
    """Inputs of the shapes `config` takes: LR (B, 3, n, n), priors (B, Cp, S*n, S*n),
    coeffs (B, D), and neighbours (B, N, 3 or 1, n, n) when asked for."""
    generator = torch.Generator().manual_seed(batch * 100 + n)
    hr = n * config.scale
    maps = (batch, config.prior_channels, hr, hr)
    return NetworkInputs(
        lr=torch.rand(batch, 3, n, n, generator=generator),
        priors=torch.rand(maps, generator=generator) if config.uses_maps else None,
        coeffs=torch.randn(batch, config.coeff_dim, generator=generator)
        if config.uses_coeffs
        else None,
        warped=torch.rand(batch, neighbours, 3, n, n, generator=generator) if neighbours else None,
        confidence=torch.rand(batch, neighbours, 1, n, n, generator=generator)
        if neighbours
        else None,
    )


def reference(network: SAMNet, inputs: NetworkInputs) -> torch.Tensor:
    """torch eager's output, the one every runtime is checked against."""
    with torch.inference_mode():
        return network(**dict(zip(inputs.signature, inputs.tensors, strict=True)))


def randomised(config: SAMConfig, seed: int) -> SAMNet:
    """A network with every weight random (the zero-initialised fusion output included)."""
    torch.manual_seed(seed)
    network = SAMNet(config).eval()
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.1)
    return network


@pytest.fixture(scope="module", params=[4, 8], ids=["x4", "x8"])
def shipped(request: pytest.FixtureRequest) -> SAMNet:
    network, _ = load_model(WEIGHTS / f"sam-light-x{request.param}.safetensors")
    return network


# -- resolve_runtime --------------------------------------------------------------------------


def test_resolve_named_runtimes() -> None:
    assert resolve_runtime("torch", "cpu") == "torch"
    assert resolve_runtime("torch", torch.device("cuda")) == "torch"
    with pytest.raises(DeviceError, match="CPU"):
        resolve_runtime("openvino", torch.device("cuda"))
    with pytest.raises(ValueError, match="unknown runtime"):
        resolve_runtime("tensorrt", "cpu")


def test_auto_is_openvino_on_cpu_only_when_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_runtime("auto", torch.device("cuda")) == "torch"
    monkeypatch.setattr(runtimes, "openvino_available", lambda: True)
    assert resolve_runtime("auto", "cpu") == "openvino"
    assert resolve_runtime("auto", "cuda:0") == "torch"
    monkeypatch.setattr(runtimes, "openvino_available", lambda: False)
    assert resolve_runtime("auto", "cpu") == "torch"
    with pytest.raises(DeviceError, match="openvino package"):
        resolve_runtime("openvino", "cpu")


def test_auto_without_openvino_creates_the_torch_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtimes, "openvino_available", lambda: False)
    network = SAMNet(SAMConfig(scale=4, **SMALL)).eval()
    runtime = create_runtime("auto", network, "cpu")
    assert isinstance(runtime, TorchRuntime)
    assert (runtime.name, runtime.precision) == ("torch", "fp32")


# -- shared pieces ----------------------------------------------------------------------------


def test_batch_chunks_cover_the_batch_with_buckets() -> None:
    assert list(batch_chunks(1)) == [(0, 1)]
    assert list(batch_chunks(3)) == [(0, 4)]
    assert list(batch_chunks(9)) == [(0, 8), (8, 1)]
    assert list(batch_chunks(5, (2,))) == [(0, 2), (2, 2), (4, 2)]
    for batch in range(1, 20):
        chunks = list(batch_chunks(batch))
        assert chunks[0][0] == 0 and all(b in (1, 2, 4, 8) for _, b in chunks)
        covered = [i for start, b in chunks for i in range(start, min(start + b, batch))]
        assert covered == list(range(batch))


def test_pad_batch_appends_zero_items() -> None:
    x = torch.rand(3, 2, 4)
    padded = pad_batch(x, 4)
    assert padded.shape == (4, 2, 4)
    assert torch.equal(padded[:3], x) and not padded[3].any()
    assert pad_batch(x, 3) is x


def test_check_inputs_names_the_wrong_input() -> None:
    config = SAMConfig(scale=4, **SMALL).with_priors("all", 5, 7)
    good = random_inputs(config, 2, 16)
    check_inputs(config, good)
    check_inputs(config, replace(good, priors=good.priors[:, :, ::4, ::4]))  # at the LR size
    with pytest.raises(ValueError, match="priors"):
        check_inputs(config, replace(good, priors=good.priors[..., :-4]))
    with pytest.raises(ValueError, match="coeffs"):
        check_inputs(config, replace(good, coeffs=None))
    with pytest.raises(ValueError, match="multiple of 8"):
        check_inputs(config, random_inputs(config, 2, 12))
    with pytest.raises(ValueError, match="single-frame"):
        check_inputs(config, random_inputs(config, 2, 16, neighbours=2))


def test_weights_digest_follows_the_weights_only() -> None:
    config = SAMConfig(scale=4, **SMALL)
    a, b = randomised(config, 0), randomised(config, 0)
    assert weights_digest(a, config) == weights_digest(b, config)
    with torch.no_grad():
        b.tail.bias.add_(1e-3)
    assert weights_digest(a, config) != weights_digest(b, config)


def test_torch_runtime_is_the_network_and_leaves_it_alone() -> None:
    network, _ = load_model(WEIGHTS / "sam-light-x4.safetensors")
    inputs = random_inputs(network.config, 2, 32)
    runtime = create_runtime("torch", network, "cpu")
    out = runtime.forward(inputs)
    assert out.shape == (2, 3, 128, 128) and out.dtype == torch.float32
    assert psnr(out, reference(network, inputs)) > FP32_DB
    assert network.head.weight.is_contiguous()  # the caller's module keeps its layout
    with pytest.raises(ValueError, match="fp32"):
        create_runtime("torch", network, "cpu", precision="bf16")


# -- OpenVINO against torch -------------------------------------------------------------------


@needs_openvino
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_openvino_matches_torch_on_shipped_weights(shipped: SAMNet, precision: str) -> None:
    """Random inputs of the real shapes (LR 32 px at x4, 16 px at x8; priors-v1 sizes)."""
    n = 128 // shipped.config.scale
    inputs = random_inputs(shipped.config, 1, n)
    runtime = create_runtime("openvino", shipped, "cpu", precision, threads=1, cache_dir=None)
    out = runtime.forward(inputs)
    assert out.shape == (1, 3, n * shipped.config.scale, n * shipped.config.scale)
    floor = FP32_DB if runtime.precision == "fp32" else BF16_DB
    assert psnr(out, reference(shipped, inputs)) >= floor


@needs_openvino
def test_openvino_bf16_only_where_the_cpu_has_it() -> None:
    from facesr_video.sr.runtimes import openvino_runtime

    expected = "bf16" if openvino_runtime.bf16_supported() else "fp32"
    assert openvino_runtime.effective_precision("bf16") == expected
    assert openvino_runtime.effective_precision("auto") == expected
    assert openvino_runtime.effective_precision("fp32") == "fp32"
    with pytest.raises(ValueError, match="fp16"):
        openvino_runtime.effective_precision("fp16")


@needs_openvino
def test_batch_padding_leaves_every_face_as_alone() -> None:
    """A batch of 3 runs as buckets of 2 (the last padded with a zero item): each face's output
    is the one it gets alone, and torch's."""
    network, _ = load_model(WEIGHTS / "sam-light-x4.safetensors")
    inputs = random_inputs(network.config, 3, 32)
    padded = create_runtime(
        "openvino", network, "cpu", "fp32", threads=1, cache_dir=None, batch_buckets=(2,)
    )
    single = create_runtime(
        "openvino", network, "cpu", "fp32", threads=1, cache_dir=None, batch_buckets=(1,)
    )
    out = padded.forward(inputs)
    assert out.shape == (3, 3, 128, 128)
    expected = reference(network, inputs)
    alone = single.forward(inputs)
    for b in range(3):
        assert psnr(out[b], alone[b]) >= FP32_DB
        assert psnr(out[b], expected[b]) >= FP32_DB


@needs_openvino
def test_any_crop_size_is_compiled_at_its_own_size() -> None:
    """A size outside enhance's crop sizes (40 px) is not padded: it matches torch as well."""
    network, _ = load_model(WEIGHTS / "sam-light-x4.safetensors")
    inputs = random_inputs(network.config, 1, 40)
    runtime = create_runtime("openvino", network, "cpu", "fp32", threads=1, cache_dir=None)
    assert psnr(runtime.forward(inputs), reference(network, inputs)) >= FP32_DB


@needs_openvino
@pytest.mark.parametrize("mode", ["none", "render"])
def test_openvino_follows_the_inputs_a_network_takes(mode: str) -> None:
    config = SAMConfig(scale=4, **SMALL).with_priors(mode, 5, 0)
    network = randomised(config, 1)
    inputs = random_inputs(config, 2, 16)
    runtime = create_runtime("openvino", network, "cpu", "fp32", threads=1, cache_dir=None)
    assert psnr(runtime.forward(inputs), reference(network, inputs)) >= FP32_DB


@needs_openvino
def test_openvino_reads_maps_at_the_input_size_as_torch_does() -> None:
    """Maps at the LR crop size (what enhance gives) trace a graph of their own, next to the
    HR-size one, and both match torch."""
    network, _ = load_model(WEIGHTS / "sam-light-x4.safetensors")
    hr_maps = random_inputs(network.config, 1, 24)
    lr_maps = replace(hr_maps, priors=hr_maps.priors[:, :, ::4, ::4].contiguous())
    assert lr_maps.form == ("lr", "priors@lr", "coeffs") and hr_maps.form == hr_maps.signature
    runtime = create_runtime("openvino", network, "cpu", "fp32", threads=1, cache_dir=None)
    for inputs in (lr_maps, hr_maps, lr_maps):
        assert psnr(runtime.forward(inputs), reference(network, inputs)) >= FP32_DB


@needs_openvino
def test_openvino_runs_the_multi_frame_network() -> None:
    config = replace(SAMConfig(scale=4, **SMALL).with_priors("all", 5, 7), frames=3)
    network = randomised(config, 2)
    runtime = create_runtime("openvino", network, "cpu", "fp32", threads=1, cache_dir=None)
    for neighbours in (2, 4):  # the neighbour count is free, as in torch
        inputs = random_inputs(config, 2, 16, neighbours=neighbours)
        assert psnr(runtime.forward(inputs), reference(network, inputs)) >= FP32_DB
    single = random_inputs(config, 1, 16)  # no neighbours: the single-frame path
    assert psnr(runtime.forward(single), reference(network, single)) >= FP32_DB


@needs_openvino
def test_new_weights_are_never_served_an_old_graph() -> None:
    config = SAMConfig(scale=4, **SMALL)
    first, second = randomised(config, 3), randomised(config, 4)
    inputs = random_inputs(config, 1, 16)
    for network in (first, second):
        runtime = create_runtime("openvino", network, "cpu", "fp32", threads=1, cache_dir=None)
        assert psnr(runtime.forward(inputs), reference(network, inputs)) >= FP32_DB


@needs_openvino
def test_disk_cache_is_read_back_and_rebuilt_when_corrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from facesr_video.sr.runtimes import openvino_runtime

    config = SAMConfig(scale=4, **SMALL).with_priors("all", 5, 7)
    network = randomised(config, 5)
    inputs = random_inputs(config, 1, 16)
    expected = reference(network, inputs)

    def fresh_process() -> None:
        monkeypatch.setattr(openvino_runtime, "_graphs", {})
        monkeypatch.setattr(openvino_runtime, "_compiled", openvino_runtime.OrderedDict())

    fresh_process()
    create_runtime("openvino", network, "cpu", "fp32", threads=1, cache_dir=tmp_path).forward(
        inputs
    )
    (xml,) = tmp_path.glob("*.xml")
    assert xml.with_suffix(".bin").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial files

    fresh_process()
    converted: list[bool] = []
    original = openvino_runtime.convert

    def counting(*args: object) -> object:
        converted.append(True)
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(openvino_runtime, "convert", counting)
    runtime = create_runtime("openvino", network, "cpu", "fp32", threads=1, cache_dir=tmp_path)
    assert psnr(runtime.forward(inputs), expected) >= FP32_DB
    assert not converted  # read from disk

    fresh_process()
    xml.write_text("not a graph")
    runtime = create_runtime("openvino", network, "cpu", "fp32", threads=1, cache_dir=tmp_path)
    assert psnr(runtime.forward(inputs), expected) >= FP32_DB
    assert converted == [True]  # rebuilt, and written again
    fresh_process()
    assert openvino_runtime._read_graph(xml, 3) is not None


@needs_openvino
def test_a_changed_network_code_is_never_served_an_old_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from facesr_video.sr.runtimes import openvino_runtime

    signature = ("lr", "priors", "coeffs")
    before = openvino_runtime.graph_file(tmp_path, "weights", signature)
    assert openvino_runtime.graph_file(tmp_path, "weights", signature) == before
    monkeypatch.setattr(openvino_runtime, "network_code_digest", lambda: "another forward pass")
    assert openvino_runtime.graph_file(tmp_path, "weights", signature) != before
