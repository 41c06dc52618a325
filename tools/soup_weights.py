#!/usr/bin/env python3
"""Interpolate two weight files of the same network: (1 - w) * A + w * B, written as new weights.

    python tools/soup_weights.py A.safetensors B.safetensors --weight 0.5 --out SOUP.safetensors

Both must be fine-tunes of one parent (same config and prior layout): then the straight line
between them stays in one basin of the loss, and a point on it can keep most of what each
fine-tune gained (a "model soup"). The recipe in the output says what was mixed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from facesr_video.sr.weights import load_model, save_model


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--weight", type=float, required=True, help="share of B, in [0, 1]")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if not 0.0 <= args.weight <= 1.0:
        p.error("--weight must be in [0, 1]")
    if args.out.resolve() in (args.a.resolve(), args.b.resolve()):
        p.error("--out must not be one of the inputs")
    model_a, info_a = load_model(args.a)
    model_b, info_b = load_model(args.b)
    if info_a.config != info_b.config or info_a.layout_version != info_b.layout_version:
        p.error("A and B are different networks (config or prior layout): nothing to mix")
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    mixed = {
        k: (1 - args.weight) * v + args.weight * state_b[k] if v.is_floating_point() else v
        for k, v in state_a.items()
    }
    model_a.load_state_dict(mixed)
    recipe = {
        "soup": {"a": str(args.a), "b": str(args.b), "weight_of_b": args.weight},
        "a": info_a.recipe,
        "b": info_b.recipe,
    }
    save_model(model_a, args.out, info_a.layout_version, info_a.layout_channels, recipe)
    share = f"{1 - args.weight:g} x {args.a.name} + {args.weight:g} x {args.b.name}"
    print(f"wrote {args.out}: {share}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
