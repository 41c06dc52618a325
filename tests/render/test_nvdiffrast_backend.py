"""nvdiffrast agrees with the torch rasteriser on the real face (needs CUDA and nvdiffrast)."""

from __future__ import annotations

import pytest
import torch

from facesr_video.render.rasterize import pixels_to_clip, rasterize
from tests.conftest import ICT_NPZ, require
from tests.render.scene import face_scene, load_model


@pytest.mark.gpu
def test_nvdiffrast_agrees_with_torch_backend() -> None:
    pytest.importorskip("nvdiffrast", reason="nvdiffrast not installed (optional, from GitHub)")
    if not torch.cuda.is_available():
        pytest.skip("nvdiffrast needs CUDA")
    model = load_model(require(ICT_NPZ))
    cam, xy = face_scene(model, 256, yaws_deg=(-35.0, 0.0, 20.0))
    clip = pixels_to_clip(xy, cam[..., 2], (256, 256), 30.0, 120.0).cuda()
    tris = torch.as_tensor(model.triangles).cuda()
    ours = rasterize(clip, tris, (256, 256), backend="torch")
    theirs = rasterize(clip, tris, (256, 256), backend="nvdiffrast")
    assert theirs.backend == "nvdiffrast"
    same = (ours.tri_id == theirs.tri_id).float().mean().item()
    assert same >= 0.995, f"only {100 * same:.2f}% of pixels agree"
    both = (ours.tri_id == theirs.tri_id) & ours.mask
    assert torch.allclose(ours.bary[both], theirs.bary[both], atol=1e-3)
    assert torch.allclose(ours.depth[both], theirs.depth[both], atol=1e-4)
