"""The prior layout: documented order, variants, stored form and version checks."""

from __future__ import annotations

import pytest

from facesr_video.errors import ModelError
from facesr_video.render import layout as layout_module
from facesr_video.render.layout import (
    LAYOUT_VERSION,
    PriorLayout,
    prior_layout,
    translation_indices,
)
from tests.conftest import ICT_NPZ, require
from tests.render.scene import load_model


def test_layout_of_ict_and_its_round_trip() -> None:
    model = load_model(require(ICT_NPZ))
    layout = prior_layout(model)
    assert layout.version == LAYOUT_VERSION
    assert layout.num_channels == 13 and layout.index("mask") == 7
    assert layout.coefficient_names[0] == "id_000"
    assert layout.coefficient_names[100] == f"exp_{model.expression_names[0]}"
    assert layout.coefficient_names[-1] == "sh_8_b"
    names = layout.coefficient_names
    translation = [names[i] for i in translation_indices(layout.num_coefficients)]
    assert translation == ["trans_x", "trans_y", "trans_z"]
    assert translation_indices(6) == ()  # too short to hold pose and lighting
    assert len(set(layout.coefficient_names)) == layout.num_coefficients
    assert PriorLayout.from_dict(layout.to_dict()) == layout
    # every channel name appears in the module's documented table
    for name in ("render_rgb", "normal_xyz", "depth", "mask", "part_*"):
        assert name in layout_module.__doc__


def test_variants_and_bad_versions() -> None:
    layout = PriorLayout(LAYOUT_VERSION, layout_module.CHANNELS_V1, ("a", "b"))
    assert layout.channels_for("none") == ()
    assert layout.channels_for("render") == (0, 1, 2)
    assert layout.channels_for("all") == tuple(range(13))
    assert layout.uses_coefficients("all") and not layout.uses_coefficients("render")
    with pytest.raises(ValueError, match="unknown prior variant"):
        layout.channels_for("some")
    with pytest.raises(KeyError):
        layout.index("albedo")
    stored = layout.to_dict() | {"version": "priors-v0"}
    with pytest.raises(ModelError, match="priors-v0"):
        PriorLayout.from_dict(stored)
