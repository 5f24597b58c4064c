"""Vectorised rotations for the simulator: Euler ZYX (yaw, pitch, roll) and fixed-axis rotations.

R(yaw, pitch, roll) = Rz(yaw) Ry(pitch) Rx(roll) maps body coordinates to the parent frame.
Positive pitch tips the body's x axis down; positive roll lifts its y (left) side.
"""

from __future__ import annotations

import numpy as np


def zyx_apply(yaw, pitch, roll, v: np.ndarray) -> np.ndarray:
    """R v for vectors v (n, 3) given in the body frame."""
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    c, s = np.cos(roll), np.sin(roll)
    y, z = c * y - s * z, s * y + c * z
    c, s = np.cos(pitch), np.sin(pitch)
    x, z = c * x + s * z, -s * x + c * z
    c, s = np.cos(yaw), np.sin(yaw)
    x, y = c * x - s * y, s * x + c * y
    return np.stack([x, y, z], axis=1)


def zyx_apply_T(yaw, pitch, roll, v: np.ndarray) -> np.ndarray:
    """R^T v: parent-frame vectors v (n, 3) expressed in the body frame."""
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    c, s = np.cos(yaw), np.sin(yaw)
    x, y = c * x + s * y, -s * x + c * y
    c, s = np.cos(pitch), np.sin(pitch)
    x, z = c * x - s * z, s * x + c * z
    c, s = np.cos(roll), np.sin(roll)
    y, z = c * y + s * z, -s * y + c * z
    return np.stack([x, y, z], axis=1)


def zyx_body_rates(pitch, roll, dyaw, dpitch, droll) -> np.ndarray:
    """Body-frame angular velocity vee(R^T dR/dt) of R = Rz Ry Rx from the Euler angle rates."""
    cp, sp = np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    return np.stack(
        [droll - dyaw * sp, dpitch * cr + dyaw * cp * sr, -dpitch * sr + dyaw * cp * cr], axis=1
    )


def axis_apply_T(axis: np.ndarray, angle: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rot(axis, angle)^T v (Rodrigues), angle per row, one unit axis."""
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    return v * c - np.cross(axis, v) * s + np.outer(v @ axis, axis) * (1 - c)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniform over SO(3): QR of a Gaussian matrix with the sign fix (Mezzadri 2007)."""
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def random_axis(rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal(3)
    return v / np.linalg.norm(v)
