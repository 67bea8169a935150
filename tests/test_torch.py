"""gmmcore.torch: the native log-density as a torch.autograd.Function, and the nn.Module mixture.

References: torch.autograd.gradcheck (finite differences, float64) on every
input and every subset of them; torch.distributions.MixtureSameFamily over
MultivariateNormal with torch's own autograd (1e-10 in float64); scikit-learn
style EM (gmmcore.GaussianMixture) for the training test and the conversions.
"""

import itertools
import subprocess
import sys

import gmmcore
import numpy as np
import pytest
from conftest import make_problem, optional_import

torch = optional_import("torch")
import gmmcore.torch as gtorch  # noqa: E402  (torch is there: an import error of ours must fail, not skip)
from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal  # noqa: E402

NAMES = ("x", "weights", "means", "covariances")
FUNCTIONS = {"log_prob": gtorch.log_prob, "component_log_prob": gtorch.component_log_prob}


def tensors(n=40, d=3, k=3, dtype=torch.float64, seed=0, requires_grad=True):
    """(x, weights, means, covariances) of a random well-posed problem, as leaf tensors."""
    p = make_problem(n, d, k, seed=seed)
    arrays = (p.X, p.weights, p.means, p.covariances)
    return tuple(torch.tensor(a, dtype=dtype, requires_grad=requires_grad) for a in arrays)


def reference_components(x, weights, means, covariances):
    """torch.distributions with torch's autograd: log(w_k / sum w) + log N(x | mu_k, Sigma_k)."""
    mvn = MultivariateNormal(means, covariance_matrix=covariances)
    return torch.log(weights / weights.sum()) + mvn.log_prob(x[:, None, :])


def reference_log_prob(x, weights, means, covariances):
    mixture = MixtureSameFamily(Categorical(probs=weights), MultivariateNormal(means, covariance_matrix=covariances))
    return mixture.log_prob(x)


REFERENCES = {"log_prob": reference_log_prob, "component_log_prob": reference_components}


@pytest.fixture
def native_backward_calls(monkeypatch):
    """The keyword arguments of every native backward call (which gradients it was asked to compute)."""
    calls = []
    for name in ("backward", "log_likelihood_backward"):
        original = getattr(gmmcore._native, name)

        def recording(*args, _original=original, **kwargs):
            calls.append(kwargs)
            return _original(*args, **kwargs)

        monkeypatch.setattr(gmmcore._native, name, recording)
    return calls


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("name", FUNCTIONS)
def test_gradcheck_every_input_float64(name):
    inputs = tensors(n=12, d=3, k=3)
    assert torch.autograd.gradcheck(FUNCTIONS[name], inputs, eps=1e-6, atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize(
    "subset",
    [s for r in (1, 2, 3) for s in itertools.combinations(range(4), r)],
    ids=lambda s: "+".join(NAMES[i] for i in s),
)
def test_gradcheck_subsets_and_only_requested_gradients(name, subset, native_backward_calls):
    """Each subset of inputs passes gradcheck; the others get no gradient and the native backward skips
    the covariance and input gradients when they are not asked for."""
    inputs = tensors(n=10, d=2, k=2)
    for i, t in enumerate(inputs):
        t.requires_grad_(i in subset)
    assert torch.autograd.gradcheck(FUNCTIONS[name], inputs, eps=1e-6, atol=1e-7, rtol=1e-6)

    native_backward_calls.clear()
    FUNCTIONS[name](*inputs).sum().backward()
    for i, t in enumerate(inputs):
        assert (t.grad is not None) == (i in subset), NAMES[i]
    assert native_backward_calls == [{"covariances_gradient": 3 in subset, "input_gradient": 0 in subset}]


@pytest.mark.parametrize("mode", ["no input requires grad", "torch.no_grad"])
def test_no_graph_means_the_log_likelihood_alone(mode, monkeypatch):
    """Without a graph to record, log_prob is the native log-likelihood (no (N, K) log-probabilities)."""
    called = []
    for name in ("forward", "log_likelihood"):
        original = getattr(gmmcore._native, name)
        monkeypatch.setattr(gmmcore._native, name, lambda *a, f=original, n=name: called.append(n) or f(*a))
    inputs = tensors(requires_grad=mode == "torch.no_grad")
    with torch.set_grad_enabled(mode != "torch.no_grad"):
        out = gtorch.log_prob(*inputs)
    assert out.grad_fn is None and not out.requires_grad
    assert called == ["log_likelihood"]
    torch.testing.assert_close(out, reference_log_prob(*inputs).detach(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_agrees_with_torch_distributions_float64(name):
    """Values and the gradients of every input agree with MixtureSameFamily/MultivariateNormal autograd."""
    ours, theirs = tensors(n=500, d=4, k=3, seed=1), tensors(n=500, d=4, k=3, seed=1)
    got, want = FUNCTIONS[name](*ours), REFERENCES[name](*theirs)
    scale = want.abs().max().item()
    torch.testing.assert_close(got, want, rtol=0, atol=1e-10 * scale)
    upstream = torch.randn(got.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    (got * upstream).sum().backward()
    (want * upstream).sum().backward()
    for name_, a, b in zip(NAMES, ours, theirs):
        torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=1e-10 * b.grad.abs().max().item(), msg=name_)


def test_agrees_with_torch_distributions_float32():
    """float32 against the float64 reference: values to 1e-5 and gradients to 1e-3 of their scale."""
    ours, theirs = tensors(n=500, d=4, k=3, seed=2, dtype=torch.float32), tensors(n=500, d=4, k=3, seed=2)
    got, want = gtorch.log_prob(*ours), reference_log_prob(*theirs)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got.double(), want, rtol=0, atol=1e-5 * want.abs().max().item())
    got.sum().backward()
    want.sum().backward()
    for name_, a, b in zip(NAMES, ours, theirs):
        assert a.grad.dtype == torch.float32
        torch.testing.assert_close(a.grad.double(), b.grad, rtol=0, atol=1e-3 * b.grad.abs().max().item(), msg=name_)


def test_matches_the_numpy_api_at_a_valid_point():
    """At weights summing to 1 and symmetric covariances the values are gmmcore.forward's and
    log_likelihood's, and the mean, covariance and input gradients gmmcore.backward's."""
    p = make_problem(50, 3, 4, seed=3)
    x, w, mu, cov = (torch.tensor(a, requires_grad=True) for a in (p.X, p.weights, p.means, p.covariances))
    params = gmmcore.GMMParams(p.weights, p.means, p.covariances)
    np.testing.assert_allclose(gtorch.component_log_prob(x, w, mu, cov).detach().numpy(), gmmcore.forward(params, p.X))
    ll = gtorch.log_prob(x, w, mu, cov)
    np.testing.assert_allclose(ll.detach().numpy(), gmmcore.log_likelihood(params, p.X))
    ll.sum().backward()
    g = gmmcore.backward(params, p.X, gmmcore.expectation(params, p.X))
    np.testing.assert_allclose(mu.grad.numpy(), g.means, rtol=1e-12)
    np.testing.assert_allclose(cov.grad.numpy(), g.covariances, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), g.input, rtol=1e-12)
    # The weights are used through w / sum(w): the gradient is gmmcore's projected on the simplex's tangent.
    np.testing.assert_allclose(w.grad.numpy(), g.weights - len(p.X), rtol=1e-12)


def test_covariance_gradient_is_symmetric_and_independent_of_the_upper_triangle():
    x, w, mu, cov = tensors()
    with torch.no_grad():
        skewed = cov + torch.triu(torch.ones_like(cov), diagonal=1) * 1e-3 - torch.tril(torch.ones_like(cov), -1) * 1e-3
    skewed.requires_grad_()
    # Used through its symmetric part: a skew perturbation changes nothing.
    torch.testing.assert_close(gtorch.log_prob(x, w, mu, skewed), gtorch.log_prob(x, w, mu, cov), rtol=0, atol=0)
    gtorch.log_prob(x, w, mu, skewed).sum().backward()
    torch.testing.assert_close(skewed.grad, skewed.grad.mT, rtol=0, atol=0)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_double_backward_is_refused(name):
    """create_graph=True is an error, not second derivatives that would silently be zero."""
    x, w, mu, cov = tensors()
    out = FUNCTIONS[name](x, w, mu, cov).sum()
    with pytest.raises(RuntimeError, match="first derivatives only"):
        torch.autograd.grad(out, x, create_graph=True)
    with pytest.raises(RuntimeError, match="first derivatives only"):
        torch.autograd.functional.hessian(lambda m: FUNCTIONS[name](x, w, m, cov).sum(), mu)


def test_modified_in_place_after_forward_is_refused():
    x, w, mu, cov = tensors()
    out = gtorch.log_prob(x, w, mu, cov)
    with torch.no_grad():
        mu += 1.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


# ---------------------------------------------------------------- memory and layout


def test_zero_copy_in_and_out(monkeypatch):
    """Contiguous X reaches the native kernel as the tensor's own memory; results are NumPy's memory."""
    seen = {}
    original = gmmcore._native.forward

    def recording(*args):
        seen["X"] = args[3]
        seen["out"] = original(*args)
        return seen["out"]

    monkeypatch.setattr(gmmcore._native, "forward", recording)
    x, w, mu, cov = tensors()
    y = gtorch.component_log_prob(x, w, mu, cov)
    assert seen["X"].ctypes.data == x.data_ptr()
    assert y.data_ptr() == seen["out"].ctypes.data


def test_non_contiguous_and_expanded_inputs():
    x, w, mu, cov = tensors(requires_grad=False)
    xt = x.T.contiguous().T.requires_grad_()  # Fortran order
    assert not xt.is_contiguous()
    torch.testing.assert_close(gtorch.log_prob(xt, w, mu, cov), gtorch.log_prob(x, w, mu, cov), rtol=0, atol=0)
    gtorch.log_prob(xt, w, mu, cov).sum().backward()
    assert xt.grad.shape == x.shape
    # A single covariance shared by every component, as a stride-0 view.
    shared = cov[0].expand(3, 3, 3)
    torch.testing.assert_close(
        gtorch.log_prob(x, w, mu, shared), gtorch.log_prob(x, w, mu, shared.contiguous()), rtol=0, atol=0
    )


def test_inputs_are_not_modified():
    inputs = tensors()
    before = [t.detach().clone() for t in inputs]
    gtorch.log_prob(*inputs).sum().backward()
    gtorch.component_log_prob(*inputs).sum().backward()
    for name, t, b in zip(NAMES, inputs, before):
        assert torch.equal(t.detach(), b), name


# ---------------------------------------------------------------- hostile input


@pytest.mark.parametrize("name", FUNCTIONS)
def test_bad_input_is_a_clear_error(name):
    f = FUNCTIONS[name]
    x, w, mu, cov = tensors(requires_grad=False)
    with pytest.raises(TypeError, match="share one dtype"):
        f(x.float(), w, mu, cov)
    with pytest.raises(TypeError, match="float32 or float64"):
        f(x, w, mu, cov.to(torch.float16))
    with pytest.raises(TypeError, match="float32 or float64"):
        f(x.long(), w, mu, cov)
    with pytest.raises(TypeError, match="torch.Tensor"):
        f(x.numpy(), w, mu, cov)
    with pytest.raises(ValueError, match="on the CPU: means is on meta"):
        f(x, w, mu.to("meta"), cov)
    with pytest.raises(ValueError, match="X has shape"):
        f(x[:, :2], w, mu, cov)
    with pytest.raises(ValueError, match="X has shape"):
        f(x[0], w, mu, cov)
    with pytest.raises(ValueError, match="covariances has shape"):
        f(x, w, mu, cov[:2])
    with pytest.raises(ValueError, match="means has shape"):
        f(x, w, mu[:, None], cov)
    bad = x.clone()
    bad[5, 1] = float("nan")
    with pytest.raises(ValueError, match="X"):
        f(bad, w, mu, cov)
    with pytest.raises(ValueError, match="weights"):
        f(x, torch.tensor([0.5, float("nan"), 0.5], dtype=torch.float64), mu, cov)
    with pytest.raises(ValueError, match="weights"):
        f(x, torch.tensor([1.5, -0.5, 0.0], dtype=torch.float64), mu, cov)
    with pytest.raises(ValueError, match="positive sum"):
        f(x, torch.zeros(3, dtype=torch.float64), mu, cov)
    with pytest.raises(np.linalg.LinAlgError, match=r"covariances\[1\] is not positive definite"):
        f(x, w, mu, torch.stack([cov[0], -cov[1], cov[2]]))


def test_upstream_nan_gradient_is_an_error():
    x, w, mu, cov = tensors()
    out = gtorch.log_prob(x, w, mu, cov)
    with pytest.raises(ValueError, match="grad_output"):
        out.backward(torch.full_like(out, float("nan")))


def test_zero_weight_follows_ieee_rules_for_its_own_gradient_only():
    x, w, mu, cov = tensors(requires_grad=False)
    w = torch.tensor([0.5, 0.0, 0.5], dtype=torch.float64, requires_grad=True)
    out = gtorch.log_prob(x, w, mu, cov)
    assert torch.isfinite(out).all()
    out.sum().backward()
    assert torch.isnan(w.grad[1]) and torch.isfinite(w.grad[[0, 2]]).all()


# ---------------------------------------------------------------- the module


@pytest.fixture(scope="module")
def fitted():
    X = make_problem(600, 2, 3, seed=4).X
    gm = gmmcore.GaussianMixture(3, tol=1e-12, max_iter=1000, reg_covar=0.0, random_state=0).fit(X)
    assert gm.converged_
    return gm, X


def test_module_from_and_to_gaussian_mixture(fitted):
    gm, X = fitted
    module = gtorch.GaussianMixtureModule.from_gaussian_mixture(gm)
    assert module.means.dtype == torch.float64
    with torch.no_grad():
        np.testing.assert_allclose(module.weights().numpy(), gm.weights_, rtol=1e-13)
        np.testing.assert_allclose(module.means.numpy(), gm.means_, rtol=1e-13)
        np.testing.assert_allclose(module.covariances().numpy(), gm.covariances_, rtol=1e-12)
        np.testing.assert_allclose(module.log_prob(torch.from_numpy(X)).numpy(), gm.score_samples(X), rtol=1e-12)
    back = module.to_gaussian_mixture(reg_covar=0.0)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
        np.testing.assert_allclose(getattr(back, name), getattr(gm, name), rtol=1e-10, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(back.score_samples(X), gm.score_samples(X), rtol=1e-12)
    assert back.n_features_in_ == 2 and back.predict(X).shape == (600,)
    # It stays an estimator: a warm-started EM fit continues from the module's parameters (at EM's optimum,
    # where 5 more iterations move the means by less than 1e-4).
    back.set_params(warm_start=True, max_iter=5, tol=0.0)
    with pytest.warns(Warning, match="did not converge"):
        back.fit(X)
    np.testing.assert_allclose(back.means_, gm.means_, atol=1e-4)


def test_module_to_gaussian_mixture_with_factors_that_pivot():
    """Cholesky factors with off-diagonal entries above their diagonal: the estimator's factors stay triangular."""
    X = np.random.default_rng(4).normal(size=(300, 3))
    module = gtorch.GaussianMixtureModule(2, 3)
    with torch.no_grad():
        module.cholesky_factors.copy_(torch.tensor([[[0.1, 0, 0], [2.0, 0.2, 0], [-3.0, 1.5, 0.1]]] * 2))
    back = module.to_gaussian_mixture()
    assert np.array_equal(back.precisions_cholesky_, np.triu(back.precisions_cholesky_))
    with torch.no_grad():
        np.testing.assert_allclose(back.score_samples(X), module.log_prob(torch.from_numpy(X)).numpy(), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", ["tied", "diag", "spherical"])
def test_module_from_other_covariance_types_and_float32(fitted, covariance_type):
    _, X = fitted
    gm = gmmcore.GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X.astype(np.float32))
    module = gtorch.GaussianMixtureModule.from_gaussian_mixture(gm)
    assert module.means.dtype == torch.float32
    with torch.no_grad():
        got = module.log_prob(torch.from_numpy(X.astype(np.float32))).numpy()
    np.testing.assert_allclose(got, gm.score_samples(X.astype(np.float32)), rtol=1e-4, atol=1e-4)


def test_module_refuses_unfitted_and_bad_settings():
    with pytest.raises(ValueError, match="not fitted"):
        gtorch.GaussianMixtureModule.from_gaussian_mixture(gmmcore.GaussianMixture(2))
    with pytest.raises(TypeError, match="dtype"):
        gtorch.GaussianMixtureModule(2, 2, dtype=torch.float16)
    with pytest.raises(ValueError, match="n_components"):
        gtorch.GaussianMixtureModule(0, 2)


def test_module_sample_shapes_dtype_and_statistics(fitted):
    gm, _ = fitted
    module = gtorch.GaussianMixtureModule.from_gaussian_mixture(gm)
    samples, labels = module.sample(40_000, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (40_000, 2) and samples.dtype == torch.float64
    assert labels.shape == (40_000,) and int(labels.min()) >= 0 and int(labels.max()) <= 2
    counts = torch.bincount(labels, minlength=3).double() / 40_000
    np.testing.assert_allclose(counts.numpy(), gm.weights_, atol=0.01)
    for k in range(3):
        chosen = samples[labels == k].detach().numpy()
        # About 13,000 samples per component: 5 standard errors of the mean, 4 of the variance.
        scale = np.abs(gm.covariances_[k]).max()
        np.testing.assert_allclose(chosen.mean(axis=0), gm.means_[k], atol=5 * np.sqrt(scale / 13_000))
        np.testing.assert_allclose(np.cov(chosen.T), gm.covariances_[k], atol=4 * np.sqrt(2 / 13_000) * scale)
    # Reparameterised: the samples carry gradients to the means and factors.
    samples.sum().backward()
    assert module.means.grad is not None and module.cholesky_factors.grad is not None
    first, second = (module.sample(5, generator=torch.Generator().manual_seed(1)) for _ in range(2))
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    assert module.sample(0)[0].shape == (0, 2)


def test_adam_reaches_the_em_optimum(fitted):
    """Adam on the mean NLL through gmmcore.torch, from means moved off EM's, equal weights and identity
    covariances, reaches the mean log-likelihood of EM's optimum (reg_covar = 0) within 1e-6 nats per
    sample in 400 steps (it is there to 1e-10 after about 300), and not above it."""
    gm, X = fitted
    em_score = gm.score(X)
    torch.manual_seed(0)
    module = gtorch.GaussianMixtureModule(3, 2)
    with torch.no_grad():
        module.means.copy_(torch.from_numpy(gm.means_) + 0.5 * torch.randn(3, 2, dtype=torch.float64))
    x = torch.from_numpy(X)
    optimiser = torch.optim.Adam(module.parameters(), lr=0.05)
    for _ in range(400):
        optimiser.zero_grad()
        loss = -module.log_prob(x).mean()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        score = module.log_prob(x).mean().item()
    assert em_score - 1e-6 <= score <= em_score + 1e-9, (score, em_score)


def test_import_gmmcore_does_not_import_torch():
    code = "import sys, gmmcore; gmmcore.GaussianMixture; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
