"""
Old Faithful eruptions
======================

Fit a two-component mixture to the Old Faithful data bundled with gmmcore
(272 eruptions: duration and waiting time to the next one, in minutes) and
draw the points coloured by component with 1- and 2-sigma ellipses. This is
what ``gmmcore demo --plot demo.png`` does.
"""

from importlib.resources import files

import gmmcore
import matplotlib.pyplot as plt
import numpy as np
from gmmcore.plot import plot_mixture

path = files("gmmcore").joinpath("data", "old_faithful.csv")
X = np.loadtxt(path, delimiter=",", skiprows=1)
print(X.shape)

gm = gmmcore.GaussianMixture(n_components=2, random_state=0).fit(X)
print("converged:", gm.converged_, "after", gm.n_iter_, "iterations")
print("weights:", gm.weights_.round(3))
print("means:\n", gm.means_.round(2))

fig, ax = plt.subplots(figsize=(6, 4.5))
plot_mixture(gm, X, ax=ax, feature_names=("eruption (min)", "waiting (min)"), title="Old Faithful, K = 2")
plt.show()
