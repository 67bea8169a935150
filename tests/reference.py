"""Plain NumPy reference implementation of docs/math.md, used as the test oracle.

Written for clarity, not speed: per-component loops and explicit inverses,
float64 internally whatever the input dtype. Results are float64 arrays.
"""

import numpy as np

LOG_2PI = np.log(2.0 * np.pi)


def _f64(*arrays):
    return tuple(np.asarray(a, dtype=np.float64) for a in arrays)


def working_dtype(*arrays):
    """float32 if every argument is a float32 array, otherwise float64 (the API rule)."""
    if all(np.asarray(a).dtype == np.float32 for a in arrays):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def ref_forward(w, mu, Sigma, X):
    """Per-component log-probabilities y_k(x) = log w_k + log N(x | mu_k, Sigma_k).

    X of shape (N, D) gives (N, K); X of shape (D,) gives (K,).
    """
    w, mu, Sigma, X = _f64(w, mu, Sigma, X)
    single = X.ndim == 1
    X = np.atleast_2d(X)
    n, d = X.shape
    Y = np.empty((n, w.shape[0]))
    with np.errstate(divide="ignore"):
        log_w = np.log(w)
    for k in range(w.shape[0]):
        inv = np.linalg.inv(Sigma[k])
        _, logdet = np.linalg.slogdet(Sigma[k])
        diff = X - mu[k]
        quad = np.einsum("ni,ij,nj->n", diff, inv, diff)
        Y[:, k] = log_w[k] - 0.5 * (quad + logdet + d * LOG_2PI)
    return Y[0] if single else Y


def ref_logsumexp(a):
    """log(sum(exp(a))) along the last axis; all -inf -> -inf, any +inf -> +inf, empty -> -inf."""
    a = np.asarray(a, dtype=np.float64)
    rows = a.reshape(int(np.prod(a.shape[:-1])), a.shape[-1])
    out = np.empty(rows.shape[0])
    for i, row in enumerate(rows):
        m = row.max(initial=-np.inf)
        if np.isinf(m):
            out[i] = m
        else:
            out[i] = m + np.log(np.sum(np.exp(row - m)))
    return out.reshape(a.shape[:-1])


def ref_expectation(w, mu, Sigma, X):
    """Responsibilities: softmax over components of ref_forward, with the max-shift."""
    Y = ref_forward(w, mu, Sigma, X)
    shifted = np.exp(Y - Y.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def ref_log_likelihood(w, mu, Sigma, X):
    """log p(x) = logsumexp_k y_k(x); (N,) for a batch, 0-d for one sample."""
    return ref_logsumexp(ref_forward(w, mu, Sigma, X))


def ref_nll(w, mu, Sigma, X):
    """Dataset negative log-likelihood: the SUM over samples of -log p(x_i)."""
    return float(-np.sum(ref_log_likelihood(w, mu, Sigma, X)))


def ref_backward(w, mu, Sigma, X, G):
    """VJP of the forward map for upstream gradient G (N, K) or (K,).

    Returns (dw (K,), dmu (K, D), dSigma (K, D, D), dX (N, D) or (D,)); the
    parameter gradients are summed over the batch.
    """
    w, mu, Sigma, X, G = _f64(w, mu, Sigma, X, G)
    single = X.ndim == 1
    X, G = np.atleast_2d(X), np.atleast_2d(G)
    k_count, d = mu.shape
    dw = np.empty(k_count)
    dmu = np.empty((k_count, d))
    dSigma = np.empty((k_count, d, d))
    dX = np.zeros(X.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(k_count):
            inv = np.linalg.inv(Sigma[k])
            V = (X - mu[k]) @ inv
            g = G[:, k]
            dw[k] = g.sum() / w[k]
            dmu[k] = g @ V
            dSigma[k] = 0.5 * (np.einsum("n,ni,nj->ij", g, V, V) - g.sum() * inv)
            dX -= g[:, None] * V
    return dw, dmu, dSigma, (dX[0] if single else dX)


def _em_step(w, mu, Sigma, X, jitter, eps):
    """One EM step in float64 with the empty-component threshold tiny = 10 * eps * N."""
    w, mu, Sigma, X = _f64(w, mu, Sigma, X)
    n, d = X.shape
    if n == 0:
        return w.copy(), mu.copy(), Sigma.copy()
    tiny = 10.0 * eps * n
    R = ref_expectation(w, mu, Sigma, X)
    Nk = R.sum(axis=0)
    new_w, new_mu, new_Sigma = w.copy(), mu.copy(), Sigma.copy()
    for k in range(w.shape[0]):
        if Nk[k] > tiny:
            new_w[k] = Nk[k] / n
            new_mu[k] = R[:, k] @ X / Nk[k]
            diff = X - new_mu[k]
            new_Sigma[k] = (R[:, k] * diff.T) @ diff / Nk[k] + jitter * np.eye(d)
    total = new_w.sum()
    new_w = new_w / total if total > 0 else np.full_like(new_w, 1.0 / new_w.shape[0])
    return new_w, new_mu, new_Sigma


def ref_em_step(w, mu, Sigma, X, jitter=1e-6):
    """One EM step with the contract's empty-component rule (docs/math.md#math-em).

    A component keeps its old parameters unless N_k > tiny, where
    tiny = 10 * eps(working dtype) * N. N = 0 returns the parameters unchanged.
    """
    eps = np.finfo(working_dtype(w, mu, Sigma, X)).eps
    return _em_step(w, mu, Sigma, X, jitter, eps)


def ref_em_train(w, mu, Sigma, X, epochs, jitter=1e-6):
    """`epochs` EM steps; eps for the threshold comes from the working dtype of the inputs."""
    eps = np.finfo(working_dtype(w, mu, Sigma, X)).eps
    params = _f64(w, mu, Sigma)
    for _ in range(epochs):
        params = _em_step(*params, X, jitter, eps)
    return params
