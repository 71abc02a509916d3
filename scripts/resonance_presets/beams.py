import numpy as np
from scipy.optimize import brentq


def eb_free_free_roots(n):
    f = lambda x: np.cos(x) * np.cosh(x) - 1.0
    roots = []
    for k in range(1, n + 1):
        g = (2 * k + 1) * np.pi / 2
        roots.append(brentq(f, g - 0.3, g + 0.3))
    return np.array(roots)


def eb_clamped_free_roots(n):
    f = lambda x: np.cos(x) * np.cosh(x) + 1.0
    roots = []
    for k in range(1, n + 1):
        g = (2 * k - 1) * np.pi / 2
        roots.append(brentq(f, max(g - 0.6, 0.5), g + 0.6))
    return np.array(roots)


