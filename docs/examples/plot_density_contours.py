"""
Density contours of a fitted mixture
====================================

Evaluate the log-density of a fitted model on a grid, with
:meth:`gmmcore.GaussianMixture.score_samples` (equivalently
:func:`gmmcore.log_likelihood` on the model's parameters), and draw its
contours over the data.
"""

import gmmcore
import matplotlib.pyplot as plt
import numpy as np
from gmmcore import GaussianMixture

rng = np.random.default_rng(1)
X = np.vstack(
    [
        rng.multivariate_normal([0, 0], [[1.0, 0.8], [0.8, 1.0]], size=400),
        rng.multivariate_normal([3, -1], [[0.3, 0.0], [0.0, 1.5]], size=300),
        rng.multivariate_normal([-2, 3], [[0.5, -0.3], [-0.3, 0.5]], size=200),
    ]
)
gm = GaussianMixture(n_components=3, random_state=0).fit(X)

x = np.linspace(X[:, 0].min() - 1, X[:, 0].max() + 1, 200)
y = np.linspace(X[:, 1].min() - 1, X[:, 1].max() + 1, 200)
xx, yy = np.meshgrid(x, y)
grid = np.column_stack([xx.ravel(), yy.ravel()])
log_density = gm.score_samples(grid).reshape(xx.shape)

# The functional API gives the same numbers from the fitted parameters.
params = gmmcore.GMMParams(gm.weights_, gm.means_, gm.covariances_)
print("max difference:", np.abs(gmmcore.log_likelihood(params, grid) - log_density.ravel()).max())

fig, ax = plt.subplots(figsize=(6, 5))
ax.scatter(X[:, 0], X[:, 1], s=4, color="0.6")
levels = np.linspace(log_density.max() - 8, log_density.max(), 9)
cs = ax.contour(xx, yy, log_density, levels=levels, cmap="viridis")
fig.colorbar(cs, ax=ax, label="log p(x)")
ax.scatter(gm.means_[:, 0], gm.means_[:, 1], marker="x", color="red", label="means")
ax.set_title("log-density of a 3-component fit")
ax.legend(loc="upper right")
plt.show()
