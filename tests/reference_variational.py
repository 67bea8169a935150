"""Plain NumPy reference of the variational formulas of docs/math.md ("Variational inference").

Written from the maths for clarity (per-component loops, full matrices
reduced to each covariance type at the end, SciPy's digamma and log-gamma),
float64 throughout; independent of gmmcore's code. A posterior is a dict with
scikit-learn's attribute names (without the trailing underscore):
weight_concentration ((alpha, beta) or alpha), mean_precision, means,
degrees_of_freedom (a float for 'tied'), covariances (scikit-learn's shapes).
"""

import numpy as np
from scipy.special import betaln, digamma, gammaln, logsumexp

LOG_2PI = np.log(2.0 * np.pi)


def _prior_matrix(covariance_prior, covariance_type, d):
    """The Wishart prior's W_0^{-1} as a (d, d) matrix."""
    if covariance_type in ("full", "tied"):
        return np.asarray(covariance_prior, np.float64)
    if covariance_type == "diag":
        return np.diag(np.asarray(covariance_prior, np.float64))
    return float(covariance_prior) * np.eye(d)


def m_step(X, resp, sample_weight, covariance_type, priors, reg_covar):
    """The variational M-step from responsibilities ``resp`` (N, K) and sample weights (N) (or None).

    ``priors``: dict with weight_concentration_prior_type, weight_concentration_prior, mean_precision_prior,
    mean_prior, degrees_of_freedom_prior, covariance_prior (scikit-learn's shapes).
    """
    X = np.asarray(X, np.float64)
    n, d = X.shape
    k_count = resp.shape[1]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    r = resp * s[:, None]
    nk = r.sum(axis=0) + 10 * np.finfo(np.float64).eps
    xk = (r.T @ X) / nk[:, None]
    # Maximum-likelihood scatter of each component about x_k, plus reg_covar (the per-type reduction comes last).
    sk = np.empty((k_count, d, d))
    for k in range(k_count):
        diff = X - xk[k]
        sk[k] = (r[:, k, None] * diff).T @ diff / nk[k] + reg_covar * np.eye(d)
    gamma0 = priors["weight_concentration_prior"]
    if priors["weight_concentration_prior_type"] == "dirichlet_process":
        tails = np.array([nk[k + 1 :].sum() for k in range(k_count)])
        weight_concentration = (1.0 + nk, gamma0 + tails)
    else:
        weight_concentration = gamma0 + nk
    beta0, m0, nu0 = (
        priors["mean_precision_prior"],
        np.asarray(priors["mean_prior"], np.float64),
        priors["degrees_of_freedom_prior"],
    )
    beta = beta0 + nk
    means = (beta0 * m0 + nk[:, None] * xk) / beta[:, None]
    w0_inv = _prior_matrix(priors["covariance_prior"], covariance_type, d)
    # Bishop (10.62), with scikit-learn's covariances W_k^{-1} / nu_k.
    scale = np.array(
        [w0_inv + nk[k] * sk[k] + beta0 * nk[k] / beta[k] * np.outer(xk[k] - m0, xk[k] - m0) for k in range(k_count)]
    )
    if covariance_type == "tied":
        # One Wishart for all components: sample-weighted pooling of the scatters, nu = nu_0 + sum N / K.
        pooled_scatter = sum(
            nk[k] * (sk[k] - reg_covar * np.eye(d)) for k in range(k_count)
        ) / nk.sum() + reg_covar * np.eye(d)
        means_term = sum(nk[k] / beta[k] * np.outer(xk[k] - m0, xk[k] - m0) for k in range(k_count))
        nu = nu0 + nk.sum() / k_count
        covariances = (w0_inv + pooled_scatter * nk.sum() / k_count + beta0 / k_count * means_term) / nu
        degrees_of_freedom = nu
    else:
        degrees_of_freedom = nu0 + nk
        full = scale / degrees_of_freedom[:, None, None]
        covariances = {
            "full": full,
            "diag": np.einsum("kii->ki", full),
            "spherical": np.einsum("kii->ki", full).mean(axis=1),
        }[covariance_type]
    return {
        "weight_concentration": weight_concentration,
        "mean_precision": beta,
        "means": means,
        "degrees_of_freedom": degrees_of_freedom,
        "covariances": covariances,
    }


def expected_log_weights(posterior, weight_prior_type):
    """E[log pi_k]: stick-breaking (dirichlet_process) or Dirichlet."""
    if weight_prior_type == "dirichlet_process":
        a, b = posterior["weight_concentration"]
        log_v = digamma(a) - digamma(a + b)
        log_one_minus_v = digamma(b) - digamma(a + b)
        return log_v + np.concatenate([[0.0], np.cumsum(log_one_minus_v)[:-1]])
    alpha = posterior["weight_concentration"]
    return digamma(alpha) - digamma(alpha.sum())


def _component_matrices(posterior, covariance_type, k_count, d):
    """Each component's covariances_ as a (d, d) matrix and its nu_k."""
    cov = np.asarray(posterior["covariances"], np.float64)
    nu = np.broadcast_to(np.asarray(posterior["degrees_of_freedom"], np.float64), (k_count,))
    mats = {
        "full": lambda: cov,
        "tied": lambda: np.broadcast_to(cov, (k_count, d, d)),
        "diag": lambda: np.array([np.diag(c) for c in cov]),
        "spherical": lambda: np.array([c * np.eye(d) for c in cov]),
    }[covariance_type]()
    return mats, nu


def log_rho(X, posterior, covariance_type, weight_prior_type):
    """log rho_nk = E[log pi_k] + 1/2 E[log det Lambda_k] - D/2 log 2 pi - 1/2 E[(x - mu_k)^T Lambda_k (x - mu_k)].

    With Lambda_k ~ Wishart(nu_k, W_k), W_k = (nu_k covariances_k)^{-1} and
    mu_k | Lambda_k ~ N(m_k, (beta_k Lambda_k)^{-1}):
    E[log det Lambda] = sum_i psi((nu - i)/2) + D log 2 + log det W,
    E[quadratic] = D / beta + nu (x - m)^T W (x - m).
    """
    X = np.asarray(X, np.float64)
    n, d = X.shape
    means = np.asarray(posterior["means"], np.float64)
    k_count = means.shape[0]
    mats, nu = _component_matrices(posterior, covariance_type, k_count, d)
    beta = np.asarray(posterior["mean_precision"], np.float64)
    out = np.empty((n, k_count))
    log_pi = expected_log_weights(posterior, weight_prior_type)
    for k in range(k_count):
        w = np.linalg.inv(nu[k] * mats[k])
        e_log_det = digamma(0.5 * (nu[k] - np.arange(d))).sum() + d * np.log(2.0) + np.linalg.slogdet(w)[1]
        diff = X - means[k]
        e_quad = d / beta[k] + nu[k] * np.einsum("ni,ij,nj->n", diff, w, diff)
        out[:, k] = log_pi[k] + 0.5 * e_log_det - 0.5 * d * LOG_2PI - 0.5 * e_quad
    return out


def log_resp(X, posterior, covariance_type, weight_prior_type):
    rho = log_rho(X, posterior, covariance_type, weight_prior_type)
    return rho - logsumexp(rho, axis=1, keepdims=True)


def lower_bound(log_resp_, sample_weight, posterior, covariance_type, weight_prior_type):
    """scikit-learn's lower bound (constants dropped).

    L = -sum s r log r - sum_k log B(W_k, nu_k) - log C(alpha) - D/2 sum_k log beta_k, with
    log B(W, nu) = -nu/2 log det W - nu D/2 log 2 - sum_i log Gamma((nu - i)/2) (its log pi term dropped)
    and W_k = (nu_k covariances_k)^{-1} ('tied': one W, counted K times).
    """
    n, k_count = log_resp_.shape
    d = np.asarray(posterior["means"]).shape[1]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    entropy = -np.sum(s[:, None] * np.exp(log_resp_) * log_resp_)
    mats, nu = _component_matrices(posterior, covariance_type, k_count, d)
    log_b = []
    for k in range(k_count if covariance_type != "tied" else 1):
        w = np.linalg.inv(nu[k] * mats[k])
        log_b.append(
            -0.5 * nu[k] * np.linalg.slogdet(w)[1]
            - 0.5 * nu[k] * d * np.log(2.0)
            - gammaln(0.5 * (nu[k] - np.arange(d))).sum()
        )
    log_wishart = k_count * log_b[0] if covariance_type == "tied" else sum(log_b)
    if weight_prior_type == "dirichlet_process":
        a, b = posterior["weight_concentration"]
        log_norm_weight = -np.sum(betaln(a, b))
    else:
        alpha = posterior["weight_concentration"]
        log_norm_weight = gammaln(alpha.sum()) - gammaln(alpha).sum()
    return entropy - log_wishart - log_norm_weight - 0.5 * d * np.sum(np.log(posterior["mean_precision"]))
