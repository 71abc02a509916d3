import json
import os

import numpy as np
from beams import eb_clamped_free_roots, eb_free_free_roots, timoshenko_fem
from plate import free_plate_modes, free_plate_shape
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.special import jn_zeros, jv
from sphere import bowl_ratios_taper
from tune import profile, tune

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "presets", "resonances")
LN1000 = np.log(1000.0)
REPORT = {}


def sig(x, n):
    return float(f"{x:.{n}g}")


def mallet(ratios, fc_over_f1):
    """Notch-free envelope of the spectrum of a half-sine contact force of duration tau:
    1/(1 + (2 f tau)^2) = 1/(1 + (f/fc)^2), fc = 1/(2 tau) (same low-frequency value and the same
    1/(2 f tau)^2 asymptote as the half-sine spectrum)."""
    if fc_over_f1 is None:
        return np.ones_like(ratios)
    return 1.0 / (1.0 + (np.asarray(ratios) / fc_over_f1) ** 2)


MALLET_TXT = (
    "a mallet factor 1/(1 + (f/fc)^2), fc = 1/(2 tau): the notch-free envelope of the spectrum of a "
    "half-sine contact force of duration tau (12 dB/octave above fc)"
)


def write(name, description, source, family, ratios, gains, decays, floor_db=-60.0, max_modes=64):
    ratios = np.asarray(ratios, float)
    gains = np.abs(np.asarray(gains, float))
    decays = np.asarray(decays, float)
    order = np.argsort(ratios)
    ratios, gains, decays = ratios[order], gains[order], decays[order]
    f0 = ratios[0]
    d0 = decays[0]
    ratios = ratios / f0
    decays = decays / d0
    gains = gains / gains.max()
    keep = gains >= 10 ** (floor_db / 20)
    keep[0] = True  # the fundamental always stays (defines ratio 1.0)
    ratios, gains, decays = (
        ratios[keep][:max_modes],
        gains[keep][:max_modes],
        decays[keep][:max_modes],
    )
    gains = gains / gains.max()
    r = [1.0] + [sig(v, 6) for v in ratios[1:]]
    g = [sig(max(v, 1e-4), 4) for v in gains]
    d = [1.0] + [sig(min(max(v, 1e-4), 10.0), 4) for v in decays[1:]]
    assert all(b > a for a, b in zip(r, r[1:])), name
    obj = {
        "name": name,
        "description": description,
        "source": source,
        "family": family,
        "ratios": r,
        "gains": g,
        "decays": d,
    }
    with open(os.path.join(OUT, name + ".json"), "w") as fh:
        json.dump(obj, fh, indent=2)
        fh.write("\n")
    REPORT[name] = (len(r), r[:5])


CONST_ETA = (
    "Decays: constant material loss factor (hysteretic damping), T60 = ln(1000)/(pi*eta*f), "
    "so relative T60 = f1/f_n (T proportional to 1/f)."
)


# ---------------------------------------------------------------- uniform bar (Euler-Bernoulli)
def uniform_bar():
    beta = eb_free_free_roots(12)
    ratios = (beta / beta[0]) ** 2
    xs = 0.4

    def phi(b, x):  # free-free mode, normalised so that int_0^1 phi^2 = 1 (L = 1)
        s = (np.cosh(b) - np.cos(b)) / (np.sinh(b) - np.sin(b))
        return np.cosh(b * x) + np.cos(b * x) - s * (np.sinh(b * x) + np.sin(b * x))

    gains = np.array([abs(phi(b, xs)) for b in beta])
    write(
        "uniform_bar",
        "Raw, untuned rectangular bar of wood or metal hung at its nodes (a marimba or xylophone blank before "
        "undercutting): clangy, strongly inharmonic overtones at 2.76x, 5.40x, 8.93x the fundamental.",
        "Free-free Euler-Bernoulli beam: roots of cos(bL)cosh(bL) = 1 (bL = 4.7300, 7.8532, 10.9956, 14.1372, ...; "
        "(2n+1)pi/2 asymptotically), ratios (b_n/b_1)^2; Fletcher & Rossing, The Physics of Musical Instruments, "
        "2nd ed., 1998, ch. 2 (transverse vibrations of a bar with free ends) and ch. 19; Rayleigh, The Theory of "
        "Sound, vol. 1, ch. 8. Roots computed numerically (scipy brentq). Gains: |phi_n(x_s)| of the mode shape "
        "normalised to equal modal mass at the strike point x_s = 0.4 L (modal velocity for an ideal impulse, no mallet "
        "filtering). " + CONST_ETA,
        "bar",
        ratios,
        gains,
        1 / ratios,
    )


# ---------------------------------------------------------------- tuned bars (Timoshenko FEM)
def tuned_bar(name, desc, mat, dims, targets, strike, tau, note, extra, nm=6):
    E, G, rho, matname = mat
    L, h0, b = dims
    sol = tune(L, h0, b, E, G, rho, targets, p=4.0, x0=(0.5, 0.6))
    a = sol.x[0] * L / 2
    d = sol.x[1] * h0
    x, om, W = timoshenko_fem(L, profile(L, h0, a, d, 4.0), b, E, G, rho, 5 / 6, n_el=800)
    # refine tuning at the fine mesh with a tiny correction loop
    for _ in range(2):
        from scipy.optimize import least_squares

        def res(q):
            xx, oo, _ = timoshenko_fem(
                L, profile(L, h0, q[0], q[1], 4.0), b, E, G, rho, 5 / 6, n_el=800
            )
            return np.log(oo[1 : 1 + len(targets)] / oo[0]) - np.log(targets)

        s2 = least_squares(res, (a, d), diff_step=1e-5, xtol=1e-14, ftol=1e-14, gtol=1e-14)
        a, d = s2.x
    x, om, W = timoshenko_fem(L, profile(L, h0, a, d, 4.0), b, E, G, rho, 5 / 6, n_el=800)
    assert 0 < a < L / 2 and 0 < d < h0, (name, a, d)
    ratios = om[:nm] / om[0]
    f1 = om[0] / (2 * np.pi)
    fc_over_f1 = 1 / (2 * tau) / f1
    phis = np.array([np.interp(strike * L, x, W[:, i]) for i in range(nm)])
    gains = np.abs(phis) * mallet(ratios, fc_over_f1)
    src = (
        f"{extra} Mode frequencies computed here with a Timoshenko-beam finite-element model (800 elements, "
        f"shear coefficient 5/6, rotary inertia included) of {matname} bar L = {L * 1000:.0f} mm, "
        f"width {b * 1000:.0f} mm, thickness {h0 * 1000:.1f} mm, E = {E / 1e9:.3g} GPa, G = {G / 1e9:.3g} GPa, "
        f"with a flat-bottomed undercut h(x) = h0 - d(1 - (u/a)^4), |u| = |x - L/2| < a, "
        f"solved for a = {a * 1000:.1f} mm, d = {d * 1000:.2f} mm so that the lowest modes are "
        f"1:{':'.join(f'{t:g}' for t in targets)} (fundamental about {f1:.0f} Hz); "
        f"modes above the tuned ones are the model's prediction for this undercut shape (undercut tuning: "
        f"Orduna-Bustamante, JASA 90 (1991) 2935; Petrolito & Legge, JASA 102 (1997) 2432). Only transverse "
        f"(vertical bending) modes; torsional and lateral modes omitted. Gains: |phi_n(x_s)| of the mass-"
        f"normalised mode at the strike point x_s = {strike:g} L, times "
        + MALLET_TXT
        + f", tau = {tau * 1e3:g} ms "
        f"({note}; fc = {fc_over_f1:.2f} f1). " + CONST_ETA
    )
    write(name, desc, src, "bar", ratios, gains, 1 / ratios)
    return ratios


ROSEWOOD = (2.0e10, 2.0e10 / 13, 1100.0, "a Honduras rosewood (E/G = 13 along the grain)")
ALUMINUM = (70e9, 70e9 / (2 * 1.33), 2700.0, "an aluminium alloy (nu = 0.33)")
STEEL = (200e9, 200e9 / (2 * 1.29), 7850.0, "a steel (nu = 0.29)")


def marimba():
    tuned_bar(
        "marimba",
        "Marimba bar: rosewood bar undercut so its overtones sit two octaves (4x) and three octaves plus a "
        "major third (10x) above the fundamental; warm, mellow, fast-fading upper partials.",
        ROSEWOOD,
        (0.38, 0.022, 0.060),
        [4.0, 10.0],
        0.4,
        1.0e-3,
        "soft yarn mallet",
        "Tuning 1:4:10 of marimba bars: Fletcher & Rossing, The Physics of Musical Instruments, 2nd ed., "
        "1998, ch. 19 (marimba); Bork, Chaigne, Trebuchet, Kosfelder & Pillot, 'Comparison between modal "
        "analysis and finite element modelling of a marimba bar', Acustica 85 (1999).",
    )


def xylophone():
    tuned_bar(
        "xylophone",
        "Xylophone bar: rosewood bar undercut so the first overtone is a twelfth (3x) above the fundamental "
        "(third mode at 6x); bright, dry and woody.",
        ROSEWOOD,
        (0.30, 0.020, 0.038),
        [3.0, 6.0],
        0.4,
        0.4e-3,
        "hard plastic mallet",
        "Xylophone bars tuned with the second mode a twelfth (3:1) above the fundamental: Fletcher & "
        "Rossing, The Physics of Musical Instruments, 2nd ed., 1998, ch. 19 (xylophone). The third mode at 6:1 "
        "(two octaves and a fifth) is this preset's design choice, not a documented standard.",
    )


def vibraphone():
    tuned_bar(
        "vibraphone",
        "Vibraphone bar: deeply arched aluminium bar tuned 1:4:10 like a marimba; pure, long-ringing "
        "metallic tone dominated by the fundamental.",
        ALUMINUM,
        (0.33, 0.0127, 0.051),
        [4.0, 10.0],
        0.4,
        0.8e-3,
        "medium cord mallet",
        "Vibraphone bars are aluminium, tuned 1:4:10 (second partial two octaves, third partial three octaves "
        "plus a major third above the fundamental): Fletcher & Rossing, The Physics of Musical Instruments, "
        "2nd ed., 1998, ch. 19 (vibraphone).",
    )


def glockenspiel():
    E, G, rho, _ = STEEL
    b, h = 0.0254, 0.00794
    L = 0.140
    x, om, W = timoshenko_fem(L, lambda x: h, b, E, G, rho, 5 / 6, n_el=800)
    nm = 7
    ratios = om[:nm] / om[0]
    f1 = om[0] / (2 * np.pi)
    xs = 0.4
    gains = np.abs([np.interp(xs * L, x, W[:, i]) for i in range(nm)]) * mallet(
        ratios, 1 / (2 * 0.15e-3) / f1
    )
    beta = eb_free_free_roots(4)
    write(
        "glockenspiel",
        "Glockenspiel (orchestra bells) bar: small rectangular steel bar without undercut; bright, piercing "
        "fundamental with quickly vanishing inharmonic overtones near 2.7x and 5.2x.",
        "Glockenspiel bars are plain rectangular steel bars, 1 to 1 1/4 in wide, 5/16 to 3/8 in thick, range "
        "G5-C8 (HyperPhysics, 'Lyra Glockenspiel', hyperphysics.phy-astr.gsu.edu/hbase/Music/glock.html; "
        "Fletcher & Rossing, The Physics of Musical Instruments, 2nd ed., 1998, ch. 19 (glockenspiel)): a "
        "thin-beam model gives 1 : 2.76 : 5.40 : 8.93; shear and rotary inertia lower the upper modes of "
        f"these stubby bars. Ratios computed here with a Timoshenko-beam finite-element model (800 elements, "
        f"shear coefficient 5/6) of a steel bar L = 140 mm, 25.4 x 7.94 mm (1 x 5/16 in), E = 200 GPa, "
        f"nu = 0.29 (fundamental about {f1:.0f} Hz, near C7); transverse modes only. Gains: |phi_n(x_s)| of "
        "the mass-normalised mode at x_s = 0.4 L times "
        + MALLET_TXT
        + f", tau = 0.15 ms (brass mallet; "
        f"fc = {1 / (2 * 0.15e-3) / f1:.2f} f1). " + CONST_ETA,
        "bar",
        ratios,
        gains,
        1 / ratios,
    )


def tubular_bell():
    E, nu, rho = 110e9, 0.34, 8530.0
    ro, t = 0.01905, 0.0015
    ri = ro - t
    m = ri / ro
    kappa = (
        6 * (1 + nu) * (1 + m * m) ** 2 / ((7 + 6 * nu) * (1 + m * m) ** 2 + (20 + 12 * nu) * m * m)
    )  # Cowper (1966)
    A = np.pi * (ro**2 - ri**2)
    I = np.pi * (ro**4 - ri**4) / 4
    L = 1.373
    x, om, W = timoshenko_fem(
        L, None, None, E, E / (2 * (1 + nu)), rho, kappa, n_el=800, section=lambda xx: (A, I)
    )
    nm = 12
    ratios = om[:nm] / om[0]
    f = om[:nm] / (2 * np.pi)
    tau = 0.5e-3
    fc = 1 / (2 * tau)
    ka = 2 * np.pi * f / 343.0 * ro
    gains = np.abs(W[0, :nm]) * np.sqrt(ka**3 / (1 + ka**3)) * mallet(f / f[0], fc / f[0])
    names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    midi = int(round(69 + 12 * np.log2(f[3] / 2 / 440.0)))
    note = f"{names[midi % 12]}{midi // 12 - 1}"
    write(
        "tubular_bell",
        "Tubular bell (orchestral chime): long brass tube struck on its top rim; the bell-like strike note is "
        "a virtual pitch an octave below mode 4, built from modes 4, 5, 6 (about 2:3:4).",
        "Chime modes are the bending modes of a free-free tube, frequencies near (2n+1)^2 so that modes 4, 5, 6 "
        "are in the ratio 81:121:169 (about 2:3:4) and the strike note is an octave below mode 4: Fletcher & "
        "Rossing, The Physics of Musical Instruments, 2nd ed., 1998, ch. 19 (chimes); Rossing, 'Acoustics of "
        "percussion instruments, part I', The Physics Teacher 14 (1976) 546. Ratios computed here with a "
        "Timoshenko-beam finite-element model (800 elements, rotary inertia, Cowper (J. Appl. Mech. 33 (1966) "
        f"335) shear coefficient {kappa:.3f} for a hollow circular section) of a brass tube OD 38.1 mm, wall "
        f"1.5 mm, L = 1.373 m, E = 110 GPa, nu = 0.34 (mode 1 at {f[0]:.0f} Hz, mode 4 at {f[3]:.0f} Hz, strike "
        f"note near {note}); end plug ignored. Gains: top end struck (|phi_n| at the free end), times radiation of a "
        "transversely vibrating cylinder of radius a: radiated pressure proportional to velocity x "
        "sqrt(sigma), with radiation efficiency sigma = (ka)^3/(1 + (ka)^3), which has the 2-D dipole "
        "limit (ka)^3 for ka << 1 (Morse & Ingard, Theoretical Acoustics, 1968, ch. 7) and tends to 1 for "
        "ka >> 1 (the interpolation between the limits is this preset's simplification), times "
        + MALLET_TXT
        + " with tau = 0.5 ms (rawhide hammer, fc = 1 kHz). "
        + CONST_ETA,
        "tube",
        ratios,
        gains,
        1 / ratios,
    )


def church_bell():
    names = [
        "hum",
        "prime",
        "tierce",
        "quint",
        "nominal",
        "upper major third (deciem)",
        "superquint (twelfth)",
        "octave nominal",
    ]
    rel_prime = np.array([0.5, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0])
    ratios = rel_prime / 0.5
    gains = np.array([1.0, 0.5, 1.0, 0.1, 1.0, 0.5, 1.0, 1.0])
    write(
        "church_bell",
        "Ideally tuned (Simpson/Hemony) minor-third church bell: hum, prime, minor-third tierce, quint and "
        "nominal an octave apart, with a long humming tail and a bright strike.",
        "Ideal partials relative to the prime: hum 0.5, prime 1, tierce 1.2, quint 1.5, nominal 2 (Simpson "
        "five-tone tuning), plus the upper major third 2.5, superquint 3 and octave nominal 4 of the nominal "
        "group; ratios here are relative to the hum: Fletcher & Rossing, The Physics of Musical Instruments, "
        "2nd ed., 1998, ch. 21 (church bells); Rossing & Perrin, 'Vibrations of bells', Applied Acoustics 20 "
        "(1987) 41-70; Hibbert, 'The quantification of strike pitch and pitch shifts in church bells', PhD "
        "thesis, Open University, 2008. Gains (simple model, no measured amplitudes): 1.0 for partials with an "
        "antinode at the soundbow where the clapper strikes (hum, tierce, nominal, superquint, octave nominal: "
        "the rim partials), 0.5 for prime and upper major third, 0.1 for the quint, whose nodal circle lies "
        "near the soundbow so the clapper barely excites it (Hibbert, hibberts.co.uk, 'Other partials'). "
        + CONST_ETA
        + " (Consistent with the nominal sounding short and the hum, prime and tierce long: Keltek "
        "Trust, 'Sound of Bells', keltektrust.org.uk.)",
        "bell",
        ratios,
        gains,
        1 / ratios,
    )


def circular_membrane():
    modes = []
    for m in range(0, 16):
        for n, z in enumerate(jn_zeros(m, 8), start=1):
            modes.append((z, m, n))
    modes.sort()
    modes = modes[:40]
    rs = 0.67
    ratios, gains = [], []
    for z, m, n in modes:
        norm = 0.5 * jv(m + 1, z) ** 2 * (2 * np.pi if m == 0 else np.pi)
        ratios.append(z / modes[0][0])
        gains.append(abs(jv(m, z * rs)) / np.sqrt(norm))
    ratios = np.array(ratios)
    gains = np.array(gains) * mallet(ratios, 3.0)
    write(
        "circular_membrane",
        "Ideal circular drumhead (uniform tension, fixed rim, no air loading) struck about a third of the way in "
        "from the rim: a dull, pitch-ambiguous drum thud.",
        "Ideal membrane: f_mn proportional to j_mn, the n-th zero of the Bessel function J_m (scipy.special."
        "jn_zeros); ratios j_mn/j_01 = 1, 1.594, 2.136, 2.296, 2.653, 2.918, ...: Fletcher & Rossing, The "
        "Physics of Musical Instruments, 2nd ed., 1998, ch. 3 (circular membrane) and ch. 18; Rayleigh, The "
        "Theory of Sound, vol. 1, ch. 9. Each (m>0) degenerate pair listed once (a point strike excites only "
        "the partner aligned with it). Gains: |J_m(j_mn r_s/a)| / sqrt(modal mass) at strike radius r_s = 0.67 a, "
        "times "
        + MALLET_TXT
        + ", fc = 3 f1 (soft felt mallet). Modes more than 60 dB below the loudest are "
        "omitted. " + CONST_ETA,
        "membrane",
        ratios,
        gains,
        1 / ratios,
    )


def rectangular_plate():
    phi = (1 + np.sqrt(5)) / 2
    a, b = phi, 1.0
    modes = []
    for m in range(1, 30):
        for n in range(1, 30):
            modes.append(((m / a) ** 2 + (n / b) ** 2, m, n))
    modes.sort()
    modes = modes[:48]
    xs, ys = 0.37, 0.29
    ratios = np.array([f for f, m, n in modes]) / modes[0][0]
    gains = np.array(
        [abs(np.sin(m * np.pi * xs) * np.sin(n * np.pi * ys)) for f, m, n in modes]
    ) * mallet(ratios, 10.0)
    write(
        "rectangular_plate",
        "Thin rectangular metal plate (thunder-sheet-like), simply supported on all edges, golden-ratio aspect, "
        "struck off-centre with a hard mallet: dense, clangorous metallic shimmer.",
        "Kirchhoff thin plate, simply supported on all four edges: f_mn proportional to (m/a)^2 + (n/b)^2 "
        "(closed form), aspect ratio a/b = (1+sqrt 5)/2 (irrational, so no exactly repeated frequencies): "
        "Fletcher & Rossing, The Physics of Musical Instruments, 2nd ed., 1998, ch. 3 (rectangular plates); "
        "Leissa, Vibration of Plates, NASA SP-160, 1969, ch. 4. Lowest 48 modes. Gains: |sin(m pi x_s/a) "
        "sin(n pi y_s/b)| (mode shape, equal modal masses) at the strike point (x_s, y_s) = (0.37 a, 0.29 b), "
        "times "
        + MALLET_TXT
        + ", fc = 10 f1 (hard mallet); modes more than 60 dB below the loudest "
        "omitted. " + CONST_ETA,
        "plate",
        ratios,
        gains,
        1 / ratios,
    )


def stiff_string():
    E, rho, d, L, f0 = 2.0e11, 7850.0, 1.0e-3, 0.62, 261.6
    mu = rho * np.pi * d * d / 4
    T = (2 * L * f0) ** 2 * mu
    B = np.pi**3 * E * d**4 / (64 * T * L * L)
    n = np.arange(1, 49)
    ratios = n * np.sqrt(1 + B * n * n) / np.sqrt(1 + B)
    beta = 0.12
    gains = np.abs(np.sin(n * np.pi * beta)) / n
    write(
        "stiff_string",
        "Piano-like steel string near middle C, with the slight stretching of overtones caused by wire "
        "stiffness; excited about 1/8 of the way along.",
        "Stiff string: f_n = n f0 sqrt(1 + B n^2) with B = pi^3 E d^4 / (64 T L^2) (Fletcher, JASA 36 (1964) "
        "203; Fletcher & Rossing, The Physics of Musical Instruments, 2nd ed., 1998, ch. 2 and ch. 12). "
        f"B = {B:.3g} computed for a plain steel wire d = 1.0 mm, speaking length L = 0.62 m, E = 200 GPa, tuned "
        f"to 261.6 Hz (tension {T:.0f} N); ratios f_n/f_1, 48 partials. Gains: force on the bridge of a string "
        "plucked (or struck by a soft hammer whose force spectrum falls 6 dB/octave) at beta = 0.12 of its "
        "length, |sin(n pi beta)|/n (Fletcher & Rossing ch. 2, plucked string). Decays: T60 proportional to "
        "1/f (relative T60 = f1/f_n), a simple frequency-proportional loss model.",
        "string",
        ratios,
        gains,
        1 / ratios,
    )


def closed_tube():
    k = np.arange(1, 17)
    harm = 2 * k - 1
    write(
        "closed_tube",
        "Cylindrical pipe closed at one end (stopped organ pipe, clarinet-like air column): only odd "
        "harmonics 1, 3, 5, ... giving a hollow, woody tone.",
        "Cylindrical air column closed at one end and open at the other: resonances at (2n-1) c / (4 L') "
        "(end-corrected length L'), i.e. odd harmonics 1:3:5:...: Fletcher & Rossing, The Physics of Musical "
        "Instruments, 2nd ed., 1998, ch. 8 (pipes) and ch. 15. The small frequency dependence of the end "
        "correction is ignored. Gains: 1/(2n-1), the odd-harmonic spectrum of the square-wave pressure at the "
        "closed end of an idealised cylindrical (clarinet-like) tube (Fletcher & Rossing ch. 15). Decays: "
        "viscous and thermal wall losses, attenuation proportional to sqrt(f), so Q proportional to sqrt(f) "
        "and T60 proportional to f^(-1/2) (Fletcher & Rossing ch. 8, wall losses); radiation loss ignored.",
        "tube",
        harm.astype(float),
        1.0 / harm,
        harm**-0.5,
    )


def wine_glass():
    # taper g chosen so that f(3,0)/f(2,0) matches the measured 2.585 (529.3 Hz, 1368.0 Hz)
    target = 1368.0 / 529.3
    alpha = np.pi / 2
    g = brentq(lambda gg: bowl_ratios_taper(alpha, gg, ns=[2, 3])[1] - target, 0.0, 3.0)
    ns = np.arange(2, 10)
    ratios = bowl_ratios_taper(alpha, g, ns=ns)
    hh = lambda t: 1 + g * (1 - t / alpha)
    gains = []
    for n in ns:
        M = quad(
            lambda t: (
                hh(t)
                * np.sin(t)
                * np.tan(t / 2) ** (2 * n)
                * (2 * np.sin(t) ** 2 + (n + np.cos(t)) ** 2)
            ),
            0,
            alpha,
        )[0]
        w_rim = (n + np.cos(alpha)) * np.tan(alpha / 2) ** n
        gains.append(w_rim / np.sqrt(M))
    gains = np.array(gains) * mallet(ratios, 5.0)
    write(
        "wine_glass",
        "Wine glass tapped on the rim: bell-like (2,0) fundamental with inharmonic (3,0), (4,0), ... partials "
        "around 2.6x, 4.8x, 7.8x.",
        "Bowl modelled as a thin hemispherical shell free at the rim (a wineglass's modes are the bending modes "
        "of a bell: Rossing, 'Acoustics of the glass harmonica', JASA 95 (1994) 1106), using Rayleigh's "
        "inextensional modes (Rayleigh, The Theory of Sound, 2nd ed., 1894, vol. 1, ch. XA, curved plates or shells: displacement proportional "
        "to tan^n(theta/2); frequency^2 proportional to n^2(n^2-1)^2 Int h^3 tan^2n(theta/2)/sin^3(theta) / "
        "Int h sin(theta) tan^2n(theta/2)[2 sin^2(theta) + (n + cos(theta))^2]). Uniform thickness gives "
        "1 : 2.81 : 5.43 : 8.84 (Rayleigh's hemisphere); real bowls thicken towards the stem, so here the wall "
        f"thickness falls linearly from {1 + g:.2f}x the rim value at the stem to the rim, the taper being chosen "
        "so that (3,0)/(2,0) = 2.585, the measured 1368.0 Hz / 529.3 Hz of a wineglass (Harvard Natural "
        "Sciences Lecture Demonstrations, 'Wineglass normal modes'); modes (2,0)-(9,0). Gains: rim radial "
        "displacement of each mass-normalised mode (struck at the rim), times "
        + MALLET_TXT
        + ", fc = 5 f1 "
        "(spoon or fingernail tap, tau about 0.19 ms at f1 = 529 Hz). " + CONST_ETA,
        "shell",
        ratios,
        gains,
        1 / ratios,
    )
    return g


def wood_block():
    E = 12.0e9
    G = E / 13
    rho = 700.0
    L, h, b = 0.10, 0.016, 0.06
    x, om, W = timoshenko_fem(L, lambda xx: h, b, E, G, rho, 5 / 6, n_el=800, clamp_left=True)
    nm = 6
    ratios = om[:nm] / om[0]
    f1 = om[0] / (2 * np.pi)
    tau = 0.2e-3
    fc = 1 / (2 * tau)
    gains = np.abs(W[-1, :nm]) * mallet(om[:nm] / (2 * np.pi), fc)
    write(
        "wood_block",
        "Slotted hardwood block (orchestral wood block) struck on its lip with a stick: short, hollow, "
        "knocking 'tock' with a few widely spaced partials.",
        "Model, not a measurement: the lip above the slot is treated as a thick cantilever (clamped at the root "
        "of the slot, free at the edge) in maple (E = 12 GPa along the grain, E/G = 13, rho = 700 kg/m^3), lip "
        f"length 100 mm, thickness 16 mm, width 60 mm (fundamental about {f1:.0f} Hz). Ratios computed here with "
        "a Timoshenko-beam finite-element model (800 elements, shear coefficient 5/6, rotary inertia), which "
        "lowers the thin-cantilever ratios 1 : 6.27 : 17.5 : 34.4 (roots of cos(bL)cosh(bL) = -1; Fletcher & "
        "Rossing, The Physics of Musical Instruments, 2nd ed., 1998, ch. 2) because of wood's low shear "
        "modulus; the air cavity behind the slot is ignored. Gains: mass-normalised mode shape at the free edge "
        "(stick strike) times "
        + MALLET_TXT
        + " with tau = 0.2 ms (hard stick, fc = 2.5 kHz). "
        + CONST_ETA
        + " Wood's loss factor (about 0.01) makes the absolute decay short.",
        "block",
        ratios,
        gains,
        1 / ratios,
    )


def gong():
    nu = 0.35
    modes = free_plate_modes(nu, m_max=14, k_max=22.0)[:48]
    rs = 0.3
    rr = np.linspace(0, 1, 4001)
    ratios, gains = [], []
    for k, m, n in modes:
        w = free_plate_shape(k, m, nu, rr)
        norm = np.trapezoid(w * w * rr, rr) * (2 * np.pi if m == 0 else np.pi)
        ratios.append(k * k / modes[0][0] ** 2)
        gains.append(abs(free_plate_shape(k, m, nu, rs)) / np.sqrt(norm))
    ratios = np.array(ratios)
    gains = np.array(gains) * mallet(ratios, 5.0)
    write(
        "gong",
        "Tam-tam style flat gong hung freely by its rim and struck off-centre with a soft beater: a dense, "
        "dark wash of inharmonic plate modes (linear part only; the nonlinear shimmer build-up is not modelled).",
        "Tam-tam modelled as a thin flat circular plate with a free edge (it hangs from cords; the turned rim "
        "is ignored): Kirchhoff plate, W = J_m(kr) + C I_m(kr) with zero bending moment and zero Kirchhoff "
        "shear force at the edge, roots of the 2x2 determinant found numerically here for nu = 0.35 (bronze); "
        "ratios (k/k_20)^2 = 1, 1.73, 2.33, 3.91, 4.11, ... relative to the (2,0) mode: Leissa, Vibration of "
        "Plates, NASA SP-160, 1969, ch. 2 (free circular plate); Fletcher & Rossing, The Physics of Musical "
        "Instruments, 2nd ed., 1998, ch. 3 (circular plates) and ch. 20 (tam-tam). Lowest 48 modes, each "
        "degenerate pair listed once. Gains: |W(r_s)|/sqrt(modal mass) at strike radius r_s = 0.3 a, times "
        + MALLET_TXT
        + ", fc = 5 f1 (soft beater); modes more than 60 dB below the loudest omitted. "
        + CONST_ETA,
        "plate",
        ratios,
        gains,
        1 / ratios,
    )


def kalimba():
    beta = eb_clamped_free_roots(6)
    ratios = (beta / beta[0]) ** 2

    def parts(b):
        s = (np.sinh(b) - np.sin(b)) / (np.cosh(b) + np.cos(b))
        tip = (
            np.cosh(b) - np.cos(b) - s * (np.sinh(b) - np.sin(b))
        )  # phi(L), |phi(L)| = 2 when normalised
        v0 = b**3 * (-2 * s)  # phi'''(0)
        return tip, v0

    gains = []
    for b in beta:
        tip, v0 = parts(b)
        gains.append(
            abs(tip * v0) / b**4
        )  # bridge shear force of the mode after release from a static tip deflection
    write(
        "kalimba",
        "Kalimba / mbira tine: thin steel tongue clamped at the bridge and plucked at its tip; a sweet, "
        "nearly pure fundamental with a faint overtone about 6.3x higher.",
        "Tine modelled as a uniform Euler-Bernoulli cantilever (clamped at the bridge, free at the tip; the "
        "short section behind the bridge is ignored): roots of cos(bL)cosh(bL) = -1 (bL = 1.8751, 4.6941, "
        "7.8548, 10.9955, ...), ratios (b_n/b_1)^2 = 1, 6.267, 17.55, 34.39, ...: Fletcher & Rossing, The "
        "Physics of Musical Instruments, 2nd ed., 1998, ch. 2 (clamped-free bar). Gains: shear force at the "
        "clamp (which drives the soundboard) for release from a static tip deflection; modal amplitude "
        "phi_n(L)/omega_n^2 times EI phi_n'''(0), proportional to s_n/b_n with s_n = (sinh b_n - sin b_n)/(cosh b_n + cos b_n) (about 1/b_n for n >= 2). "
        + CONST_ETA,
        "bar",
        ratios,
        np.array(gains),
        1 / ratios,
    )


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    uniform_bar()
    marimba()
    xylophone()
    vibraphone()
    glockenspiel()
    tubular_bell()
    church_bell()
    circular_membrane()
    rectangular_plate()
    stiff_string()
    closed_tube()
    g = wine_glass()
    wood_block()
    gong()
    kalimba()
    print("wine glass taper g =", g)
    for k, v in REPORT.items():
        print(f"{k:20s} {v[0]:3d}  {v[1]}")
