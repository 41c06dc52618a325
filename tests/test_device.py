"""The one `--device` resolver (facesr_video/device.py)."""

from __future__ import annotations

import pytest
import torch

from facesr_video.device import resolve_device
from facesr_video.errors import DeviceError


@pytest.mark.parametrize("name", ["cpu", "CPU", "cpu:0"])
def test_cpu_names(name: str) -> None:
    assert resolve_device(name) == torch.device("cpu")


def test_auto_picks_cuda_only_when_present() -> None:
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == want


@pytest.mark.parametrize("name", ["tpu", "", "cuda:-1", "cuda:x", "graphics"])
def test_unknown_names(name: str) -> None:
    with pytest.raises(DeviceError, match="unknown --device") as caught:
        resolve_device(name)
    assert caught.value.hint == "use auto, cpu, cuda or cuda:N"


@pytest.mark.parametrize("name", ["mps", "meta", "xpu"])
def test_devices_torch_knows_but_we_do_not_run_on(name: str) -> None:
    with pytest.raises(DeviceError, match="unsupported --device"):
        resolve_device(name)


def test_cuda_absent_or_index_out_of_range() -> None:
    if torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA device\\(s\\) present"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")
        assert resolve_device("cuda") == torch.device("cuda")
    else:
        for name in ("cuda", "cuda:0", "cuda:3"):
            with pytest.raises(DeviceError, match="no CUDA device is available"):
                resolve_device(name)
