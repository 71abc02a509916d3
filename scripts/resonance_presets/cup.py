"""Rayleigh-Ritz model of a wine-glass bowl: thin cylindrical shell (Love bending strains,
Timoshenko/Love curvature with the v-coupling), clamped at the base (stem), free at the rim."""

import numpy as np
from numpy.polynomial import legendre as Lg
from scipy.linalg import eigh


def cup_modes(n, R, H, h, E, nu, rho, K=14, nq=80):
    Dm = E * h / (1 - nu**2)
    Db = E * h**3 / (12 * (1 - nu**2))
    zq, wq = Lg.leggauss(nq)
    z = 0.5 * H * (zq + 1)
    wq = 0.5 * H * wq
    zeta = z / H

    # basis values and derivatives (w.r.t. z)
    def legP(k, t, der=0):
        c = np.zeros(k + 1)
        c[k] = 1
        for _ in range(der):
            c = Lg.legder(c)
        return Lg.legval(t, c)

    s = 2 * zeta - 1

    def fun(k, power):
        # f = zeta^power * P_k(2 zeta -1), derivatives up to 2 in z
        P = legP(k, s)
        dP = 2 * legP(k, s, 1) / H
        d2P = 4 * legP(k, s, 2) / H**2
        g = zeta**power
        dg = power * zeta ** (power - 1) / H if power >= 1 else 0 * zeta
        d2g = power * (power - 1) * zeta ** (power - 2) / H**2 if power >= 2 else 0 * zeta
        return g * P, dg * P + g * dP, d2g * P + 2 * dg * dP + g * d2P

    Ub = [fun(k, 1) for k in range(K)]
    Vb = [fun(k, 1) for k in range(K)]
    Wb = [fun(k, 2) for k in range(K)]
    N = 3 * K

    # generalized coordinate vectors: each strain as linear map of coefficients, evaluated on quadrature points
    def zeros():
        return np.zeros((N, nq))

    ex, eth, gam, kx, kth, tau, uu, vv, ww = [zeros() for _ in range(9)]
    for k in range(K):
        iu, iv, iw = k, K + k, 2 * K + k
        U, dU, _ = Ub[k]
        V, dV, _ = Vb[k]
        W, dW, d2W = Wb[k]
        ex[iu] = dU
        gam[iu] = -n * U / R
        gam[iv] = dV
        eth[iv] = n * V / R
        eth[iw] = W / R
        kx[iw] = -d2W
        kth[iv] = n * V / R**2
        kth[iw] = n**2 * W / R**2
        tau[iv] = dV / R
        tau[iw] = n * dW / R
        uu[iu] = U
        vv[iv] = V
        ww[iw] = W

    def q(a, b):
        return (a * wq) @ b.T

    Kmat = Dm * (
        q(ex, ex) + q(eth, eth) + nu * (q(ex, eth) + q(eth, ex)) + (1 - nu) / 2 * q(gam, gam)
    ) + Db * (q(kx, kx) + q(kth, kth) + nu * (q(kx, kth) + q(kth, kx)) + 2 * (1 - nu) * q(tau, tau))
    Mmat = rho * h * (q(uu, uu) + q(vv, vv) + q(ww, ww))
    w2, C = eigh(Kmat, Mmat)
    # rim radial displacement (mass-normalised over the full shell: factor pi*R from the angular integral)
    rimW = np.array([fun(k, 2)[0][-1] * 0 for k in range(K)])
    Wrim = np.array([(1.0**2) * legP(k, 1.0) for k in range(K)])  # zeta=1 -> zeta^2 * P_k(1)=1
    wr = Wrim @ C[2 * K :, :] / np.sqrt(np.pi * R)
    return np.sqrt(w2) / (2 * np.pi), wr


if __name__ == "__main__":
    E = 70e9
    nu = 0.22
    rho = 2500
    R = 0.035
    h = 0.0015
    # ring check: very tall cup -> ring frequency
    ring = lambda n: (
        np.sqrt(E / (12 * rho * (1 - nu**2)))
        * h
        / R**2
        * n
        * (n * n - 1)
        / np.sqrt(n * n + 1)
        / (2 * np.pi)
    )
    for H in [0.06, 0.08, 0.12, 0.3]:
        f = [cup_modes(n, R, H, h, E, nu, rho)[0][0] for n in range(2, 9)]
        print(H, np.round(f, 1), np.round(np.array(f) / f[0], 3))
    print(
        "ring",
        np.round([ring(n) for n in range(2, 9)], 1),
        np.round([ring(n) / ring(2) for n in range(2, 9)], 3),
    )
    for K in [8, 12, 16]:
        print(K, [round(cup_modes(n, R, 0.08, h, E, nu, rho, K=K)[0][0], 2) for n in range(2, 6)])
