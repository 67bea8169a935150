"""The progress bar drawn on standard error while the command line fits."""

import os
import sys

__all__ = ["Progress"]


class Progress:
    """The ``callback`` of ``GaussianMixture.fit``: a tqdm bar per initialisation, on a terminal only."""

    def __init__(self, enabled, max_iter, n_init, label=""):
        self.enabled = enabled and max_iter > 0
        self.max_iter, self.n_init, self.label = max_iter, n_init, label
        self.bar, self.init = None, None
        if self.enabled:
            try:
                from tqdm import tqdm
            except ImportError:  # a dependency; without it, no bar rather than no fit
                self.enabled = False
            else:
                self._tqdm = tqdm

    def __call__(self, init, n_iter, lower_bound, change):
        if not self.enabled:
            return
        if self.bar is None or init != self.init:
            self.close()
            self.init = init
            desc = self.label + (f"init {init + 1}/{self.n_init}" if self.n_init > 1 else "EM")
            try:
                size = os.get_terminal_size(sys.stderr.fileno())
            except (OSError, ValueError):
                size = os.terminal_size((0, 0))
            # A terminal that reports no size (a bare pty) would make tqdm hide the bar.
            self.bar = self._tqdm(
                total=self.max_iter,
                desc=desc,
                unit="iter",
                leave=False,
                file=sys.stderr,
                dynamic_ncols=size.columns > 0 and size.lines > 0,
                ncols=None if size.columns > 0 else 100,
                nrows=None if size.lines > 0 else 24,
            )
        self.bar.update(n_iter - self.bar.n)
        self.bar.set_postfix_str(f"lower bound {lower_bound:.6g}, change {change:.3g}", refresh=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
