"""Levenberg-Marquardt for the landmark fit, on the model's landmark and jaw-contour vertices only.

`LandmarkSolver` holds the face model restricted to those ~100 vertices; a `LandmarkProblem` says
what one solve fits (pose; expression; the leading identity modes under their prior) to which
landmarks, with which weights. Each iteration linearises the projected landmarks at the current
`Estimate` (the Jacobian), forms the normal equations with the priors, and tries damped steps
until one lowers the cost (or gives up); expression weights stay inside their bounds, and those
pressed against a bound are held there for the step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facesr_video.morph.camera import (
    MODEL_TO_CAMERA,
    Camera,
    rotation_matrix,
    rotation_vector,
    skew,
)
from facesr_video.morph.face_model import FaceModel

JAW_RIGHT = np.arange(0, 8)
JAW_LEFT = np.arange(9, 17)


class LandmarkSolver:
    """The face model on the vertices landmarks are matched to, and the solve on them."""

    def __init__(self, model: FaceModel, identity_modes: int) -> None:
        fixed = model.landmarks68.copy()
        subset, inverse = np.unique(
            np.concatenate([fixed, model.jaw_contour_right, model.jaw_contour_left]),
            return_inverse=True,
        )
        self.fixed = inverse[:68]  # subset index of each landmark's own vertex
        self.right = inverse[68 : 68 + len(model.jaw_contour_right)]  # jaw contour candidates
        self.left = inverse[68 + len(model.jaw_contour_right) :]
        self.subset = subset  # model vertex of each subset vertex
        self.mean = model.mean[subset].astype(np.float64)
        # only the leading identity modes are fitted (68 landmarks cannot tell more apart; it
        # also keeps the normal equations small); the others stay at the track's prior mean
        self.identity_modes = min(identity_modes, model.num_identity)
        self.num_identity = model.num_identity
        self.identity_basis = model.identity_basis[: self.identity_modes, subset].astype(np.float64)
        self.expression_basis = model.expression_basis[:, subset].astype(np.float64)

    def points(self, identity: np.ndarray, expression: np.ndarray) -> np.ndarray:
        """The subset's vertices (V, 3) in model space."""
        return (
            self.mean
            + np.tensordot(identity[: self.identity_modes], self.identity_basis, axes=(0, 0))
            + np.tensordot(expression, self.expression_basis, axes=(0, 0))
        )

    def match(self, projected: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """Subset index (68,) of the vertex used for each landmark, jaw on its nearest candidate."""
        index = self.fixed.copy()
        for lms, cands in ((JAW_RIGHT, self.right), (JAW_LEFT, self.left)):
            d = np.linalg.norm(landmarks[lms, None, :] - projected[None, cands, :], axis=-1)
            index[lms] = cands[np.argmin(d, axis=1)]
        return index

    def project(
        self,
        rot: np.ndarray,
        trans: np.ndarray,
        identity: np.ndarray,
        expression: np.ndarray,
        camera: Camera,
        landmarks: np.ndarray,
        index: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Model-to-camera rotation, camera-space vertices (V, 3), their pixels (V, 2) and the
        vertex matched to each landmark (`index`, matched anew when None)."""
        matrix = rotation_matrix(rot) @ MODEL_TO_CAMERA
        cam = self.points(identity, expression) @ matrix.T + trans
        proj = camera.focal * cam[:, :2] / cam[:, 2:3] + np.array([camera.cx, camera.cy])
        if index is None:
            index = self.match(proj, landmarks)
        return matrix, cam, proj, index

    def evaluate(
        self,
        problem: LandmarkProblem,
        rotation: np.ndarray,
        translation: np.ndarray,
        identity: np.ndarray,
        expression: np.ndarray,
    ) -> Estimate:
        """The model at these unknowns: landmark residual and cost (with the priors' penalties)."""
        matrix, points, projected, index = self.project(
            rotation, translation, identity, expression, problem.camera, problem.landmarks
        )
        residual = projected[index].reshape(-1) - problem.landmarks.reshape(-1)
        cost = float(residual @ (problem.weights * residual))
        cost += problem.expression_penalty * float(expression @ expression)
        if problem.identity_modes:
            offset = identity[: problem.identity_modes] - problem.identity_mean
            cost += float(offset @ problem.identity_precision @ offset)
        return Estimate(
            rotation, translation, identity, expression, cost, matrix, points, index, residual
        )

    def solve(self, problem: LandmarkProblem, start: Estimate, iterations: int) -> Solution:
        """At most `iterations` linearise-and-step rounds from `start`; stops early when no damped
        step lowers the cost or the cost falls by less than 1e-5 of itself."""
        estimate = start
        damping = 1e-3
        used = 0
        curvature = None
        for iteration in range(1, iterations + 1):
            used = iteration
            jacobian = self._jacobian(problem, estimate)
            curvature, hessian, gradient = self._normal_equations(problem, estimate, jacobian)
            better, damping = self._improve(problem, estimate, hessian, gradient, damping)
            if better is None:
                break
            relative_decrease = (estimate.cost - better.cost) / max(estimate.cost, 1e-12)
            estimate = better
            if relative_decrease < 1e-5:
                break
        information = None
        if problem.identity_modes and curvature is not None:
            information = self._identity_information(problem, curvature)
        return Solution(estimate, used, information)

    def _jacobian(self, problem: LandmarkProblem, estimate: Estimate) -> np.ndarray:
        """d residual / d unknowns (136, P) at `estimate`: rotation as a small turn applied on
        the left, translation, the fitted identity modes, the free expression weights."""
        points = estimate.points[estimate.index]  # (68, 3) matched vertices, camera space
        x, y, z = points[:, 0], points[:, 1], points[:, 2]
        focal = problem.camera.focal
        d_projection = np.zeros((68, 2, 3))  # d pixel / d camera-space point
        d_projection[:, 0, 0] = focal / z
        d_projection[:, 0, 2] = -focal * x / z**2
        d_projection[:, 1, 1] = focal / z
        d_projection[:, 1, 2] = -focal * y / z**2
        turned = -skew(points - estimate.translation)
        blocks = [
            np.einsum("lij,ljk->lik", d_projection, turned).reshape(-1, 3),
            d_projection.reshape(-1, 3),
        ]
        # (68, 2, 3) d pixel / d model-space point
        d_model = np.einsum("lij,jk->lik", d_projection, estimate.model_to_camera)
        modes, free = problem.identity_modes, problem.free_expression
        if modes:
            basis = self.identity_basis[:, estimate.index]
            blocks.append(np.einsum("lik,nlk->lin", d_model, basis).reshape(-1, modes))
        if len(free):
            basis = self.expression_basis[free][:, estimate.index]
            blocks.append(np.einsum("lik,nlk->lin", d_model, basis).reshape(-1, len(free)))
        return np.concatenate(blocks, axis=1)

    @staticmethod
    def _normal_equations(
        problem: LandmarkProblem, estimate: Estimate, jacobian: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The landmarks' curvature J^T W J, and the Gauss-Newton Hessian and gradient with the
        priors (identity prior, expression penalty) added."""
        weighted = jacobian.T * problem.weights
        curvature = weighted @ jacobian
        hessian = curvature.copy()
        gradient = weighted @ estimate.residual
        modes, free = problem.identity_modes, problem.free_expression
        end = problem.identity_end
        if modes:
            hessian[6:end, 6:end] += problem.identity_precision
            offset = estimate.identity[:modes] - problem.identity_mean
            gradient[6:end] += problem.identity_precision @ offset
        if len(free):
            hessian[end:, end:] += problem.expression_penalty * np.eye(len(free))
            gradient[end:] += problem.expression_penalty * estimate.expression[free]
        return curvature, hessian, gradient

    def _improve(
        self,
        problem: LandmarkProblem,
        estimate: Estimate,
        hessian: np.ndarray,
        gradient: np.ndarray,
        damping: float,
    ) -> tuple[Estimate | None, float]:
        """Up to six damped steps, the damping raised tenfold after each rejected one. Returns the
        first estimate that lowers the cost (None if none did) and the damping to go on with."""
        active = _active_unknowns(problem, estimate, gradient)
        for _ in range(6):
            step = _damped_step(hessian, gradient, active, damping)
            if step is not None:
                candidate = self._moved(problem, estimate, step)
                if _accepted(candidate, estimate):
                    return candidate, max(damping / 10, 1e-7)
            damping *= 10
        return None, damping

    def _moved(self, problem: LandmarkProblem, estimate: Estimate, step: np.ndarray) -> Estimate:
        """The estimate after `step` (expression weights clipped into their bounds), evaluated."""
        modes, free = problem.identity_modes, problem.free_expression
        end = problem.identity_end
        rotation = rotation_vector(rotation_matrix(step[:3]) @ rotation_matrix(estimate.rotation))
        translation = estimate.translation + step[3:6]
        identity = estimate.identity
        if modes:
            identity = estimate.identity.copy()
            identity[:modes] += step[6:end]
        expression = estimate.expression.copy()
        if len(free):
            expression[free] = estimate.expression[free] + step[end:]
            if problem.bounds is not None:
                expression[free] = np.clip(expression[free], problem.bounds[0], problem.bounds[1])
        return self.evaluate(problem, rotation, translation, identity, expression)

    def _identity_information(self, problem: LandmarkProblem, curvature: np.ndarray) -> np.ndarray:
        """Information (K, K) the landmarks gave about the fitted identity modes, marginal over
        pose and expression (the Schur complement of the landmarks' curvature)."""
        end = problem.identity_end
        identity = slice(6, end)
        other = np.r_[0:6, end : len(curvature)]
        other_other = curvature[np.ix_(other, other)] + 1e-6 * np.eye(len(other))
        other_other[6:, 6:] += problem.expression_penalty * np.eye(len(other) - 6)
        identity_other = curvature[identity][:, other]
        information = np.zeros((self.num_identity,) * 2)
        modes = problem.identity_modes
        explained = identity_other @ np.linalg.solve(other_other, identity_other.T)
        information[:modes, :modes] = curvature[identity, identity] - explained
        return information


@dataclass(frozen=True, eq=False)
class LandmarkProblem:
    """One Levenberg-Marquardt solve: what is fitted to which landmarks, under which priors.

    The unknowns are stacked as [rotation (3), translation (3), identity (the fitted modes),
    expression (the free weights)]; `identity_end` is where the identity block ends.
    """

    camera: Camera
    landmarks: np.ndarray  # (68, 2) pixels
    weights: np.ndarray  # (136,) weight of each landmark coordinate's squared error
    free_expression: np.ndarray  # indices of the expression weights solved for (empty: rigid)
    identity_modes: int  # leading identity modes solved for (0: identity held fixed)
    identity_mean: np.ndarray | None  # (modes,) the prior over those modes...
    identity_precision: np.ndarray | None  # ...(modes, modes)
    expression_penalty: float  # weight of the squared expression norm
    bounds: tuple[float, float] | None  # box on the expression weights

    @property
    def identity_end(self) -> int:
        return 6 + self.identity_modes


@dataclass(frozen=True, eq=False)
class Estimate:
    """A point of the solve: the unknowns, their cost, and the model evaluated there."""

    rotation: np.ndarray  # (3,) axis-angle
    translation: np.ndarray  # (3,)
    identity: np.ndarray  # (K,)
    expression: np.ndarray  # (E,)
    cost: float  # weighted squared landmark error plus the priors' penalties
    model_to_camera: np.ndarray  # (3, 3) rotation of model points into camera space
    points: np.ndarray  # (V, 3) the fitter's vertex subset in camera space
    index: np.ndarray  # (68,) subset vertex matched to each landmark
    residual: np.ndarray  # (136,) projected minus observed landmark coordinates


@dataclass(frozen=True, eq=False)
class Solution:
    estimate: Estimate
    iterations: int  # linearisations done
    identity_information: np.ndarray | None  # (K, K), when identity was fitted


def _active_unknowns(
    problem: LandmarkProblem, estimate: Estimate, gradient: np.ndarray
) -> np.ndarray:
    """Which unknowns a step may move: all but expression weights at a bound that the gradient
    pushes further out."""
    active = np.ones(len(gradient), bool)
    free, bounds = problem.free_expression, problem.bounds
    if bounds is not None and len(free):
        end = problem.identity_end
        weights = estimate.expression[free]
        at_low = (weights <= bounds[0] + 1e-9) & (gradient[end:] > 0)
        at_high = (weights >= bounds[1] - 1e-9) & (gradient[end:] < 0)
        active[end:] = ~(at_low | at_high)
    return active


def _damped_step(
    hessian: np.ndarray, gradient: np.ndarray, active: np.ndarray, damping: float
) -> np.ndarray | None:
    """The step solving (H + damping * diag(H)) step = -gradient on the active unknowns (0 for
    the others); None when that system is singular."""
    reduced = hessian[np.ix_(active, active)]
    reduced = reduced + damping * np.diag(np.diag(reduced) + 1e-9)
    step = np.zeros(len(gradient))
    try:
        step[active] = -np.linalg.solve(reduced, gradient[active])
    except np.linalg.LinAlgError:
        return None
    return step


def _accepted(candidate: Estimate, current: Estimate) -> bool:
    """A step is kept when its cost is finite and lower, with every vertex before the camera."""
    return bool(
        np.isfinite(candidate.cost)
        and candidate.cost < current.cost
        and (candidate.points[:, 2] > 0).all()
    )
