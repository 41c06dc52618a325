"""The enhance path: decode -> face stage (analysis, network, blending) -> encode.

Modules: `run` (the command's streaming loop, options and summary), `prepare` (face model and
network weights resolved from options), `face_stage` (faces found, super-resolved and pasted
back), `blend`, `stabilise`, `background` (the frame outside the faces).
"""
