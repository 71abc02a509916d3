import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh


def timoshenko_fem(
    L, thick, width, E, G, rho, kappa, n_el=800, clamp_left=False, section=None, n_modes=14
):
    x = np.linspace(0, L, n_el + 1)
    xm = 0.5 * (x[:-1] + x[1:])
    le = np.diff(x)
    if section is not None:
        AI = np.array([section(v) for v in xm])
        A, I = AI[:, 0], AI[:, 1]
    else:
        h = np.array([thick(v) for v in xm])
        A = width * h
        I = width * h**3 / 12
    ndof = 2 * (n_el + 1)
    rows, cols, kv, mv = [], [], [], []
    for e in range(n_el):
        l = le[e]
        kb = E * I[e] / l * np.array([[0, 0, 0, 0], [0, 1, 0, -1], [0, 0, 0, 0], [0, -1, 0, 1]])
        Bs = np.array([-1 / l, -0.5, 1 / l, -0.5])
        ks = kappa * G * A[e] * l * np.outer(Bs, Bs)
        m2 = l / 6 * np.array([[2, 1], [1, 2]])
        me = np.zeros((4, 4))
        me[np.ix_([0, 2], [0, 2])] = rho * A[e] * m2
        me[np.ix_([1, 3], [1, 3])] = rho * I[e] * m2
        idx = np.array([2 * e, 2 * e + 1, 2 * e + 2, 2 * e + 3])
        rows.append(np.repeat(idx, 4))
        cols.append(np.tile(idx, 4))
        kv.append((kb + ks).ravel())
        mv.append(me.ravel())
    rows = np.concatenate(rows)
    cols = np.concatenate(cols)
    K = sp.csc_matrix((np.concatenate(kv), (rows, cols)), shape=(ndof, ndof))
    M = sp.csc_matrix((np.concatenate(mv), (rows, cols)), shape=(ndof, ndof))
    keep = np.arange(2, ndof) if clamp_left else np.arange(ndof)
    K = K[keep][:, keep]
    M = M[keep][:, keep]
    n_rigid = 0 if clamp_left else 2
    # shift-invert about a small negative shift (K is singular for free-free)
    d = K.diagonal().mean() / M.diagonal().mean()
    w2, V = eigsh(K, k=n_modes + n_rigid, M=M, sigma=-1e-6 * d, which="LM")
    o = np.argsort(w2)
    w2 = w2[o]
    V = V[:, o]
    # mass-normalise
    V = V / np.sqrt(np.einsum("ij,ij->j", V, M @ V))
    full = np.zeros((ndof, V.shape[1]))
    full[keep] = V
    om = np.sqrt(np.abs(w2[n_rigid:]))
    W = full[0::2, n_rigid:]
    return x, om, W
