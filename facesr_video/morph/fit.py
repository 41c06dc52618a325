"""Fit the face model to 68 landmarks: Levenberg-Marquardt in numpy on the landmark vertices only.

Unknowns per frame: pose (axis-angle rotation, translation), expression weights (bounded box,
gaze shapes frozen at 0) and, until the track's identity is confident, identity weights under a
Gaussian prior carried by TrackIdentity. Focal length is fixed by the camera (not observable from
landmarks). Jaw landmarks 0-7 / 9-16 are matched each iteration to the nearest projected contour
candidate, so the jaw follows the silhouette as the head turns. Only the ~100 landmark and contour
vertices are ever evaluated, which keeps a warm-started fit to a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facesr_video.morph.camera import (
    MODEL_TO_CAMERA,
    Camera,
    Pose,
    euler_degrees,
    rotation_matrix,
    rotation_vector,
    skew,
)
from facesr_video.morph.face_model import FaceModel

RIGHT_EYE = slice(36, 42)
LEFT_EYE = slice(42, 48)
JAW_RIGHT = np.arange(0, 8)
JAW_LEFT = np.arange(9, 17)


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
        fixed = model.landmarks68.copy()
        subset, inverse = np.unique(
            np.concatenate([fixed, model.jaw_contour_right, model.jaw_contour_left]),
            return_inverse=True,
        )
        self._fixed = inverse[:68]
        self._right = inverse[68 : 68 + len(model.jaw_contour_right)]
        self._left = inverse[68 + len(model.jaw_contour_right) :]
        self._subset = subset
        self._mean = model.mean[subset].astype(np.float64)
        # only the leading identity modes are fitted (68 landmarks cannot tell more apart; it
        # also keeps the normal equations small); the others stay at the track's prior mean
        self._nid = min(identity_modes, model.num_identity)
        self._id = model.identity_basis[: self._nid, subset].astype(np.float64)
        self._exp = model.expression_basis[:, subset].astype(np.float64)
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

    # --- model evaluation on the subset -------------------------------------------------------
    def _points(self, identity: np.ndarray, expression: np.ndarray) -> np.ndarray:
        return (
            self._mean
            + np.tensordot(identity[: self._nid], self._id, axes=(0, 0))
            + np.tensordot(expression, self._exp, axes=(0, 0))
        )

    def _match(self, projected: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """Subset index (68,) of the vertex used for each landmark, jaw on its nearest candidate."""
        index = self._fixed.copy()
        for lms, cands in ((JAW_RIGHT, self._right), (JAW_LEFT, self._left)):
            d = np.linalg.norm(landmarks[lms, None, :] - projected[None, cands, :], axis=-1)
            index[lms] = cands[np.argmin(d, axis=1)]
        return index

    def _residual(self, rot, trans, identity, expression, camera, landmarks, index=None):
        matrix = rotation_matrix(rot) @ MODEL_TO_CAMERA
        cam = self._points(identity, expression) @ matrix.T + trans
        proj = camera.focal * cam[:, :2] / cam[:, 2:3] + np.array([camera.cx, camera.cy])
        if index is None:
            index = self._match(proj, landmarks)
        return matrix, cam, proj, index

    # --- the fit ------------------------------------------------------------------------------
    def initial_pose(self, landmarks: np.ndarray, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
        """Frontal rotation (3,) and translation (3,) placing the mean face over the landmarks."""
        iod = max(inter_ocular(landmarks), 1e-3)
        z = camera.focal * self._model_iod / iod
        centre = landmarks[27:36].mean(axis=0)  # nose
        nose_model = self._mean[self._fixed[27:36]].mean(axis=0) * np.array([1.0, -1.0, -1.0])
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
            rot, trans, _, _ = self._solve(
                rot, trans, identity, expression, camera, landmarks, iod, None, None, False, 10
            )
            iterations = self.max_iterations
        rot, trans, identity, expression, used, info, cost = self._solve_full(
            rot,
            trans,
            identity,
            expression,
            camera,
            landmarks,
            iod,
            prior_mean,
            prior_precision,
            fit_identity,
            iterations,
        )
        _, cam, proj, index = self._residual(rot, trans, identity, expression, camera, landmarks)
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
            landmark_vertices=self._subset[index],
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

    def _solve_full(self, rot, trans, identity, expression, camera, lms, iod, mu, prec, fit_id, n):
        rot, trans, identity, expression, used, info, cost = self._lm(
            rot, trans, identity, expression, camera, lms, iod, mu, prec, fit_id, n
        )
        return rot, trans, identity, expression, used, info, cost

    def _solve(self, rot, trans, identity, expression, camera, lms, iod, mu, prec, fit_id, n):
        """Rigid-only solve (pose), used to initialise a cold fit."""
        rot, trans, _, _, _, _, cost = self._lm(
            rot, trans, identity, expression, camera, lms, iod, None, None, False, n, rigid=True
        )
        return rot, trans, identity, cost

    def _lm(
        self,
        rot,
        trans,
        identity,
        expression,
        camera,
        lms,
        iod,
        mu,
        prec,
        fit_id,
        n,
        rigid=False,
    ):
        k = self._nid
        free = np.array([], np.int64) if rigid else self._free_exp
        nid = k if (fit_id and not rigid) else 0
        scale = 1.0 / (self.landmark_sigma * iod)
        w = self._weights * scale**2
        bounds = self._bounds
        lam_e = self.expression_weight**2 if bounds is not None else 1.0
        target = lms.reshape(-1)

        def cost_of(rot_, trans_, id_, exp_, index=None):
            m, cam, proj, index = self._residual(rot_, trans_, id_, exp_, camera, lms, index)
            r = proj[index].reshape(-1) - target
            c = float(r @ (w * r)) + lam_e * float(exp_ @ exp_)
            if nid:
                d = id_[:k] - mu[:k]
                c += float(d @ prec[:k, :k] @ d)
            return c, m, cam, index, r

        damping = 1e-3
        cost, matrix, cam, index, r = cost_of(rot, trans, identity, expression)
        used = 0
        info = None
        for it in range(1, n + 1):
            used = it
            p = cam[index]  # (68, 3)
            x, y, z = p[:, 0], p[:, 1], p[:, 2]
            f = camera.focal
            d = np.zeros((68, 2, 3))
            d[:, 0, 0] = f / z
            d[:, 0, 2] = -f * x / z**2
            d[:, 1, 1] = f / z
            d[:, 1, 2] = -f * y / z**2
            blocks = [
                np.einsum("lij,ljk->lik", d, -skew(p - trans)).reshape(-1, 3),
                d.reshape(-1, 3),
            ]
            dm = np.einsum("lij,jk->lik", d, matrix)  # (68, 2, 3) d proj / d model point
            if nid:
                blocks.append(np.einsum("lik,nlk->lin", dm, self._id[:, index]).reshape(-1, nid))
            if len(free):
                blocks.append(
                    np.einsum("lik,nlk->lin", dm, self._exp[free][:, index]).reshape(-1, len(free))
                )
            jac = np.concatenate(blocks, axis=1)  # (136, P)
            jw = jac.T * w
            h = jw @ jac
            g = jw @ r
            o = 6 + nid
            if nid:
                h[6:o, 6:o] += prec[:k, :k]
                g[6:o] += prec[:k, :k] @ (identity[:k] - mu[:k])
            if len(free):
                h[o:, o:] += lam_e * np.eye(len(free))
                g[o:] += lam_e * expression[free]
            active = np.ones(len(g), bool)
            if bounds is not None and len(free):
                e = expression[free]
                at_low = (e <= bounds[0] + 1e-9) & (g[o:] > 0)
                at_high = (e >= bounds[1] - 1e-9) & (g[o:] < 0)
                active[o:] = ~(at_low | at_high)
            improved = False
            for _ in range(6):
                ha = h[np.ix_(active, active)]
                ha = ha + damping * np.diag(np.diag(ha) + 1e-9)
                step = np.zeros(len(g))
                try:
                    step[active] = -np.linalg.solve(ha, g[active])
                except np.linalg.LinAlgError:
                    damping *= 10
                    continue
                rot_n = rotation_vector(rotation_matrix(step[:3]) @ rotation_matrix(rot))
                trans_n = trans + step[3:6]
                id_n = identity
                if nid:
                    id_n = identity.copy()
                    id_n[:k] += step[6:o]
                exp_n = expression.copy()
                if len(free):
                    exp_n[free] = expression[free] + step[o:]
                    if bounds is not None:
                        exp_n[free] = np.clip(exp_n[free], bounds[0], bounds[1])
                cost_n, m_n, cam_n, index_n, r_n = cost_of(rot_n, trans_n, id_n, exp_n)
                if np.isfinite(cost_n) and cost_n < cost and (cam_n[:, 2] > 0).all():
                    improved = True
                    rel = (cost - cost_n) / max(cost, 1e-12)
                    rot, trans, identity, expression = rot_n, trans_n, id_n, exp_n
                    cost, matrix, cam, index, r = cost_n, m_n, cam_n, index_n, r_n
                    damping = max(damping / 10, 1e-7)
                    break
                damping *= 10
            if not improved or rel < 1e-5:
                break
        if nid:  # information on identity from the landmarks, marginal over the other unknowns
            data = jw @ jac
            ii = slice(6, o)
            other = np.r_[0:6, o : len(g)]
            hoo = data[np.ix_(other, other)] + 1e-6 * np.eye(len(other))
            hoo[6:, 6:] += lam_e * np.eye(len(other) - 6)
            hio = data[ii][:, other]
            info = np.zeros((self.model.num_identity,) * 2)
            info[:k, :k] = data[ii, ii] - hio @ np.linalg.solve(hoo, hio.T)
        return rot, trans, identity, expression, used, info, cost
