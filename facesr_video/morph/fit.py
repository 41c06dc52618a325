"""Fit the face model to 68 landmarks: Levenberg-Marquardt in numpy on the landmark vertices only.

Unknowns per frame: pose (axis-angle rotation, translation), expression weights (bounded box,
gaze shapes frozen at 0) and, until the track's identity is confident, identity weights under a
Gaussian prior carried by TrackIdentity. Focal length is fixed by the camera (not observable from
landmarks). Jaw landmarks 0-7 / 9-16 are matched each iteration to the nearest projected contour
candidate, so the jaw follows the silhouette as the head turns. Only the ~100 landmark and contour
vertices are ever evaluated, which keeps a warm-started fit to a few milliseconds. The solve
itself is in landmark_solver.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facesr_video.morph.camera import Camera, Pose, euler_degrees
from facesr_video.morph.face_model import FaceModel
from facesr_video.morph.landmark_solver import (
    JAW_LEFT,
    JAW_RIGHT,
    LandmarkProblem,
    LandmarkSolver,
)

RIGHT_EYE = slice(36, 42)
LEFT_EYE = slice(42, 48)


def inter_ocular(landmarks68: np.ndarray) -> float:
    """Distance between the two eye centres of (68, 2) landmarks, in pixels."""
    return float(
        np.linalg.norm(landmarks68[RIGHT_EYE].mean(axis=0) - landmarks68[LEFT_EYE].mean(axis=0))
    )


@dataclass(frozen=True)
class FaceFit:
    """One face's fit in one frame. residual: RMS landmark error / inter-ocular distance."""

    identity: np.ndarray  # (K,)
    expression: np.ndarray  # (E,)
    rotation: np.ndarray  # (3,) axis-angle, radians (see camera.py)
    translation: np.ndarray  # (3,) camera space, model units
    camera: Camera
    residual: float
    reliable: bool
    reason: str = ""  # why not reliable
    iterations: int = 0
    lighting: np.ndarray | None = None  # (9, 3) SH coefficients per RGB channel
    landmark_vertices: np.ndarray | None = None  # (68,) vertices matched (jaw on the contour)
    # Information (K, K) the landmarks gave about identity (marginal over pose and expression).
    identity_information: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def pose(self) -> Pose:
        return Pose(self.rotation, self.translation)

    @property
    def focal(self) -> float:
        return self.camera.focal

    def euler(self) -> np.ndarray:
        """(pitch, yaw, roll) degrees."""
        return euler_degrees(self.rotation)

    def replace(self, **changes: object) -> FaceFit:
        from dataclasses import replace

        return replace(self, **changes)


class TrackIdentity:
    """Running Gaussian posterior over a track's identity weights, frozen once confident.

    Each reliable frame adds `information_scale` times the information its landmarks carried
    (frames of one track are strongly correlated, so they count for less than independent ones).
    """

    def __init__(
        self,
        num_identity: int,
        information_scale: float = 0.2,
        freeze_std: float = 0.25,
        freeze_after: int = 90,
    ) -> None:
        self.mean = np.zeros(num_identity)
        self.precision = np.eye(num_identity)
        self.information_scale = information_scale
        self.freeze_std = freeze_std
        self.freeze_after = freeze_after
        self.frames = 0
        self.frozen = False

    def std(self) -> np.ndarray:
        """Posterior standard deviation (K,) of each identity weight."""
        return np.sqrt(np.diag(np.linalg.inv(self.precision)))

    def update(self, fit: FaceFit) -> None:
        """Fold a reliable frame's identity estimate into the posterior (no-op once frozen)."""
        if self.frozen or not fit.reliable or fit.identity_information is None:
            return
        s = self.information_scale
        info = fit.identity_information
        # fit.identity is the posterior under (mean, precision) plus this frame's information:
        # the frame alone says info @ d = (P + info) w - P mu.
        rhs = self.precision @ self.mean + s * (
            (self.precision + info) @ fit.identity - self.precision @ self.mean
        )
        self.precision = self.precision + s * info
        self.mean = np.linalg.solve(self.precision, rhs)
        self.frames += 1
        if self.frames >= self.freeze_after or self.std().max() < self.freeze_std:
            self.frozen = True


class LandmarkFitter:
    """Fits a FaceModel to (68, 2) landmarks; reuse one per model (it caches the vertex subset)."""

    def __init__(
        self,
        model: FaceModel,
        landmark_sigma: float = 0.03,
        expression_weight: float = 0.3,
        jaw_weight: float = 0.5,
        focal_factor: float = 1.0,
        max_iterations: int = 30,
        warm_iterations: int = 6,
        max_residual: float = 0.12,
        max_angles: tuple[float, float, float] = (60.0, 80.0, 70.0),
        identity_modes: int = 40,
    ) -> None:
        self.model = model
        self.landmark_sigma = landmark_sigma
        self.expression_weight = expression_weight
        self.focal_factor = focal_factor
        self.max_iterations = max_iterations
        self.warm_iterations = warm_iterations
        self.max_residual = max_residual
        self.max_angles = np.array(max_angles)
        self._solver = LandmarkSolver(model, identity_modes)
        e = model.num_expression
        frozen = np.zeros(e, bool)
        frozen[model.gaze_expressions] = True
        self._free_exp = np.flatnonzero(~frozen)
        self._bounds = model.expression_bounds
        weights = np.ones(68)
        weights[JAW_RIGHT] = weights[JAW_LEFT] = jaw_weight
        weights[8] = jaw_weight
        self._weights = np.repeat(weights, 2)
        eyes = model.mean[model.landmarks68]
        self._model_iod = float(
            np.linalg.norm(eyes[RIGHT_EYE].mean(axis=0) - eyes[LEFT_EYE].mean(axis=0))
        )

    def initial_pose(self, landmarks: np.ndarray, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
        """Frontal rotation (3,) and translation (3,) placing the mean face over the landmarks."""
        iod = max(inter_ocular(landmarks), 1e-3)
        z = camera.focal * self._model_iod / iod
        centre = landmarks[27:36].mean(axis=0)  # nose
        nose_vertices = self._solver.mean[self._solver.fixed[27:36]]
        nose_model = nose_vertices.mean(axis=0) * np.array([1.0, -1.0, -1.0])
        x = (centre[0] - camera.cx) * z / camera.focal - nose_model[0]
        y = (centre[1] - camera.cy) * z / camera.focal - nose_model[1]
        return np.zeros(3), np.array([x, y, z - nose_model[2]])

    def fit(
        self,
        landmarks68: np.ndarray,
        image_size: tuple[int, int],
        previous: FaceFit | None = None,
        identity_prior: TrackIdentity | None = None,
    ) -> FaceFit:
        """Fit (68, 2) pixel landmarks in a (W, H) image; warm-start from previous when given."""
        landmarks = np.asarray(landmarks68, np.float64)
        width, height = image_size
        camera = Camera.for_image(width, height, self.focal_factor)
        model = self.model
        k = model.num_identity
        prior_mean = identity_prior.mean if identity_prior is not None else np.zeros(k)
        prior_precision = identity_prior.precision if identity_prior is not None else np.eye(k)
        fit_identity = identity_prior is None or not identity_prior.frozen
        iod = max(inter_ocular(landmarks), 1e-3)
        if not np.isfinite(landmarks).all() or landmarks.shape != (68, 2):
            return self._failed(camera, previous, prior_mean, "landmarks not finite / not (68, 2)")

        if previous is not None and previous.reliable:
            rot, trans = previous.rotation.copy(), previous.translation.copy()
            expression = previous.expression.astype(np.float64).copy()
            identity = (
                previous.identity.astype(np.float64).copy() if fit_identity else prior_mean.copy()
            )
            if not fit_identity:
                identity = prior_mean.copy()
            iterations = self.warm_iterations
        else:
            rot, trans = self.initial_pose(landmarks, camera)
            expression = np.zeros(model.num_expression)
            identity = prior_mean.copy()
            rigid = self._problem(camera, landmarks, iod, rigid=True, identity_prior=None)
            start = self._solver.evaluate(rigid, rot, trans, identity, expression)
            posed = self._solver.solve(rigid, start, 10).estimate
            rot, trans = posed.rotation, posed.translation
            iterations = self.max_iterations
        prior = (prior_mean, prior_precision) if fit_identity else None
        problem = self._problem(camera, landmarks, iod, rigid=False, identity_prior=prior)
        start = self._solver.evaluate(problem, rot, trans, identity, expression)
        solution = self._solver.solve(problem, start, iterations)
        solved = solution.estimate
        rot, trans = solved.rotation, solved.translation
        identity, expression = solved.identity, solved.expression
        used, info = solution.iterations, solution.identity_information
        _, cam, proj, index = self._solver.project(
            rot, trans, identity, expression, camera, landmarks
        )
        residual = float(np.sqrt(np.mean(np.sum((proj[index] - landmarks) ** 2, axis=1))) / iod)
        reason = self._check(rot, cam, residual, identity, prior_mean, prior_precision)
        fit = FaceFit(
            identity=identity.astype(np.float32),
            expression=expression.astype(np.float32),
            rotation=rot,
            translation=trans,
            camera=camera,
            residual=residual,
            reliable=not reason,
            reason=reason,
            iterations=used,
            landmark_vertices=self._solver.subset[index],
            identity_information=info if fit_identity else None,
        )
        if reason and previous is not None and previous.reliable:
            # keep the last good mesh rather than a wild one; the smoother treats it as missing
            return previous.replace(
                residual=residual, reliable=False, reason=reason, camera=camera, iterations=used
            )
        return fit

    def _failed(self, camera, previous, identity, reason) -> FaceFit:
        if previous is not None:
            return previous.replace(reliable=False, reason=reason, camera=camera, residual=np.inf)
        return FaceFit(
            identity=identity.astype(np.float32),
            expression=np.zeros(self.model.num_expression, np.float32),
            rotation=np.zeros(3),
            translation=np.array([0.0, 0.0, 1e3]),
            camera=camera,
            residual=float("inf"),
            reliable=False,
            reason=reason,
        )

    def _check(self, rot, cam, residual, identity, prior_mean, prior_precision) -> str:
        if not (np.isfinite(cam).all() and np.isfinite(rot).all()):
            return "fit diverged (non-finite)"
        if (cam[:, 2] <= 0).any():
            return "face behind the camera"
        if residual > self.max_residual:
            return f"landmark residual {residual:.3f} of inter-ocular distance"
        angles = np.abs(euler_degrees(rot))
        if (angles > self.max_angles).any():
            return f"implausible pose (pitch, yaw, roll) {np.round(angles, 1).tolist()} degrees"
        d = identity - prior_mean
        if float(d @ prior_precision @ d) / len(d) > 9.0:
            return "identity far outside the model's range"
        return ""

    def _problem(
        self,
        camera: Camera,
        landmarks: np.ndarray,
        iod: float,
        rigid: bool,
        identity_prior: tuple[np.ndarray, np.ndarray] | None,
    ) -> LandmarkProblem:
        """The solve for these landmarks: pose only when `rigid`, else pose and expression, and
        the leading identity modes too when given their prior (mean (K,), precision (K, K))."""
        modes = self._solver.identity_modes if identity_prior is not None and not rigid else 0
        scale = 1.0 / (self.landmark_sigma * iod)
        return LandmarkProblem(
            camera=camera,
            landmarks=landmarks,
            weights=self._weights * scale**2,
            free_expression=np.array([], np.int64) if rigid else self._free_exp,
            identity_modes=modes,
            identity_mean=identity_prior[0][:modes] if identity_prior and modes else None,
            identity_precision=(
                identity_prior[1][:modes, :modes] if identity_prior and modes else None
            ),
            expression_penalty=self.expression_weight**2 if self._bounds is not None else 1.0,
            bounds=self._bounds,
        )
