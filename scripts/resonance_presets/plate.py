import numpy as np
from scipy.optimize import brentq
from scipy.special import iv, ivp, jv, jvp


def free_plate_det(k, m, nu):
    # a = 1, r = 1; W = A J_m(k r) + C I_m(k r)
    (
        J,
        dJ,
        d2J,
    ) = jv(m, k), k * jvp(m, k, 1), k * k * jvp(m, k, 2)
    I, dI, d2I = iv(m, k), k * ivp(m, k, 1), k * k * ivp(m, k, 2)
    MJ = d2J + nu * (dJ - m * m * J)
    MI = d2I + nu * (dI - m * m * I)
    VJ = k**3 * jvp(m, k, 1) + (1 - nu) * m * m * (dJ - J)
    VI = -(k**3) * ivp(m, k, 1) + (1 - nu) * m * m * (dI - I)
    return (MJ * VI - MI * VJ) / (abs(I) * k**3 + 1e-300)


def free_plate_modes(nu, m_max=14, k_max=22.0):
    modes = []
    for m in range(m_max + 1):
        ks = np.linspace(0.3, k_max, 6000)
        d = np.array([free_plate_det(k, m, nu) for k in ks])
        n = 0
        for i in range(len(ks) - 1):
            if np.sign(d[i]) != np.sign(d[i + 1]) and np.isfinite(d[i]) and np.isfinite(d[i + 1]):
                r = brentq(free_plate_det, ks[i], ks[i + 1], args=(m, nu))
                # reject poles: check |det| small near root
                if abs(free_plate_det(r, m, nu)) < 1e-6 * max(1.0, abs(d[i]), abs(d[i + 1])):
                    modes.append((r, m, n))
                    n += 1
    return sorted(modes)


def free_plate_shape(k, m, nu, r):
    J, dJ, d2J = jv(m, k), k * jvp(m, k, 1), k * k * jvp(m, k, 2)
    I, dI, d2I = iv(m, k), k * ivp(m, k, 1), k * k * ivp(m, k, 2)
    MJ = d2J + nu * (dJ - m * m * J)
    MI = d2I + nu * (dI - m * m * I)
    C = -MJ / MI
    return jv(m, k * r) + C * iv(m, k * r)


if __name__ == "__main__":
    nu = 0.33
    ms = free_plate_modes(nu)
    l0 = ms[0][0] ** 2
    for k, m, n in ms[:14]:
        print(m, n, round(k * k, 3), round(k * k / l0, 4))
