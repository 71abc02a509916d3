import numpy as np
from scipy.integrate import quad


def bowl_ratios(alpha, ns=range(2, 9)):
    out = []
    for n in ns:
        I1 = quad(lambda t: np.tan(t / 2) ** (2 * n) / np.sin(t) ** 3, 0, alpha, limit=200)[0]
        I2 = quad(
            lambda t: (
                np.sin(t) * np.tan(t / 2) ** (2 * n) * (2 * np.sin(t) ** 2 + (n + np.cos(t)) ** 2)
            ),
            0,
            alpha,
            limit=200,
        )[0]
        out.append(np.sqrt(n**2 * (n**2 - 1) ** 2 * I1 / I2))
    out = np.array(out)
    return out / out[0]


if __name__ == "__main__":
    for a in [60, 90, 100, 110, 120, 130, 140]:
        print(a, np.round(bowl_ratios(np.radians(a)), 3))


def bowl_ratios_taper(alpha, g, ns=range(2, 10)):
    hh = lambda t: 1 + g * (1 - t / alpha)
    out = []
    for n in ns:
        I1 = quad(
            lambda t: hh(t) ** 3 * np.tan(t / 2) ** (2 * n) / np.sin(t) ** 3, 0, alpha, limit=200
        )[0]
        I2 = quad(
            lambda t: (
                hh(t)
                * np.sin(t)
                * np.tan(t / 2) ** (2 * n)
                * (2 * np.sin(t) ** 2 + (n + np.cos(t)) ** 2)
            ),
            0,
            alpha,
            limit=200,
        )[0]
        out.append(np.sqrt(n**2 * (n**2 - 1) ** 2 * I1 / I2))
    out = np.array(out)
    return out / out[0]


if __name__ == "__main__":
    for g in [0, 0.5, 1, 1.5, 2, 3, 4]:
        print(g, np.round(bowl_ratios_taper(np.radians(90), g), 3))
