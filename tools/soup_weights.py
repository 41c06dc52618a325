#!/usr/bin/env python3
"""Interpolate two weight files of the same network: (1 - w) * A + w * B, written as new weights.

    python tools/soup_weights.py A.safetensors B.safetensors --weight 0.5 --out SOUP.safetensors

Both must be fine-tunes of one parent (same config and prior layout); see
facesr_video/training/soup.py. The recipe in the output says what was mixed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from facesr_video.errors import InputError
from facesr_video.training.soup import soup_weights


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--weight", type=float, required=True, help="share of B, in [0, 1]")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    try:
        soup_weights(args.a, args.b, args.weight, args.out)
    except InputError as error:
        p.error(str(error))
    share = f"{1 - args.weight:g} x {args.a.name} + {args.weight:g} x {args.b.name}"
    print(f"wrote {args.out}: {share}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
