import numpy as np
from beams import timoshenko_fem
from scipy.optimize import least_squares


def profile(L, h0, a, d, p=2.0):
    def h(x):
        u = abs(x - L / 2)
        if u >= a:
            return h0
        return h0 - d * (1 - (u / a) ** p)

    return h


def ratios(L, h0, b, E, G, rho, a, d, p=2.0, n_el=300, nm=6):
    x, om, W = timoshenko_fem(L, profile(L, h0, a, d, p), b, E, G, rho, 5 / 6, n_el=n_el)
    return om[:nm] / om[0], om, x, W


def tune(L, h0, b, E, G, rho, targets, p=2.0, x0=(0.3, 0.6)):
    def res(q):
        a = q[0] * L / 2
        d = q[1] * h0
        r = ratios(L, h0, b, E, G, rho, a, d, p, n_el=200)[0]
        return np.log(r[1 : 1 + len(targets)]) - np.log(targets)

    sol = least_squares(res, x0, bounds=([0.05, 0.05], [0.98, 0.92]), diff_step=1e-3)
    return sol


if __name__ == "__main__":
    E = 2.0e10
    G = E / 13
    rho = 1100
    L = 0.38
    h0 = 0.022
    b = 0.06
    for p in [2.0, 4.0]:
        for x0 in [(0.5, 0.6), (0.8, 0.8), (0.3, 0.8)]:
            sol = tune(L, h0, b, E, G, rho, [4.0, 10.0], p=p, x0=x0)
            r = ratios(L, h0, b, E, G, rho, sol.x[0] * L / 2, sol.x[1] * h0, p, n_el=400)[0]
            print(p, x0, sol.x, sol.cost, np.round(r, 4))
