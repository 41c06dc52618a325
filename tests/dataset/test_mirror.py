"""A flipped training sample's priors and coefficients describe the mirrored face.

Module under test: dataset/mirror.py.

The flip of a crop is the mirror image of the scene, x -> -x in camera space (F = diag(-1, 1, 1)).
Checked on the model (mesh, lighting, pose and rendered maps are equivariant under the mirror of
the coefficients) and on real portraits: the project's own analysis of a photo's mirror image
agrees with the mirrored analysis of the photo, and not with a plain flip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facesr_video.analysis.face_tracks import AnalyzerConfig
from facesr_video.analysis.priors import render_face_priors
from facesr_video.analysis.sequence import AnalysisConfig, SequenceAnalyser
from facesr_video.dataset.degrade.bicubic import crop_to_multiple, downscale
from facesr_video.dataset.mirror import (
    CoefficientMirror,
    coefficient_mirror,
    mirror_maps,
    mirror_name,
    mirror_partners,
)
from facesr_video.faces.align import Alignment
from facesr_video.morph.camera import (
    Camera,
    Pose,
    camera_vertices,
    project,
    rotation_matrix,
)
from facesr_video.morph.face_model import FaceModel
from facesr_video.morph.fit import FaceFit
from facesr_video.morph.formats import load_face_model
from facesr_video.morph.sh import sh_shading
from facesr_video.render.layout import CHANNELS_V1, PriorLayout, prior_layout
from tests.conftest import DATA, ICT_NPZ, require

F = np.diag([-1.0, 1.0, 1.0])
SCALE = 4


@pytest.fixture(scope="module")
def model() -> FaceModel:
    return load_face_model(require(ICT_NPZ))


@pytest.fixture(scope="module")
def layout(model: FaceModel) -> PriorLayout:
    return prior_layout(model)


@pytest.fixture(scope="module")
def mirror(model: FaceModel, layout: PriorLayout) -> CoefficientMirror:
    return coefficient_mirror(layout.coefficient_names, model)


def _indices(layout: PriorLayout, prefix: str) -> np.ndarray:
    return np.array([i for i, n in enumerate(layout.coefficient_names) if n.startswith(prefix)])


def _random_coefficients(layout: PriorLayout, rng: np.random.Generator) -> np.ndarray:
    """A plausible coefficient vector: identity ~ N(0, 1), blendshapes in [0, 1], a turned and
    rolled head 45 cm in front of the camera, off-centre, and a random SH light."""
    names = layout.coefficient_names
    coeffs = np.zeros(len(names), np.float32)
    coeffs[_indices(layout, "id_")] = rng.normal(size=len(_indices(layout, "id_")))
    coeffs[_indices(layout, "exp_")] = rng.uniform(0.0, 1.0, size=len(_indices(layout, "exp_")))
    pose = {
        "rot_x": rng.uniform(-0.3, 0.3),
        "rot_y": rng.uniform(-0.5, 0.5),
        "rot_z": rng.uniform(-0.3, 0.3),
        "trans_x": rng.uniform(-4.0, 4.0),
        "trans_y": rng.uniform(-3.0, 3.0),
        "trans_z": rng.uniform(40.0, 50.0),
    }
    for name, value in pose.items():
        coeffs[names.index(name)] = value
    sh = rng.normal(scale=0.3, size=(9, 3))
    sh[0] += 1.5  # mostly ambient, so the render is not clipped at 0
    coeffs[_indices(layout, "sh_")] = sh.reshape(-1)
    return coeffs


def _fit(model: FaceModel, layout: PriorLayout, coeffs: np.ndarray, camera: Camera) -> FaceFit:
    names = layout.coefficient_names
    pose = [coeffs[names.index(n)] for n in ("rot_x", "rot_y", "rot_z")]
    trans = [coeffs[names.index(n)] for n in ("trans_x", "trans_y", "trans_z")]
    return FaceFit(
        identity=coeffs[_indices(layout, "id_")].astype(np.float64),
        expression=coeffs[_indices(layout, "exp_")].astype(np.float64),
        rotation=np.array(pose, np.float64),
        translation=np.array(trans, np.float64),
        camera=camera,
        residual=0.0,
        reliable=True,
        lighting=coeffs[_indices(layout, "sh_")].reshape(9, 3).astype(np.float32),
    )


def _mesh(model: FaceModel, layout: PriorLayout, coeffs: np.ndarray) -> np.ndarray:
    return model.vertices(coeffs[_indices(layout, "id_")], coeffs[_indices(layout, "exp_")])


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def mirrored_alignment(alignment: Alignment, frame_width: int) -> Alignment:
    """The alignment of the flipped crop in the mirrored frame: crop flip . A . frame flip."""
    n = alignment.crop_size
    frame_flip = np.array([[-1.0, 0.0, frame_width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    crop_flip = np.array([[-1.0, 0.0, n - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    matrix = crop_flip @ np.vstack([alignment.crop_from_frame, [0.0, 0.0, 1.0]]) @ frame_flip
    return Alignment(matrix[:2], n)


def test_mirrored_coefficients_give_the_mirrored_mesh(model, layout, mirror) -> None:
    partner = mirror_partners(model.mean)
    assert np.array_equal(partner[partner], np.arange(model.num_vertices))  # an involution
    rng = np.random.default_rng(0)
    for _ in range(4):
        coeffs = _random_coefficients(layout, rng)
        mesh = _mesh(model, layout, coeffs)
        target = mesh[partner] * np.diag(F)  # x -> -x, each vertex moved to its partner's place
        error = np.linalg.norm(_mesh(model, layout, mirror(coeffs)) - target, axis=1)
        unmirrored = np.linalg.norm(mesh - target, axis=1)
        # model units are cm: the mirror is within 0.2 mm RMS and 2.5 mm anywhere (the ICT model
        # is itself symmetric to 0.05 mm); leaving the weights alone is off by several mm
        message = (
            f"mirrored mesh RMS {_rms(error):.4f} max {error.max():.4f} cm; "
            f"unmirrored weights RMS {_rms(unmirrored):.4f} cm"
        )
        assert _rms(error) < 0.02 and error.max() < 0.25, message
        assert _rms(unmirrored) > 0.2, message


def test_mirrored_lighting_shades_mirrored_normals_alike(layout, mirror) -> None:
    rng = np.random.default_rng(1)
    normals = rng.normal(size=(500, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    sh_index = _indices(layout, "sh_")
    for _ in range(4):
        coeffs = _random_coefficients(layout, rng)
        sh = torch.from_numpy(coeffs[sh_index].reshape(1, 9, 3))
        sh_mirrored = torch.from_numpy(mirror(coeffs)[sh_index].reshape(1, 9, 3))
        n = torch.from_numpy(normals[None]).float()
        n_mirrored = torch.from_numpy((normals @ F)[None]).float()
        original = sh_shading(n, sh)
        torch.testing.assert_close(sh_shading(n_mirrored, sh_mirrored), original, atol=1e-5, rtol=0)
        assert (sh_shading(n_mirrored, sh) - original).abs().max() > 0.05  # the flip matters


def test_mirrored_pose_is_f_r_f_and_projects_to_the_mirrored_pixel(model, layout, mirror) -> None:
    names = layout.coefficient_names
    rot = [names.index(n) for n in ("rot_x", "rot_y", "rot_z")]
    trans = [names.index(n) for n in ("trans_x", "trans_y", "trans_z")]
    partner = mirror_partners(model.mean)
    width, height = 200, 160
    camera = Camera.for_image(width, height)
    rng = np.random.default_rng(2)
    for _ in range(6):
        coeffs = _random_coefficients(layout, rng)
        coeffs[rot] = rng.normal(size=3) * 0.6  # any axis, up to about 60 degrees
        mirrored = mirror(coeffs)
        r = rotation_matrix(coeffs[rot])
        np.testing.assert_allclose(rotation_matrix(mirrored[rot]), F @ r @ F, atol=1e-6)
        assert np.abs(rotation_matrix(coeffs[rot]) - F @ r @ F).max() > 0.05
        # whole chain: camera space is mirrored (x -> -x), pixels land at x -> W - 1 - x
        cam = camera_vertices(
            _mesh(model, layout, coeffs).astype(np.float64), Pose(coeffs[rot], coeffs[trans])
        )
        cam_mirrored = camera_vertices(
            _mesh(model, layout, mirrored).astype(np.float64), Pose(mirrored[rot], mirrored[trans])
        )
        error = np.linalg.norm(cam_mirrored - cam[partner] @ F, axis=1)
        assert _rms(error) < 0.02 and error.max() < 0.25, (_rms(error), error.max())
        xy, xy_mirrored = project(cam, camera), project(cam_mirrored, camera)
        expected = np.stack([width - 1 - xy[partner, 0], xy[partner, 1]], axis=1)
        pixel_error = np.linalg.norm(xy_mirrored - expected, axis=1)
        # the face is ~70 px wide here: within 0.05 px RMS, 1 px anywhere (the mesh's 2.5 mm)
        assert _rms(pixel_error) < 0.05 and pixel_error.max() < 1.0, pixel_error.max()
        assert np.abs(xy[partner] - xy).max() > 10.0  # a left-right pair is far apart


def test_mirror_maps_flips_width_and_negates_only_normal_x() -> None:
    rng = np.random.default_rng(3)
    priors = rng.normal(size=(len(CHANNELS_V1), 5, 7)).astype(np.float16)
    before = priors.copy()
    out = mirror_maps(priors, CHANNELS_V1)
    assert out.shape == priors.shape and out.dtype == priors.dtype
    assert out.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(priors, before)  # the input is untouched
    for c, name in enumerate(CHANNELS_V1):
        sign = -1 if name == "normal_x" else 1
        np.testing.assert_array_equal(out[c], sign * priors[c, :, ::-1], err_msg=name)
    # a store without normal maps: a plain flip
    shade = ("shade", "mask", "depth")
    np.testing.assert_array_equal(mirror_maps(priors[:3], shade), priors[:3, :, ::-1])


def _channel_agreement(
    a: np.ndarray, b: np.ndarray, channels: tuple[str, ...]
) -> tuple[dict[str, float], float]:
    """Correlation per channel of two (C, H, W) prior maps inside both masks; mask IoU."""
    mask = channels.index("mask")
    inside = (a[mask] > 0.5) & (b[mask] > 0.5)
    iou = float(inside.sum() / max(1, ((a[mask] > 0.5) | (b[mask] > 0.5)).sum()))
    correlations = {}
    for c, name in enumerate(channels):
        x, y = a[c][inside].astype(np.float64), b[c][inside].astype(np.float64)
        if x.std() > 1e-6 and y.std() > 1e-6:
            correlations[name] = float(np.corrcoef(x, y)[0, 1])
    return correlations, iou


def test_rendered_priors_of_mirrored_coefficients_are_the_mirrored_maps(
    model, layout, mirror
) -> None:
    """Every map channel at once: rendering the mirrored coefficients in the flipped crop of the
    mirrored frame gives mirror_maps of the render (parts, depth and shading included)."""
    width, height, n = 64, 56, 32
    camera = Camera.for_image(width, height, focal_factor=4.0)
    rng = np.random.default_rng(4)
    for _ in range(2):
        coeffs = _random_coefficients(layout, rng)
        names = layout.coefficient_names
        coeffs[names.index("trans_z")] = 60.0  # the face fills about half the frame
        alignment = Alignment(np.array([[1.0, 0.0, -10.0], [0.0, 1.0, -9.0]]), n)
        with torch.no_grad():
            maps = render_face_priors(
                model, [_fit(model, layout, coeffs, camera)], [alignment], SCALE
            ).maps[0]
            maps_mirrored = render_face_priors(
                model,
                [_fit(model, layout, mirror(coeffs), camera)],
                [mirrored_alignment(alignment, width)],
                SCALE,
            ).maps[0]
        flipped = mirror_maps(maps.numpy(), layout.channels)
        reference = maps_mirrored.numpy()
        correlations, iou = _channel_agreement(flipped, reference, layout.channels)
        assert iou > 0.97, iou
        assert len(correlations) >= 10 and min(correlations.values()) > 0.97, correlations
        inside = reference[layout.index("mask")] > 0.5
        assert inside.mean() > 0.2  # the face is there
        nx = layout.index("normal_x")
        plain = maps.numpy()[nx, :, ::-1]
        assert np.corrcoef(plain[inside], reference[nx][inside])[0, 1] < -0.9


# -- real portraits: the project's analysis of a photo's mirror image ---------------------------

PORTRAITS = DATA / "faces" / "frl_london"
LR_WIDTH = 176  # frl_london is 1024 px square: LR faces of ~55 px (96 px crops)


def _portraits() -> list[Path]:
    """Two smiling and two neutral frl_london photos (smiles are often asymmetric)."""
    folders = [require(PORTRAITS / "smiling"), require(PORTRAITS / "neutral")]
    paths = [p for folder in folders for p in sorted(folder.glob("*.jpg"))[:2]]
    if len(paths) < 4:
        pytest.skip(f"shared data not found: 4 portraits in {PORTRAITS}")
    return paths


def _hr_frame(path: Path, index: int) -> np.ndarray:
    """The photo at 4 x LR_WIDTH, cut off-centre (alternately left and right) so the head's x
    translation is far from zero and its sign varies."""
    side = SCALE * LR_WIDTH
    image = np.asarray(
        Image.open(path).convert("RGB").resize((side, side), Image.Resampling.LANCZOS)
    )
    cut = side // 6
    frame = image[:, cut:] if index % 2 else image[:, : side - cut]
    return np.ascontiguousarray(crop_to_multiple(frame, SCALE))


def _analyse(model: FaceModel, lr: np.ndarray):
    """One face of a still image, as extract-priors analyses an image: no smoothing."""
    analyser = SequenceAnalyser(
        model, AnalysisConfig(faces=AnalyzerConfig(min_face=20.0), smoothing=False)
    )
    frames = analyser.push(0, lr, None) + analyser.finish()
    faces = [face for frame in frames for face in frame.faces if face.reliable]
    assert len(faces) == 1, f"expected one reliable face, found {len(faces)}"
    return faces[0]


def _odd_parts(layout: PriorLayout) -> dict[str, np.ndarray]:
    """(D, k) projections onto the parts of a coefficient vector that a mirror changes: yaw and
    roll, x translation, the SH terms odd in x, and left minus right of each blendshape pair (the
    left + right and the other terms are the same for a face and its mirror image)."""
    names = layout.coefficient_names

    def columns(pairs: list[tuple[str, str | None]]) -> np.ndarray:
        out = np.zeros((len(names), len(pairs)))
        for j, (plus, minus) in enumerate(pairs):
            out[names.index(plus), j] = 1.0
            if minus is not None:
                out[names.index(minus), j] = -1.0
        return out

    expression = [n for n in names if n.startswith("exp_")]
    pairs = [(n, "exp_" + mirror_name(n[4:])) for n in expression]
    return {
        "rotation (rot_y, rot_z)": columns([("rot_y", None), ("rot_z", None)]),
        "translation (trans_x)": columns([("trans_x", None)]),
        "lighting (SH odd in x)": columns(
            [(f"sh_{k}_{c}", None) for k in (3, 4, 7) for c in "rgb"]
        ),
        "expression (left - right)": columns([(a, b) for a, b in pairs if a < b]),
    }


@pytest.mark.slow
def test_flipped_sample_agrees_with_the_fit_of_the_mirrored_photo(model, layout, mirror) -> None:
    groups = _odd_parts(layout)
    fixed: dict[str, list[np.ndarray]] = {g: [] for g in groups}
    plain: dict[str, list[np.ndarray]] = {g: [] for g in groups}
    truth: dict[str, list[np.ndarray]] = {g: [] for g in groups}
    map_rows = []
    nx = layout.index("normal_x")
    for index, path in enumerate(_portraits()):
        hr = _hr_frame(path, index)
        hr_mirrored = np.ascontiguousarray(hr[:, ::-1])
        lr, lr_mirrored = downscale(hr, SCALE), downscale(hr_mirrored, SCALE)
        face, face_mirrored = _analyse(model, lr), _analyse(model, lr_mirrored)
        # Render the mirrored photo's fit in the flipped crop of the photo's crop: the same
        # pixels of the mirrored frame, so crops chosen a pixel apart do not matter.
        flipped_alignment = mirrored_alignment(face.alignment, lr.shape[1])
        with torch.no_grad():
            priors = render_face_priors(model, [face.fit], [face.alignment], SCALE)
            priors_mirrored = render_face_priors(
                model, [face_mirrored.fit], [flipped_alignment], SCALE
            )
        coeffs = priors.coefficients[0].numpy()
        coeffs_mirrored = priors_mirrored.coefficients[0].numpy()
        for group, projection in groups.items():
            fixed[group].append(mirror(coeffs) @ projection)
            plain[group].append(coeffs @ projection)
            truth[group].append(coeffs_mirrored @ projection)

        maps = priors.maps[0].numpy()
        reference = priors_mirrored.maps[0].numpy()
        ours, iou = _channel_agreement(mirror_maps(maps, layout.channels), reference, CHANNELS_V1)
        inside = (reference[layout.index("mask")] > 0.5) & (
            maps[layout.index("mask"), :, ::-1] > 0.5
        )
        flip_only = float(np.corrcoef(maps[nx, :, ::-1][inside], reference[nx][inside])[0, 1])
        map_rows.append((path.parent.name + "/" + path.name, ours, flip_only, iou))

    report = []
    for group in groups:
        t = np.concatenate(truth[group])
        f, p = np.concatenate(fixed[group]), np.concatenate(plain[group])
        report.append(
            (group, _rms(f - t), _rms(p - t), np.corrcoef(f, t)[0, 1], np.corrcoef(p, t)[0, 1])
        )
    text = "; ".join(
        f"{g}: RMS error mirrored {ef:.3f} vs unmirrored {ep:.3f}, corr {cf:+.2f} vs {cp:+.2f}"
        for g, ef, ep, cf, cp in report
    )
    text += " | maps: " + "; ".join(
        f"{name} normal_x corr {ours['normal_x']:+.2f} (plain flip {flip:+.2f}), "
        f"min over channels {min(ours.values()):+.2f}, mask IoU {iou:.2f}"
        for name, ours, flip, iou in map_rows
    )
    print(text)
    for group, error_fixed, error_plain, corr_fixed, _ in report:
        # Pose and light are fitted well enough that the mirror leaves ~5-15% of the error of
        # unmirrored coefficients; blendshapes from 68 landmarks of ~55 px faces are noisy
        # (measured ratio 0.5 on these 4 photos, 0.55 on 8), so their bar is lower. Without
        # the mirror the odd parts flip sign: the ratio would be > 1 and the correlation < 0.
        ratio, least = (0.75, 0.3) if group.startswith("expression") else (0.3, 0.8)
        assert error_fixed < ratio * error_plain and corr_fixed > least, text
    for _, ours, flip, iou in map_rows:
        assert ours["normal_x"] > 0.8 and flip < 0.0 and iou > 0.85, text
        assert min(ours.values()) > 0.5, text
