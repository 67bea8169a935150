// Variational inference (special.hpp, variational.hpp, variational_fit.hpp):
// digamma against known values, the E-step's entropy term against the
// responsibilities it came from, the variational M-step against a plain-loop
// reference of the Normal-Wishart update, the lower bound's monotonicity and
// the checks of the priors and posteriors.
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "check.hpp"
#include "problems.hpp"

namespace variational_test {

using namespace gmmcore_test;
using gmmcore::CovarianceType;
using gmmcore::FitOptions;
using gmmcore::VariationalMixture;
using gmmcore::VariationalPriors;
using gmmcore::WeightPrior;

constexpr double kEulerGamma = 0.57721566490153286060651209008240243;

GMMCORE_TEST(variational, digamma_known_values) {
  CHECK_CLOSE(gmmcore::digamma(1.0), -kEulerGamma, 1e-15, 0);
  CHECK_CLOSE(gmmcore::digamma(0.5), -kEulerGamma - 2 * std::log(2.0), 1e-15, 0);
  CHECK_CLOSE(gmmcore::digamma(0.25), -kEulerGamma - M_PI / 2 - 3 * std::log(2.0), 1e-15, 0);
  // psi(n) = H_{n-1} - gamma, across the switch to the asymptotic series at 10.
  double harmonic = 0;
  for (int n = 1; n <= 40; ++n) {
    CHECK_CLOSE(gmmcore::digamma(double(n)), harmonic - kEulerGamma, 2e-15, 0);
    harmonic += 1.0 / n;
  }
  // psi(x + 1) = psi(x) + 1/x at non-integers, small and large.
  for (double x : {0.3, 1.4616321449683622, 7.9, 9.5, 12.25, 1e3, 1e8})
    CHECK_CLOSE(gmmcore::digamma(x + 1), gmmcore::digamma(x) + 1 / x, 2e-15, 2e-16);
  CHECK_CLOSE(gmmcore::digamma(1e15), std::log(1e15) - 0.5e-15, 1e-16, 0);
  CHECK(std::isnan(gmmcore::digamma(0.0)));
  CHECK(std::isnan(gmmcore::digamma(-2.5)));
  CHECK(std::isnan(gmmcore::digamma(std::numeric_limits<double>::quiet_NaN())));
}

// softmax_cols_inplace's r_log_r against sum_k r log r of the responsibilities
// it returns (rows past the packets, -inf entries and an all -inf row included).
template <class T>
void check_softmax_entropy() {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal(0, 30);
  for (const Index B : {Index(1), Index(7), Index(37), Index(300)}) {
    for (const Index K : {Index(1), Index(2), Index(9)}) {
      gmmcore::ColMatrix<T> y(B, K);
      for (Index i = 0; i < B; ++i)
        for (Index k = 0; k < K; ++k) y(i, k) = T(normal(rng));
      if (K > 1) y(0, 1) = -std::numeric_limits<T>::infinity();
      if (B > 5) y.row(5).setConstant(-std::numeric_limits<T>::infinity());
      gmmcore::Vector<T> lse(B), r_log_r(B), plain_lse(B);
      gmmcore::ColMatrix<T> plain = y;
      gmmcore::detail::softmax_cols_inplace<T>(plain, plain_lse);
      gmmcore::detail::softmax_cols_inplace<T>(y, lse, r_log_r);
      CHECK(y == plain);
      CHECK(lse == plain_lse);
      for (Index i = 0; i < B; ++i) {
        double want = 0;
        for (Index k = 0; k < K; ++k)
          if (y(i, k) > T(0)) want += double(y(i, k)) * std::log(double(y(i, k)));
        CHECK_CLOSE(r_log_r(i), want, sizeof(T) == 4 ? 1e-4 : 1e-12, sizeof(T) == 4 ? 1e-5 : 1e-13);
      }
    }
  }
}

GMMCORE_TEST(variational, softmax_entropy_float64) { check_softmax_entropy<double>(); }
GMMCORE_TEST(variational, softmax_entropy_float32) { check_softmax_entropy<float>(); }

VariationalPriors priors_for(CovarianceType type, WeightPrior weight_prior, Index D) {
  VariationalPriors p;
  p.weight_prior = weight_prior;
  p.weight_concentration = 0.3;
  p.mean_precision = 0.7;
  p.mean = Eigen::VectorXd::LinSpaced(D, -1, 2);
  p.degrees_of_freedom = D + 0.5;
  const auto [rows, cols] = gmmcore::detail::covariance_prior_shape(type, D);
  if (rows == D) {
    Eigen::MatrixXd a = Eigen::MatrixXd::Identity(D, D) * 1.5;
    a(0, D - 1) = a(D - 1, 0) = 0.4;
    p.covariance = a;
  } else {
    p.covariance = Eigen::RowVectorXd::LinSpaced(cols, 0.5, 2);
  }
  return p;
}

// The variational M-step of soft responsibilities r (N, K) on x, written from
// the formulas of docs/math.md#math-variational with plain loops in double.
struct Reference {
  Eigen::MatrixXd weight_concentration, means, covariances;
  Eigen::VectorXd mean_precision, degrees_of_freedom;
};

Reference reference_m_step(const RowMatrix<double>& x, const Eigen::MatrixXd& r, CovarianceType type,
                           const VariationalPriors& p, double reg) {
  const Index N = x.rows(), D = x.cols(), K = r.cols();
  const double eps10 = 10 * std::numeric_limits<double>::epsilon();
  Eigen::VectorXd nk = r.colwise().sum().transpose().array() + eps10;
  Eigen::MatrixXd xk = (r.transpose() * x).array().colwise() / nk.array();
  std::vector<Eigen::MatrixXd> sk(K, Eigen::MatrixXd::Zero(D, D));
  for (Index k = 0; k < K; ++k) {
    for (Index i = 0; i < N; ++i) {
      const Eigen::VectorXd d = (x.row(i) - xk.row(k)).transpose();
      sk[k] += r(i, k) * d * d.transpose();
    }
    sk[k] /= nk(k);
  }
  Reference out;
  if (p.weight_prior == WeightPrior::dirichlet_process) {
    out.weight_concentration.resize(2, K);
    for (Index k = 0; k < K; ++k) {
      out.weight_concentration(0, k) = 1 + nk(k);
      out.weight_concentration(1, k) = p.weight_concentration + nk.tail(K - 1 - k).sum();
    }
  } else {
    out.weight_concentration = (p.weight_concentration + nk.array()).transpose();
  }
  out.mean_precision = p.mean_precision + nk.array();
  out.means.resize(K, D);
  for (Index k = 0; k < K; ++k)
    out.means.row(k) = (p.mean_precision * p.mean.transpose() + nk(k) * xk.row(k)) / out.mean_precision(k);
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(D, D);
  auto prior_matrix = [&]() -> Eigen::MatrixXd {
    if (type == CovarianceType::diag) return p.covariance.row(0).transpose().asDiagonal();
    if (type == CovarianceType::spherical) return p.covariance(0, 0) * I;
    return p.covariance;
  };
  // Full Normal-Wishart scale of component k: W0^-1 + N_k S_k + N_k beta0 / beta_k d d^T, d = x_k - m_0.
  auto scale = [&](Index k) {
    const Eigen::VectorXd d = (xk.row(k).transpose() - p.mean);
    return Eigen::MatrixXd(nk(k) * (sk[k] + reg * I) +
                           nk(k) * p.mean_precision / out.mean_precision(k) * d * d.transpose());
  };
  switch (type) {
    case CovarianceType::full:
      out.degrees_of_freedom = p.degrees_of_freedom + nk.array();
      out.covariances.resize(K, D * D);
      for (Index k = 0; k < K; ++k) {
        const Eigen::MatrixXd c = (prior_matrix() + scale(k)) / out.degrees_of_freedom(k);
        for (Index i = 0; i < D; ++i)
          for (Index j = 0; j < D; ++j) out.covariances(k, i * D + j) = c(i, j);
      }
      break;
    case CovarianceType::tied: {
      // One scale: the pooled S = sum_k N_k S_k / sum_k N_k, weighted by sum N / K.
      out.degrees_of_freedom = Eigen::VectorXd::Constant(1, p.degrees_of_freedom + nk.sum() / K);
      Eigen::MatrixXd pooled = Eigen::MatrixXd::Zero(D, D), means_term = Eigen::MatrixXd::Zero(D, D);
      for (Index k = 0; k < K; ++k) {
        pooled += nk(k) * sk[k];
        const Eigen::VectorXd d = (xk.row(k).transpose() - p.mean);
        means_term += nk(k) / out.mean_precision(k) * d * d.transpose();
      }
      pooled = pooled / nk.sum() + reg * I;
      const Eigen::MatrixXd c =
          (prior_matrix() + pooled * nk.sum() / K + p.mean_precision / K * means_term) / out.degrees_of_freedom(0);
      out.covariances.resize(1, D * D);
      for (Index i = 0; i < D; ++i)
        for (Index j = 0; j < D; ++j) out.covariances(0, i * D + j) = c(i, j);
      break;
    }
    case CovarianceType::diag:
    case CovarianceType::spherical:
      out.degrees_of_freedom = p.degrees_of_freedom + nk.array();
      out.covariances.resize(K, type == CovarianceType::diag ? D : 1);
      for (Index k = 0; k < K; ++k) {
        const Eigen::VectorXd diag = (prior_matrix() + scale(k)).diagonal() / out.degrees_of_freedom(k);
        if (type == CovarianceType::diag)
          out.covariances.row(k) = diag.transpose();
        else
          out.covariances(k, 0) = diag.mean();
      }
      break;
  }
  return out;
}

GMMCORE_TEST(variational, m_step_matches_reference) {
  const Index N = 90, D = 3, K = 4;
  const RowMatrix<double> x = make_data<double>(make_centres(K, D, 4, 2, 1), N, 2);
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> uniform(0.01, 1);
  Eigen::MatrixXd r(N, K);
  for (Index i = 0; i < N; ++i) {
    for (Index k = 0; k < K; ++k) r(i, k) = uniform(rng);
    r.row(i) /= r.row(i).sum();
  }
  // Statistics of r: the M-step's only input (around the origin: shifts are any points).
  const Vector<double> none;
  for (const CovarianceType type : kTypes) {
    for (const WeightPrior wp : {WeightPrior::dirichlet_process, WeightPrior::dirichlet_distribution}) {
      const std::string what = std::string(gmmcore::covariance_type_name(type)) +
                               (wp == WeightPrior::dirichlet_process ? " process" : " distribution");
      gmmcore::Statistics<double> st = gmmcore::zero_statistics(type, RowMatrix<double>(RowMatrix<double>::Zero(K, D)));
      for (Index i = 0; i < N; ++i)
        for (Index k = 0; k < K; ++k) {
          st.weight_sums(k) += r(i, k);
          st.sums.row(k) += r(i, k) * x.row(i);
          if (gmmcore::is_diagonal(type))
            st.scatters.row(k) += r(i, k) * x.row(i).array().square().matrix();
          else
            for (Index a = 0; a < D; ++a)
              for (Index b = 0; b < D; ++b) st.scatters(k, a * D + b) += r(i, k) * x(i, a) * x(i, b);
        }
      st.total_weight = double(N);
      st.n_samples = N;
      const VariationalPriors p = priors_for(type, wp, D);
      const VariationalMixture<double> vm = gmmcore::variational_m_step<double>(st, p, 1e-3);
      const Reference want = reference_m_step(x, r, type, p, 1e-3);
      CHECK_MSG(vm.weight_concentration.isApprox(want.weight_concentration, 1e-12), what);
      CHECK_MSG(vm.mean_precision.isApprox(want.mean_precision, 1e-12), what);
      CHECK_MSG(vm.means.isApprox(want.means, 1e-12), what);
      CHECK_MSG(vm.degrees_of_freedom.isApprox(want.degrees_of_freedom, 1e-12), what);
      CHECK_MSG(vm.covariances.isApprox(want.covariances, 1e-10), what);
      CHECK_CLOSE(vm.weights.sum(), 1.0, 1e-14, 0);
    }
  }
}

// The fit's lower bound never decreases, whatever the type and prior, and
// the E-step's entropy term equals sum r log r of the variational
// responsibilities (expectation under factorize_variational).
template <class T>
void check_fit_properties() {
  const Index N = 240, D = 3, K = 5;
  const RowMatrix<T> x = make_data<T>(make_centres(3, D, 6, 1, 7), N, 8);
  const Vector<T> w = make_weights<T>(N, 9);
  for (const CovarianceType type : kTypes) {
    for (const WeightPrior wp : {WeightPrior::dirichlet_process, WeightPrior::dirichlet_distribution}) {
      const std::string what = std::string(gmmcore::covariance_type_name(type)) + " " + float_name<T>();
      FitOptions opt;
      opt.covariance_type = type;
      opt.n_components = K;
      opt.max_iter = 60;
      opt.tol = 0;
      opt.seed = 4;
      const VariationalPriors p = priors_for(type, wp, D);
      const auto fit = gmmcore::fit_variational<T>(x, w, opt, p, nullptr, -std::numeric_limits<double>::infinity());
      CHECK_MSG(fit.lower_bounds.size() == 60, what);
      for (size_t i = 1; i < fit.lower_bounds.size(); ++i)
        CHECK_MSG(fit.lower_bounds[i] >=
                      fit.lower_bounds[i - 1] - (sizeof(T) == 4 ? 1e-2 : 1e-7) * std::abs(fit.lower_bounds[i - 1]),
                  what);
      // sum_i w_i sum_k r log r of one E-step, two ways.
      const auto f = gmmcore::factorize_variational(fit.mixture);
      const RowMatrix<T> r = gmmcore::expectation(f, x);
      double want = 0;
      for (Index i = 0; i < N; ++i)
        for (Index k = 0; k < K; ++k)
          if (r(i, k) > T(0)) want += double(w(i)) * double(r(i, k)) * std::log(double(r(i, k)));
      double got = 0;
      (void)gmmcore::detail::e_step_stats<T>(f, type, x, w, false, &got);
      CHECK_CLOSE(got, want, sizeof(T) == 4 ? 1e-4 : 1e-10, 1e-6);
      // A warm start from the result goes on from its lower bound.
      opt.max_iter = 1;
      const auto warm = gmmcore::fit_variational<T>(x, w, opt, p, &fit.mixture, fit.lower_bound);
      CHECK_MSG(warm.n_iter == 1, what);
      CHECK_MSG(warm.lower_bound >= fit.lower_bound - 1e-2 * std::abs(fit.lower_bound), what);
    }
  }
}

GMMCORE_TEST(variational, fit_properties_float64) { check_fit_properties<double>(); }
GMMCORE_TEST(variational, fit_properties_float32) { check_fit_properties<float>(); }

GMMCORE_TEST(variational, rejects_bad_priors_and_posteriors) {
  const Index D = 2;
  const auto ok = priors_for(CovarianceType::full, WeightPrior::dirichlet_process, D);
  CHECK(([&] {
    gmmcore::check_priors(ok, CovarianceType::full, D);
    return true;
  })());
  // Singular (semi-definite) scales are priors too: the data's covariance in a subspace.
  VariationalPriors singular = ok;
  singular.covariance.setZero();
  CHECK(([&] {
    gmmcore::check_priors(singular, CovarianceType::tied, D);
    return true;
  })());
  auto bad = [&](auto edit, CovarianceType type = CovarianceType::full) {
    VariationalPriors p = priors_for(type, WeightPrior::dirichlet_process, D);
    edit(p);
    CHECK_THROWS(gmmcore::check_priors(p, type, D), std::invalid_argument);
  };
  bad([](VariationalPriors& p) { p.weight_concentration = 0; });
  bad([](VariationalPriors& p) { p.weight_concentration = std::numeric_limits<double>::infinity(); });
  bad([](VariationalPriors& p) { p.mean_precision = -1; });
  bad([](VariationalPriors& p) { p.mean = Eigen::VectorXd::Zero(3); });
  bad([](VariationalPriors& p) { p.mean(0) = std::numeric_limits<double>::quiet_NaN(); });
  bad([](VariationalPriors& p) { p.degrees_of_freedom = 1.0; });  // needs > D - 1 = 1
  bad([](VariationalPriors& p) { p.covariance(0, 1) = 5; });      // not symmetric
  bad([](VariationalPriors& p) { p.covariance = -Eigen::MatrixXd::Identity(2, 2); });
  bad([](VariationalPriors& p) { p.covariance = Eigen::MatrixXd::Identity(3, 3); });
  bad([](VariationalPriors& p) { p.covariance(0, 0) = -1e-3; }, CovarianceType::diag);
  bad([](VariationalPriors& p) { p.covariance = Eigen::MatrixXd::Ones(1, 2); }, CovarianceType::spherical);
  CHECK_THROWS(gmmcore::parse_weight_prior("dirichlet"), std::invalid_argument);

  // A posterior with a bad part is refused before any evaluation.
  const RowMatrix<double> x = make_data<double>(make_centres(2, D, 5, 0, 1), 40, 2);
  FitOptions opt;
  opt.n_components = 2;
  opt.max_iter = 3;
  const auto fit =
      gmmcore::fit_variational<double>(x, Vector<double>(), opt, ok, nullptr, -std::numeric_limits<double>::infinity());
  VariationalMixture<double> vm = fit.mixture;
  vm.mean_precision(0) = 0;
  CHECK_THROWS(gmmcore::factorize_variational(vm), std::invalid_argument);
  vm = fit.mixture;
  vm.weight_concentration = RowMatrix<double>::Ones(1, 2);  // a Dirichlet's shape for a process
  CHECK_THROWS(gmmcore::factorize_variational(vm), std::invalid_argument);
  vm = fit.mixture;
  vm.degrees_of_freedom(1) = 0.5;
  CHECK_THROWS(gmmcore::fit_variational<double>(x, Vector<double>(), opt, ok, &vm, 0.0), std::invalid_argument);
  opt.n_components = 3;
  CHECK_THROWS(gmmcore::fit_variational<double>(x, Vector<double>(), opt, ok, &fit.mixture, 0.0),
               std::invalid_argument);
}

}  // namespace variational_test
