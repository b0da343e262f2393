"""Random streams keyed by (seed, entity, day, stream).

Every random draw is tied to one UTC day, never to the requested window, so a 90-day
file and a live feed for today produce the same value for the same meter and quarter.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stable_hash(text: str) -> int:
    """A 63-bit hash that is the same in every process (Python's ``hash()`` is salted)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") >> 1


def day_rng(seed: int, key: int, day: int, stream: int = 0) -> np.random.Generator:
    # SeedSequence wants non-negative entropy; days before 1970 are shifted, not rejected.
    return np.random.default_rng([seed, key, day + 1_000_000, stream])


def day_normals(seed: int, key: int, days: np.ndarray, n: int, stream: int = 0) -> np.ndarray:
    """Standard normals, shape (len(days), n), row i drawn only from day ``days[i]``."""
    out = np.empty((len(days), n))
    for i, day in enumerate(days.tolist()):
        out[i] = day_rng(seed, key, day, stream).standard_normal(n)
    return out


def ar1(white: np.ndarray, phi: float) -> np.ndarray:
    """AR(1) along the last axis with unit stationary variance: noise that drifts instead
    of flickering, the way load and cloud deviations do within a day."""
    out = np.empty_like(white)
    out[..., 0] = white[..., 0]
    innovation = np.sqrt(1.0 - phi * phi)
    for j in range(1, white.shape[-1]):
        out[..., j] = phi * out[..., j - 1] + innovation * white[..., j]
    return out


def lognormal_factor(z: np.ndarray, sigma: float) -> np.ndarray:
    """Multiplicative noise with mean exactly 1, so annual energy stays on target."""
    return np.exp(sigma * z - 0.5 * sigma * sigma)
