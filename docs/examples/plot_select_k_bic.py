"""
Choosing the number of components by BIC
=========================================

Fit :class:`gmmcore.GaussianMixture` for K = 1..8 on data drawn from four
Gaussians and plot the Bayesian information criterion against K: the
minimum picks the model. ``gmmcore select DATA -k 1..8 --plot bic.png`` does
the same from the command line.
"""

import matplotlib.pyplot as plt
import numpy as np
from gmmcore import GaussianMixture
from gmmcore.plot import plot_criterion

rng = np.random.default_rng(0)
centres = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 4.0]])
X = np.vstack([rng.normal(c, 0.7, size=(250, 2)) for c in centres])

ks = list(range(1, 9))
models = [GaussianMixture(n_components=k, n_init=2, random_state=0).fit(X) for k in ks]
bic = [m.bic(X) for m in models]
best = ks[int(np.argmin(bic))]
print("BIC:", np.round(bic, 1))
print("best K:", best)

fig, ax = plt.subplots(figsize=(6, 4))
plot_criterion(ks, bic, ax=ax, criterion="BIC", best=best)
plt.show()
