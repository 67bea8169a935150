"""``python -m gmmcore``: a small end-to-end demo of the functional API.

Fits a 3-component mixture to generated 2-D data with EM and prints what it
found next to the truth.
"""

import numpy as np

import gmmcore


def main():
    rng = np.random.default_rng(0)
    true_means = np.array([[-4.0, 0.0], [0.0, 3.0], [4.0, -1.0]])
    counts = [300, 500, 200]
    X = np.concatenate([rng.normal(m, 0.7, size=(n, 2)) for m, n in zip(true_means, counts)])

    # Start from three data points as means, unit covariances, equal weights.
    start = gmmcore.init_params(3, 2)
    start = start._replace(means=X[rng.choice(len(X), 3, replace=False)])
    print(f"gmmcore {gmmcore.__version__}: EM on {X.shape[0]} samples, {X.shape[1]} features, 3 components")
    params, done = start, 0
    for epoch in (0, 1, 5, 20, 50):
        params, done = gmmcore.em_train(params, X, epoch - done), epoch
        print(f"  after {epoch:2d} steps: mean log-likelihood {-gmmcore.negative_log_likelihood(params, X) / len(X):.4f}")
    order = np.argsort(params.means[:, 0])
    print("component  weight  mean            (true weight, true mean)")
    for k, (m, n) in zip(order, zip(true_means, counts)):
        print(f"  {k}        {params.weights[k]:.3f}   {np.array2string(params.means[k], precision=2):14s}  "
              f"({n / len(X):.3f}, {m})")


if __name__ == "__main__":
    main()
