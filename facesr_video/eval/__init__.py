"""Evaluation: metrics, the documented degradation, identity similarity and the report.

Modules: `metrics` (PSNR, SSIM, flicker, landmark error and jitter on torch tensors), `degrade`
(how evaluate makes low-resolution input), `identity` (dlib face descriptors), `results` (typed
records and their JSON), `pictures` and `report` (report.json, report.md, PNGs). None of them
depends on the pipeline, so `evaluate` composes them and each is tested alone.
"""
