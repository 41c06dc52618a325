"""Identity similarity with dlib's face descriptor on real portraits from ../shared/data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from facesr_video.errors import InputError
from facesr_video.eval.identity import (
    LANDMARKS5_FILE,
    SAME_PERSON_DISTANCE,
    IdentityEncoder,
    face_models_dir,
    identity_distance,
    identity_similarity,
)
from tests.conftest import DATA, require

CONGRESS = DATA / "faces" / "congress"


@pytest.fixture(scope="module")
def encoder() -> IdentityEncoder:
    return IdentityEncoder()


@pytest.fixture(scope="module")
def portraits() -> list[tuple[np.ndarray, tuple[float, float, float, float]]]:
    """Three portraits with the face box dlib's HOG detector finds."""
    import dlib

    files = sorted(require(CONGRESS).glob("*.jpg"))[:3]
    detector = dlib.get_frontal_face_detector()
    found = []
    for path in files:
        image = np.asarray(Image.open(path).convert("RGB"))
        rects = detector(image, 1)
        assert rects, f"no face found in {path}"
        rect = max(rects, key=lambda r: r.area())
        found.append((image, (rect.left(), rect.top(), rect.right(), rect.bottom())))
    return found


def _blur(image: np.ndarray, radius: float = 1.0) -> np.ndarray:
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(radius)))


def test_models_dir_found_without_import() -> None:
    assert (face_models_dir() / LANDMARKS5_FILE).is_file()


def test_same_face_blurred_is_near_one(encoder, portraits) -> None:
    image, box = portraits[0]
    original = encoder.describe(image, box=box)
    blurred = encoder.describe(_blur(image), box=box)
    assert original.shape == (128,) and original.dtype == np.float32
    assert identity_similarity(original, blurred) > 0.98
    assert identity_distance(original, blurred) < SAME_PERSON_DISTANCE / 2


def test_different_people_are_less_similar(encoder, portraits) -> None:
    descriptors = encoder.describe_many(
        [image for image, _ in portraits], boxes=[box for _, box in portraits]
    )
    assert descriptors.shape == (3, 128)
    blurred = encoder.describe(_blur(portraits[0][0]), box=portraits[0][1])
    self_similarity = identity_similarity(descriptors[0], blurred)
    others = identity_similarity(descriptors[0][None], descriptors[1:])
    assert others.shape == (2,)
    assert (others < self_similarity - 0.05).all()
    assert (identity_distance(descriptors[0][None], descriptors[1:]) > SAME_PERSON_DISTANCE).all()


def test_heavier_degradation_lowers_similarity(encoder, portraits) -> None:
    image, box = portraits[1]
    original = encoder.describe(image, box=box)
    light = identity_similarity(original, encoder.describe(_blur(image, 1.0), box=box))
    heavy = identity_similarity(original, encoder.describe(_blur(image, 6.0), box=box))
    assert heavy < light


def test_landmarks_68_match_box_alignment(encoder, portraits) -> None:
    import dlib

    predictor = dlib.shape_predictor(
        str(face_models_dir() / "shape_predictor_68_face_landmarks.dat")
    )
    image, box = portraits[2]
    shape = predictor(image, dlib.rectangle(*box))
    points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
    from_landmarks = encoder.describe(image, landmarks=points)
    from_box = encoder.describe(image, box=box)
    assert identity_similarity(from_landmarks, from_box) > 0.97


def test_rejects_float_images(encoder) -> None:
    with pytest.raises(InputError):
        encoder.describe(np.zeros((64, 64, 3), dtype=np.float32))


def test_similarity_of_vectors_closed_form() -> None:
    a = np.array([1.0, 0.0])
    b = np.array([1.0, 1.0])
    assert identity_similarity(a, b) == pytest.approx(1 / np.sqrt(2))
    assert identity_distance(a, b) == pytest.approx(1.0)


def test_missing_model_folder_is_model_error(tmp_path: Path) -> None:
    from facesr_video.errors import ModelError

    with pytest.raises(ModelError):
        IdentityEncoder(models_dir=tmp_path)
