"""Evaluation: metrics, the documented degradation, identity similarity and the report.

Modules: `metrics` (PSNR, SSIM, flicker, landmark error and jitter on torch tensors; training's
validation uses them too), `identity` (dlib face descriptors), `results` (typed records and their
JSON), `pictures` and `report` (report.json, report.md, PNGs). None of them depends on the enhance
path, so `evaluate` composes them and each is tested alone. Low-resolution input is made by
`dataset.degrade`.
"""
