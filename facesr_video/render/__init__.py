"""Rasteriser backends (torch, nvdiffrast) and the prior maps the SR network consumes.

Entry points: `rasterize` / `interpolate` / `pixels_to_clip` (render/rasterize.py),
`render_priors` -> `PriorMaps` (render/priors.py), `PriorLayout` (render/layout.py).
"""

from facesr_video.render.layout import PriorLayout, pack_coefficients, prior_layout
from facesr_video.render.priors import PriorMaps, coefficient_planes, render_priors
from facesr_video.render.rasterize import Raster, interpolate, pixels_to_clip, rasterize

__all__ = [
    "PriorLayout",
    "PriorMaps",
    "Raster",
    "coefficient_planes",
    "interpolate",
    "pack_coefficients",
    "pixels_to_clip",
    "prior_layout",
    "rasterize",
    "render_priors",
]
