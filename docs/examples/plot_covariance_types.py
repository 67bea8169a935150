"""
The four covariance types
=========================

Fit the same data with ``covariance_type`` ``"full"``, ``"tied"``,
``"diag"`` and ``"spherical"`` and draw each fit's 1- and 2-sigma ellipses,
with its BIC. ``full`` gives every component its own covariance matrix,
``tied`` one matrix shared by all, ``diag`` axis-aligned ellipses and
``spherical`` circles (see :ref:`math-estimator`).
"""

import matplotlib.pyplot as plt
import numpy as np
from gmmcore import GaussianMixture
from gmmcore.plot import plot_mixture

rng = np.random.default_rng(2)
X = np.vstack(
    [
        rng.multivariate_normal([0, 0], [[2.0, 1.2], [1.2, 1.0]], size=300),
        rng.multivariate_normal([5, 3], [[0.5, -0.3], [-0.3, 0.8]], size=300),
    ]
)

fig, axes = plt.subplots(2, 2, figsize=(9, 8), sharex=True, sharey=True)
for ax, covariance_type in zip(axes.ravel(), ["full", "tied", "diag", "spherical"]):
    gm = GaussianMixture(n_components=2, covariance_type=covariance_type, random_state=0).fit(X)
    plot_mixture(gm, X, ax=ax, title=f"{covariance_type}: BIC {gm.bic(X):.0f}")
    print(f"{covariance_type:9s} covariances_ shape {gm.covariances_.shape}, BIC {gm.bic(X):.1f}")
fig.tight_layout()
plt.show()
