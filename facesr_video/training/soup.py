"""Weight soups: a point on the line between two fine-tunes of one network, (1 - w) * A + w * B.

Both must be fine-tunes of one parent (same config and prior layout): then the straight line
between them stays in one basin of the loss, and a point on it can keep most of what each
fine-tune gained (a "model soup"). The recipe of the result says what was mixed.
"""

from __future__ import annotations

from pathlib import Path

from facesr_video.errors import InputError
from facesr_video.sr.weights import load_model, save_model


def soup_weights(a: Path, b: Path, weight: float, out: Path) -> None:
    """Write to `out` the weights (1 - weight) * A + weight * B, with a recipe naming both."""
    if not 0.0 <= weight <= 1.0:
        raise InputError(f"the weight of B must be in [0, 1], got {weight}")
    if out.resolve() in (a.resolve(), b.resolve()):
        raise InputError("the output must not be one of the inputs")
    model_a, info_a = load_model(a)
    model_b, info_b = load_model(b)
    if info_a.config != info_b.config or info_a.layout_version != info_b.layout_version:
        raise InputError("A and B are different networks (config or prior layout): nothing to mix")
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    mixed = {
        k: (1 - weight) * v + weight * state_b[k] if v.is_floating_point() else v
        for k, v in state_a.items()
    }
    model_a.load_state_dict(mixed)
    recipe = {
        "soup": {"a": str(a), "b": str(b), "weight_of_b": weight},
        "a": info_a.recipe,
        "b": info_b.recipe,
    }
    save_model(model_a, out, info_a.layout_version, info_a.layout_channels, recipe)
