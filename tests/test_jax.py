"""gmmcore.jax: the native log-density with a custom VJP, under jit, grad and vmap.

References: jax.test_util.check_grads (finite differences, order 1, reverse
mode) and a pure-JAX mixture log-density differentiated by JAX itself
(jax.scipy.stats.multivariate_normal), to 1e-10 in float64. float64 needs
jax_enable_x64, switched on for this module only.
"""

import subprocess
import sys

import numpy as np
import pytest
from conftest import make_problem, optional_import

jax = optional_import("jax")
import gmmcore.jax as gjax  # noqa: E402  (jax is there: an import error of ours must fail, not skip)
import jax.numpy as jnp  # noqa: E402
from jax.scipy.special import logsumexp  # noqa: E402
from jax.scipy.stats import multivariate_normal  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

NAMES = ("x", "weights", "means", "covariances")
FUNCTIONS = {"log_prob": gjax.log_prob, "component_log_prob": gjax.component_log_prob}


@pytest.fixture(scope="module", autouse=True)
def x64():
    """float64 arrays for this module's tests, the previous setting restored after them."""
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


def arrays(n=40, d=3, k=3, dtype=np.float64, seed=0):
    p = make_problem(n, d, k, seed=seed)
    return tuple(jnp.asarray(a, dtype=dtype) for a in (p.X, p.weights, p.means, p.covariances))


def reference_components(x, weights, means, covariances):
    """Pure JAX: log(w_k / sum w) + log N(x | mu_k, Sigma_k), differentiated by JAX."""
    logpdf = jax.vmap(lambda m, c: multivariate_normal.logpdf(x, m, c), out_axes=1)(means, covariances)
    return jnp.log(weights / weights.sum()) + logpdf


def reference_log_prob(*args):
    return logsumexp(reference_components(*args), axis=1)


REFERENCES = {"log_prob": reference_log_prob, "component_log_prob": reference_components}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_check_grads_order_1(name):
    args = arrays(n=15, d=3, k=3)
    check_grads(FUNCTIONS[name], args, order=1, modes=("rev",))
    check_grads(jax.jit(FUNCTIONS[name]), args, order=1, modes=("rev",))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_agrees_with_pure_jax_float64(name):
    args = arrays(n=300, d=4, k=3, seed=1)
    got, want = FUNCTIONS[name](*args), REFERENCES[name](*args)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10 * float(jnp.abs(want).max()))
    upstream = jnp.asarray(np.random.default_rng(0).standard_normal(got.shape))
    ours = jax.grad(lambda *a: (FUNCTIONS[name](*a) * upstream).sum(), argnums=(0, 1, 2, 3))(*args)
    theirs = jax.grad(lambda *a: (REFERENCES[name](*a) * upstream).sum(), argnums=(0, 1, 2, 3))(*args)
    for label, a, b in zip(NAMES, ours, theirs):
        assert a.dtype == jnp.float64
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10 * float(jnp.abs(b).max()), err_msg=label)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_float32_against_the_float64_reference(name):
    """float32 stays float32; values to 1e-5 and gradients to 1e-3 of their scale."""
    args32, args64 = arrays(n=300, d=4, k=3, seed=2, dtype=np.float32), arrays(n=300, d=4, k=3, seed=2)
    got = FUNCTIONS[name](*args32)
    assert got.dtype == jnp.float32
    want = REFERENCES[name](*args64)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * float(jnp.abs(want).max()))
    ours = jax.grad(lambda *a: FUNCTIONS[name](*a).sum(), argnums=(0, 1, 2, 3))(*args32)
    theirs = jax.grad(lambda *a: REFERENCES[name](*a).sum(), argnums=(0, 1, 2, 3))(*args64)
    for label, a, b in zip(NAMES, ours, theirs):
        assert a.dtype == jnp.float32, label
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-3 * float(jnp.abs(b).max()), err_msg=label)


def test_jit_grad_and_vmap_compose():
    x, w, mu, cov = arrays(n=25, d=2, k=3)
    loss = lambda m, c, data: -gjax.log_prob(data, w, m, c).mean()
    eager = jax.grad(loss, argnums=(0, 1))(mu, cov, x)
    jitted = jax.jit(jax.grad(loss, argnums=(0, 1)))(mu, cov, x)
    for a, b in zip(eager, jitted):
        np.testing.assert_array_equal(a, b)
    # A batch of data sets (vmap over x) and a batch of parameter sets (vmap over the means), under jit.
    xs = jnp.stack([x, x + 0.5, x[::-1]])
    batched = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, None, 0)))(mu, cov, xs)
    for i in range(3):
        np.testing.assert_allclose(batched[i], jax.grad(loss)(mu, cov, xs[i]), rtol=1e-14)
    mus = jnp.stack([mu, mu + 1.0])
    values = jax.jit(jax.vmap(lambda m: gjax.component_log_prob(x, w, m, cov)))(mus)
    assert values.shape == (2, 25, 3)
    np.testing.assert_allclose(values[1], reference_components(x, w, mus[1], cov), rtol=1e-12)


def test_gradient_descent_under_jit_raises_the_likelihood():
    x, w, mu, cov = arrays(n=200, d=2, k=3, seed=5)
    params = (jnp.zeros(3), mu + 1.0)

    @jax.jit
    def step(params):
        def nll(p):
            return -gjax.log_prob(x, jax.nn.softmax(p[0]), p[1], cov).mean()

        value, grads = jax.value_and_grad(nll)(params)
        return jax.tree.map(lambda p, g: p - 0.1 * g, params, grads), value

    values = []
    for _ in range(30):
        params, value = step(params)
        values.append(float(value))
    assert values[-1] < values[0] - 0.1
    assert all(b <= a + 1e-12 for a, b in zip(values, values[1:]))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_bad_input_is_a_clear_error(name):
    f = FUNCTIONS[name]
    x, w, mu, cov = arrays()
    with pytest.raises(TypeError, match="share one dtype"):
        f(x.astype(jnp.float32), w, mu, cov)
    with pytest.raises(TypeError, match="float32 or float64"):
        f(x.astype(jnp.int32), w, mu, cov)
    with pytest.raises(ValueError, match="X has shape"):
        f(x[:, :2], w, mu, cov)
    with pytest.raises(ValueError, match="covariances has shape"):
        jax.jit(f)(x, w, mu, cov[:2])
    # Values are checked when the callback runs: a runtime error that carries gmmcore's message.
    with pytest.raises(Exception, match=r"covariances\[1\] is not positive definite"):
        f(x, w, mu, cov.at[1].multiply(-1.0)).block_until_ready()
    with pytest.raises(Exception, match="X contains NaN"):
        f(x.at[3, 0].set(jnp.nan), w, mu, cov).block_until_ready()


def test_import_gmmcore_does_not_import_jax():
    code = "import sys, gmmcore; gmmcore.GaussianMixture; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
