"""An observed statistic beside its null distribution (shuffles or permutations)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NullComparison:
    """``observed`` against ``null`` [n] (its finite draws; NaN draws are dropped).

    ``interval`` is the null's central 95 % (2.5th, 97.5th percentiles); ``percentile`` the
    share of null draws below the observed value (ties count half), in %; ``z`` =
    (observed - mean) / std (NaN for a constant null); ``p_greater`` = (1 + #{null >=
    observed}) / (n + 1) and ``p_two_sided`` = (1 + #{|null - mean| >= |observed - mean|})
    / (n + 1), the permutation p-values that never reach 0. All NaN when no draw is finite.
    """

    observed: float
    null: np.ndarray
    mean: float
    std: float
    interval: tuple[float, float]
    percentile: float
    z: float
    p_greater: float
    p_two_sided: float

    @classmethod
    def of(cls, observed: float, null: np.ndarray) -> NullComparison:
        observed = float(observed)
        null = np.asarray(null, dtype=float)
        null = null[np.isfinite(null)]
        if null.size == 0 or not np.isfinite(observed):
            nan = float("nan")
            return cls(observed, null, nan, nan, (nan, nan), nan, nan, nan, nan)
        mean, std = float(null.mean()), float(null.std(ddof=1)) if null.size > 1 else 0.0
        low, high = np.percentile(null, [2.5, 97.5])
        n = null.size
        return cls(
            observed=observed,
            null=null,
            mean=mean,
            std=std,
            interval=(float(low), float(high)),
            percentile=float(100 * (np.sum(null < observed) + 0.5 * np.sum(null == observed)) / n),
            z=(observed - mean) / std if std > 0 else float("nan"),
            p_greater=float((1 + np.sum(null >= observed)) / (n + 1)),
            p_two_sided=float((1 + np.sum(np.abs(null - mean) >= abs(observed - mean))) / (n + 1)),
        )
