"""Independent references for the analytic kernels: a high-precision mpmath evaluation of the recursion
(docs/kernels.md#recursion, #relu-closed-forms, written entry by entry from the arc-cosine closed forms, no tiling, no
angle tracking)."""

from __future__ import annotations

import mpmath
import numpy as np

mpmath.mp.dps = 40


def mp_limiting(X: np.ndarray, depth: int):
    """(K, [G⁽ˡ⁾], [Ġ⁽ˡ⁾]) in the seed normalisation, as float64 arrays rounded from 40-digit arithmetic."""
    rows = [[mpmath.mpf(float(v)) for v in row] for row in X]
    n = len(rows)
    G = [[mpmath.fsum(a * b for a, b in zip(rows[i], rows[j])) for j in range(n)] for i in range(n)]
    K = [row[:] for row in G]
    Gs, Gds = [G], [None]
    for _ in range(2, depth + 1):
        Gn = [[mpmath.mpf(0)] * n for _ in range(n)]
        Gd = [[mpmath.mpf(0)] * n for _ in range(n)]
        for i in range(n):
            for j in range(n):
                s = mpmath.sqrt(G[i][i] * G[j][j])
                if s == 0:
                    continue
                theta = mpmath.acos(max(-1, min(1, G[i][j] / s)))
                Gn[i][j] = s * (mpmath.sin(theta) + (mpmath.pi - theta) * mpmath.cos(theta)) / mpmath.pi
                Gd[i][j] = (mpmath.pi - theta) / mpmath.pi
        K = [[K[i][j] * Gd[i][j] + Gn[i][j] for j in range(n)] for i in range(n)]
        G = Gn
        Gs.append(G)
        Gds.append(Gd)

    def f64(M):
        return None if M is None else np.array([[float(v) for v in row] for row in M])

    return f64(K), [f64(M) for M in Gs], [f64(M) for M in Gds]
