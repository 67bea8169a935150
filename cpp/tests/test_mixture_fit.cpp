// The estimator path (mixture.hpp, mixture_fit.hpp, kmeans.hpp): fit_mixture
// against a plain-loop double reference of scikit-learn's EM for the four
// covariance types, every initialisation, k-means, sample weights, warm
// start, degenerate data and n_init restarts.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <Eigen/Cholesky>

#include "check.hpp"
#include "problems.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

// Everything, the cases included, in a named namespace: the unity build
// shares one translation unit between test files, and unqualified names here
// must not meet other files' helpers (e.g. test_threads.cpp's `identical`).
namespace mixture_fit_test {

using namespace gmmcore_test;
using gmmcore::CovarianceType;
using gmmcore::FitOptions;
using gmmcore::FitResult;
using gmmcore::InitialParams;
using gmmcore::InitMethod;
using gmmcore::Mixture;

const char* name_of(CovarianceType t) {
  switch (t) {
    case CovarianceType::full: return "full";
    case CovarianceType::tied: return "tied";
    case CovarianceType::diag: return "diag";
    case CovarianceType::spherical: return "spherical";
  }
  return "?";
}

const char* name_of(InitMethod m) {
  switch (m) {
    case InitMethod::kmeans: return "kmeans";
    case InitMethod::kmeans_plusplus: return "k-means++";
    case InitMethod::random: return "random";
    case InitMethod::random_from_data: return "random_from_data";
  }
  return "?";
}

// ---------------------------------------------------------------------------
// Comparisons

// Every entry of got within rtol of want, with atol = rtol * max |want| (so
// that entries near 0, e.g. off-diagonal covariances, are compared on the
// matrix's scale). Reports the first mismatch and how many there are.
template <class A, class B>
void all_close(const std::string& what, const Eigen::MatrixBase<A>& got, const Eigen::MatrixBase<B>& want, double rtol,
               const char* file, int line) {
  if (got.rows() != want.rows() || got.cols() != want.cols()) {
    std::ostringstream msg;
    msg << what << ": shape (" << got.rows() << ", " << got.cols() << ") vs (" << want.rows() << ", " << want.cols()
        << ")";
    gmmcore_test::fail(file, line, msg.str());
    return;
  }
  double scale = 0;
  for (Index i = 0; i < want.rows(); ++i)
    for (Index j = 0; j < want.cols(); ++j) scale = std::max(scale, std::abs(double(want(i, j))));
  const double atol = rtol * scale;
  Index bad = 0, bi = 0, bj = 0;
  for (Index i = 0; i < want.rows(); ++i)
    for (Index j = 0; j < want.cols(); ++j)
      if (!gmmcore_test::close(double(got(i, j)), double(want(i, j)), rtol, atol)) {
        if (bad++ == 0) bi = i, bj = j;
      }
  if (bad) {
    std::ostringstream msg;
    msg.precision(17);
    msg << what << ": " << bad << " entries differ, first (" << bi << ", " << bj << "): " << double(got(bi, bj))
        << " vs " << double(want(bi, bj)) << " (rtol " << rtol << ", atol " << atol << ")";
    gmmcore_test::fail(file, line, msg.str());
  }
}
#define CHECK_ALL_CLOSE(what, got, want, rtol) all_close((what), (got), (want), (rtol), __FILE__, __LINE__)

template <class A, class B>
bool identical(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && (a.array() == b.array()).all();
}

template <class T>
bool identical(const Mixture<T>& a, const Mixture<T>& b) {
  return a.covariance_type == b.covariance_type && identical(a.weights, b.weights) && identical(a.means, b.means) &&
         identical(a.covariances, b.covariances) && identical(a.precisions_cholesky, b.precisions_cholesky);
}

template <class T>
bool identical(const FitResult<T>& a, const FitResult<T>& b) {
  return identical(a.mixture, b.mixture) && a.converged == b.converged && a.n_iter == b.n_iter &&
         a.lower_bound == b.lower_bound && a.lower_bounds == b.lower_bounds;
}

template <class T>
bool all_finite(const Mixture<T>& m) {
  return m.weights.allFinite() && m.means.allFinite() && m.covariances.allFinite() && m.precisions_cholesky.allFinite();
}

// Every stored covariance block positive definite (double LLT) and every
// precision Cholesky diagonal positive.
template <class T>
bool positive_definite(const Mixture<T>& m) {
  const Index D = m.n_features();
  for (Index k = 0; k < m.covariances.rows(); ++k) {
    if (gmmcore::is_diagonal(m.covariance_type)) {
      if (!(m.covariances.row(k).array() > T(0)).all() || !(m.precisions_cholesky.row(k).array() > T(0)).all())
        return false;
      continue;
    }
    const Square<double> s = Eigen::Map<const RowMatrix<T>>(m.covariances.row(k).data(), D, D).template cast<double>();
    Eigen::LLT<Square<double>> llt(s);
    if (llt.info() != Eigen::Success) return false;
    const Square<T> p = Eigen::Map<const RowMatrix<T>>(m.precisions_cholesky.row(k).data(), D, D);
    if (!(p.diagonal().array() > T(0)).all()) return false;
  }
  return true;
}

// The expected shape of covariances / precisions_cholesky (mixture.hpp's table).
Index cov_rows(CovarianceType t, Index K) { return t == CovarianceType::tied ? 1 : K; }
Index cov_cols(CovarianceType t, Index D) {
  switch (t) {
    case CovarianceType::full:
    case CovarianceType::tied: return D * D;
    case CovarianceType::diag: return D;
    case CovarianceType::spherical: return 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------
// A plain-loop reference of scikit-learn's EM, in double.

struct RefMixture {
  CovarianceType type = CovarianceType::full;
  Vector<double> weights;
  RowMatrix<double> means;
  RowMatrix<double> covariances;  // mixture.hpp's layout
};

template <class T>
RefMixture ref_of(const Mixture<T>& m) {
  return {m.covariance_type, m.weights.template cast<double>(), m.means.template cast<double>(),
          m.covariances.template cast<double>()};
}

// Sigma_k as a dense D x D matrix.
Square<double> ref_sigma(const RefMixture& m, Index k) {
  const Index D = m.means.cols();
  switch (m.type) {
    case CovarianceType::full: return Eigen::Map<const RowMatrix<double>>(m.covariances.row(k).data(), D, D);
    case CovarianceType::tied: return Eigen::Map<const RowMatrix<double>>(m.covariances.row(0).data(), D, D);
    case CovarianceType::diag: {
      Square<double> s = Square<double>::Zero(D, D);
      for (Index d = 0; d < D; ++d) s(d, d) = m.covariances(k, d);
      return s;
    }
    case CovarianceType::spherical: return m.covariances(k, 0) * Square<double>::Identity(D, D);
  }
  return {};
}

// precisions_cholesky in the layout of the covariances: P = L^{-T} with
// Sigma = L L^T (full, tied); 1 / sqrt(variance) (diag, spherical).
RowMatrix<double> ref_precisions_cholesky(const RefMixture& m) {
  const Index D = m.means.cols();
  RowMatrix<double> p(m.covariances.rows(), m.covariances.cols());
  if (gmmcore::is_diagonal(m.type)) {
    for (Index k = 0; k < p.rows(); ++k)
      for (Index j = 0; j < p.cols(); ++j) p(k, j) = 1.0 / std::sqrt(m.covariances(k, j));
    return p;
  }
  for (Index k = 0; k < p.rows(); ++k) {
    const Square<double> s = Eigen::Map<const RowMatrix<double>>(m.covariances.row(k).data(), D, D);
    Eigen::LLT<Square<double>> llt(s);
    const Square<double> l = llt.matrixL();
    const Square<double> l_inv = l.triangularView<Eigen::Lower>().solve(Square<double>::Identity(D, D));
    Eigen::Map<RowMatrix<double>>(p.row(k).data(), D, D) = l_inv.transpose();
  }
  return p;
}

struct RefEStep {
  RowMatrix<double> log_prob;  // (N, K): log w_k + log N(x_i | mu_k, Sigma_k)
  Vector<double> log_p;        // (N): log p(x_i)
  RowMatrix<double> resp;      // (N, K)
};

RefEStep ref_e_step(const RefMixture& m, const RowMatrix<double>& x) {
  const Index N = x.rows(), K = m.means.rows(), D = m.means.cols();
  const double log_2pi = std::log(2 * std::acos(-1.0));
  RefEStep e;
  e.log_prob.resize(N, K);
  for (Index k = 0; k < K; ++k) {
    const Square<double> sigma = ref_sigma(m, k);
    Eigen::LLT<Square<double>> llt(sigma);
    CHECK(llt.info() == Eigen::Success);
    const Square<double> l = llt.matrixL();
    double log_det = 0;
    for (Index d = 0; d < D; ++d) log_det += 2 * std::log(l(d, d));
    const Square<double> inv = llt.solve(Square<double>::Identity(D, D));
    for (Index i = 0; i < N; ++i) {
      const Vector<double> diff = (x.row(i) - m.means.row(k)).transpose();
      const double quad = diff.dot(inv * diff);
      e.log_prob(i, k) = std::log(m.weights(k)) - 0.5 * (D * log_2pi + log_det + quad);
    }
  }
  e.log_p.resize(N);
  e.resp.resize(N, K);
  for (Index i = 0; i < N; ++i) {
    double mx = -std::numeric_limits<double>::infinity();
    for (Index k = 0; k < K; ++k) mx = std::max(mx, e.log_prob(i, k));
    double s = 0;
    for (Index k = 0; k < K; ++k) s += std::exp(e.log_prob(i, k) - mx);
    e.log_p(i) = mx + std::log(s);
    for (Index k = 0; k < K; ++k) e.resp(i, k) = std::exp(e.log_prob(i, k) - e.log_p(i));
  }
  return e;
}

// scikit-learn's M-step (_estimate_gaussian_parameters) with sample weights s:
// N'_k = sum_i s_i r_ik + ten_eps, w = N' / sum N', mu_k = sum_i s_i r_ik x_i / N'_k,
// covariances as in mixture_fit.hpp's header comment.
RefMixture ref_m_step(CovarianceType type, const RowMatrix<double>& x, const Vector<double>& sw,
                      const RowMatrix<double>& resp, double reg, double ten_eps) {
  const Index N = x.rows(), K = resp.cols(), D = x.cols();
  RefMixture m;
  m.type = type;
  Vector<double> nk = Vector<double>::Zero(K);
  m.means = RowMatrix<double>::Zero(K, D);
  for (Index k = 0; k < K; ++k) {
    for (Index i = 0; i < N; ++i) {
      nk(k) += sw(i) * resp(i, k);
      for (Index d = 0; d < D; ++d) m.means(k, d) += sw(i) * resp(i, k) * x(i, d);
    }
    nk(k) += ten_eps;
    for (Index d = 0; d < D; ++d) m.means(k, d) /= nk(k);
  }
  m.weights = nk / nk.sum();
  switch (type) {
    case CovarianceType::full:
    case CovarianceType::tied: {
      m.covariances = RowMatrix<double>::Zero(cov_rows(type, K), D * D);
      Square<double> total = Square<double>::Zero(D, D);
      for (Index k = 0; k < K; ++k) {
        Square<double> scatter = Square<double>::Zero(D, D);
        for (Index i = 0; i < N; ++i)
          for (Index a = 0; a < D; ++a)
            for (Index b = 0; b < D; ++b)
              scatter(a, b) += sw(i) * resp(i, k) * (x(i, a) - m.means(k, a)) * (x(i, b) - m.means(k, b));
        if (type == CovarianceType::tied) {
          total += scatter;
          continue;
        }
        scatter /= nk(k);
        for (Index d = 0; d < D; ++d) scatter(d, d) += reg;
        for (Index a = 0; a < D; ++a)
          for (Index b = 0; b < D; ++b) m.covariances(k, a * D + b) = scatter(a, b);
      }
      if (type == CovarianceType::tied) {
        total /= nk.sum();
        for (Index d = 0; d < D; ++d) total(d, d) += reg;
        for (Index a = 0; a < D; ++a)
          for (Index b = 0; b < D; ++b) m.covariances(0, a * D + b) = total(a, b);
      }
      break;
    }
    case CovarianceType::diag:
    case CovarianceType::spherical: {
      RowMatrix<double> var = RowMatrix<double>::Zero(K, D);
      for (Index k = 0; k < K; ++k)
        for (Index d = 0; d < D; ++d) {
          for (Index i = 0; i < N; ++i) var(k, d) += sw(i) * resp(i, k) * std::pow(x(i, d) - m.means(k, d), 2);
          var(k, d) = var(k, d) / nk(k) + reg;
        }
      if (type == CovarianceType::diag) {
        m.covariances = var;
      } else {
        m.covariances.resize(K, 1);
        for (Index k = 0; k < K; ++k) m.covariances(k, 0) = var.row(k).sum() / double(D);
      }
      break;
    }
  }
  return m;
}

struct RefFit {
  RefMixture mixture;
  std::vector<double> lower_bounds;
};

RefFit ref_fit(RefMixture m, const RowMatrix<double>& x, const Vector<double>& sw, Index max_iter, double reg,
               double ten_eps) {
  RefFit r;
  for (Index it = 0; it < max_iter; ++it) {
    const RefEStep e = ref_e_step(m, x);
    r.lower_bounds.push_back(sw.dot(e.log_p) / sw.sum());
    m = ref_m_step(m.type, x, sw, e.resp, reg, ten_eps);
  }
  r.mixture = m;
  return r;
}

// ---------------------------------------------------------------------------
// Problems

// Complete initial parameters of `type` for K components: weights in
// [0.5, 1.5] normalised, means = rows 0..K-1 of x plus N(0, 0.3^2) noise,
// covariances random SPD (full, tied: A A^T / D + 0.7 I; diag, spherical:
// variances in [0.5, 2]). precisions_cholesky from the covariances (rounded to
// T) in double. `ref` gets the same values as the library sees.
template <class T>
InitialParams<T> make_initial(CovarianceType type, const RowMatrix<T>& x, Index K, unsigned seed, RefMixture& ref) {
  const Index D = x.cols();
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform(0.5, 1.5), variance(0.5, 2.0);
  Vector<double> w(K);
  for (Index k = 0; k < K; ++k) w(k) = uniform(rng);
  w /= w.sum();
  RowMatrix<double> mu(K, D);
  for (Index k = 0; k < K; ++k)
    for (Index d = 0; d < D; ++d) mu(k, d) = double(x(k, d)) + 0.3 * normal(rng);
  RowMatrix<double> cov(cov_rows(type, K), cov_cols(type, D));
  for (Index k = 0; k < cov.rows(); ++k) {
    if (gmmcore::is_diagonal(type)) {
      for (Index j = 0; j < cov.cols(); ++j) cov(k, j) = variance(rng);
      continue;
    }
    Square<double> a(D, D);
    for (Index r = 0; r < D; ++r)
      for (Index c = 0; c < D; ++c) a(r, c) = normal(rng);
    Square<double> s = a * a.transpose() / double(D) + 0.7 * Square<double>::Identity(D, D);
    s = 0.5 * (s + s.transpose()).eval();
    Eigen::Map<RowMatrix<double>>(cov.row(k).data(), D, D) = s;
  }
  InitialParams<T> given;
  given.weights = w.cast<T>();
  given.means = mu.cast<T>();
  given.covariances = cov.cast<T>();
  ref.type = type;
  ref.weights = given.weights.template cast<double>();
  ref.means = given.means.template cast<double>();
  ref.covariances = given.covariances.template cast<double>();
  given.precisions_cholesky = ref_precisions_cholesky(ref).cast<T>();
  return given;
}

// Three blobs of `per_blob` points (N(0, I) noise) whose centres are 10 apart
// (an equilateral triangle); rows interleaved, labels(i) = i % 3.
struct Blobs {
  RowMatrix<double> x;
  std::vector<int> labels;
  RowMatrix<double> centres;
};

Blobs make_blobs(Index per_blob, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Blobs b;
  b.centres.resize(3, 2);
  b.centres << 0.0, 0.0, 10.0, 0.0, 5.0, 5.0 * std::sqrt(3.0);
  b.x.resize(3 * per_blob, 2);
  for (Index i = 0; i < b.x.rows(); ++i) {
    const int j = int(i % 3);
    b.labels.push_back(j);
    for (Index d = 0; d < 2; ++d) b.x(i, d) = b.centres(j, d) + normal(rng);
  }
  return b;
}

template <class T>
FitResult<T> fit(const RowMatrix<T>& x, const Vector<T>& sw, const FitOptions& opt, const InitialParams<T>& given = {},
                 bool warm_start = false, double warm_lower_bound = 0.0,
                 const gmmcore::IterationCallback& callback = {}) {
  return gmmcore::fit_mixture<T>(x, sw, opt, given, warm_start, warm_lower_bound, callback);
}

FitOptions options(CovarianceType type, Index K, Index max_iter, double tol, double reg) {
  FitOptions opt;
  opt.covariance_type = type;
  opt.n_components = K;
  opt.max_iter = max_iter;
  opt.tol = tol;
  opt.reg_covar = reg;
  return opt;
}

// lower_bounds never decrease by more than rtol (EM is monotone).
bool non_decreasing(const std::vector<double>& lb, double rtol) {
  for (size_t j = 1; j < lb.size(); ++j)
    if (!(lb[j] >= lb[j - 1] - rtol * (1 + std::abs(lb[j - 1])))) return false;
  return true;
}

// ---------------------------------------------------------------------------
// 1. fit_mixture against the reference, from given parameters.

template <class T>
void check_fit_against_reference(double rtol) {
  const Index N = 600, K = 3;
  const double reg = 0.05;  // large enough that reg_covar's contribution is checked in float too
  const double ten_eps = 10 * double(std::numeric_limits<T>::epsilon());
  // D = 2 and 6: both scatter paths of accumulate_stats (kFewFeatures = 4).
  for (Index D : {Index(2), Index(6)}) {
    const auto prob = make_problem<T>(N, D, K, unsigned(11 + D));
    const RowMatrix<double> xd = prob.x.template cast<double>();
    Vector<T> weights(N);
    std::mt19937_64 wrng(3);
    std::uniform_real_distribution<double> wdist(0.2, 3.0);
    for (Index i = 0; i < N; ++i) weights(i) = T(wdist(wrng));
    for (CovarianceType type : kTypes)
      for (bool weighted : {false, true})
        for (Index max_iter : {Index(1), Index(3)}) {
          std::ostringstream ctx;
          ctx << float_name<T>() << " " << name_of(type) << " D=" << D << (weighted ? " weighted" : "")
              << " max_iter=" << max_iter;
          const std::string c = ctx.str();
          RefMixture ref0;
          const auto given = make_initial<T>(type, prob.x, K, unsigned(5 + D), ref0);
          const Vector<T> sw = weighted ? weights : Vector<T>();
          const Vector<double> swd =
              weighted ? Vector<double>(weights.template cast<double>()) : Vector<double>(Vector<double>::Ones(N));
          const auto r = fit<T>(prob.x, sw, options(type, K, max_iter, 0.0, reg), given);
          const RefFit ref = ref_fit(ref0, xd, swd, max_iter, reg, ten_eps);

          CHECK(r.mixture.covariance_type == type);
          CHECK(r.n_iter == max_iter);
          CHECK(!r.converged);
          CHECK(r.mixture.covariances.rows() == cov_rows(type, K) && r.mixture.covariances.cols() == cov_cols(type, D));
          CHECK_ALL_CLOSE(c + " weights", r.mixture.weights, ref.mixture.weights, rtol);
          CHECK_ALL_CLOSE(c + " means", r.mixture.means, ref.mixture.means, rtol);
          CHECK_ALL_CLOSE(c + " covariances", r.mixture.covariances, ref.mixture.covariances, rtol);
          CHECK_ALL_CLOSE(c + " precisions_cholesky", r.mixture.precisions_cholesky,
                          ref_precisions_cholesky(ref.mixture), rtol);
          CHECK(r.lower_bounds.size() == ref.lower_bounds.size());
          for (size_t j = 0; j < std::min(r.lower_bounds.size(), ref.lower_bounds.size()); ++j)
            CHECK_CLOSE(r.lower_bounds[j], ref.lower_bounds[j], rtol, rtol);
          CHECK_CLOSE(r.lower_bound, ref.lower_bounds.back(), rtol, rtol);
          CHECK_CLOSE(r.mixture.weights.template cast<double>().sum(), 1.0, rtol, 0);
        }
  }
}

GMMCORE_TEST(mixture_fit, em_matches_reference_float64) { check_fit_against_reference<double>(1e-10); }

GMMCORE_TEST(mixture_fit, em_matches_reference_float32) { check_fit_against_reference<float>(1e-4); }

// The evaluation functions on factorize(Mixture) against the reference E-step
// under the same parameters, for a fitted mixture of each type.
template <class T>
void check_evaluation(double rtol) {
  const Index N = 500, K = 3;
  for (Index D : {Index(3), Index(5)}) {
    const auto prob = make_problem<T>(N, D, K, unsigned(21 + D));
    const RowMatrix<double> xd = prob.x.template cast<double>();
    for (CovarianceType type : kTypes) {
      const std::string c = std::string(float_name<T>()) + " " + name_of(type) + " D=" + std::to_string(D);
      RefMixture ref0;
      const auto given = make_initial<T>(type, prob.x, K, unsigned(D), ref0);
      const auto r = fit<T>(prob.x, Vector<T>(), options(type, K, 4, 0.0, 1e-3), given);
      const auto f = gmmcore::factorize(r.mixture);
      const RefEStep e = ref_e_step(ref_of(r.mixture), xd);
      const Vector<T> ll = gmmcore::log_likelihood(f, prob.x);
      CHECK_ALL_CLOSE(c + " log_likelihood", ll, e.log_p, rtol);
      CHECK_CLOSE(gmmcore::negative_log_likelihood(f, prob.x), -e.log_p.sum(), rtol, 0);
      const RowMatrix<T> resp = gmmcore::expectation(f, prob.x);
      // Responsibilities are probabilities: compare absolutely.
      CHECK((resp.template cast<double>() - e.resp).cwiseAbs().maxCoeff() <= 10 * rtol);
      const auto labels = gmmcore::predict(f, prob.x);
      CHECK(labels.size() == N);
      Index mismatched = 0, compared = 0;
      for (Index i = 0; i < N; ++i) {
        Index best;
        e.log_prob.row(i).maxCoeff(&best);
        Vector<double> row = e.log_prob.row(i).transpose();
        std::sort(row.data(), row.data() + K);
        if (row(K - 1) - row(K - 2) < 1e-3) continue;  // a near tie: either answer is right
        ++compared;
        mismatched += labels(i) != best;
      }
      CHECK(compared > N / 2);
      CHECK(mismatched == 0);
    }
  }
}

GMMCORE_TEST(mixture_fit, evaluation_matches_reference_float64) { check_evaluation<double>(1e-10); }

GMMCORE_TEST(mixture_fit, evaluation_matches_reference_float32) { check_evaluation<float>(1e-4); }

GMMCORE_TEST(mixture_fit, n_parameters_and_precisions) {
  // scikit-learn's _n_parameters for K = 3, D = 4.
  CHECK(gmmcore::n_parameters(CovarianceType::full, 3, 4) == 3 * 10 + 12 + 2);
  CHECK(gmmcore::n_parameters(CovarianceType::tied, 3, 4) == 10 + 12 + 2);
  CHECK(gmmcore::n_parameters(CovarianceType::diag, 3, 4) == 12 + 12 + 2);
  CHECK(gmmcore::n_parameters(CovarianceType::spherical, 3, 4) == 3 + 12 + 2);
  CHECK(gmmcore::n_parameters(CovarianceType::full, 1, 1) == 2);

  // compute_precisions_cholesky: P = L^{-T}; a non-PD covariance throws.
  Mixture<double> m;
  m.covariance_type = CovarianceType::full;
  m.weights = Vector<double>::Constant(2, 0.5);
  m.means = RowMatrix<double>::Zero(2, 2);
  m.covariances.resize(2, 4);
  m.covariances << 4.0, 2.0, 2.0, 3.0, 1.0, 0.0, 0.0, 9.0;
  gmmcore::compute_precisions_cholesky(m);
  RowMatrix<double> want(2, 4);
  // Sigma_0 = L L^T with L = [[2, 0], [1, sqrt 2]]: L^{-T} = [[1/2, -1/(2 sqrt 2)], [0, 1/sqrt 2]].
  want << 0.5, -0.5 / std::sqrt(2.0), 0.0, 1 / std::sqrt(2.0), 1.0, 0.0, 0.0, 1.0 / 3.0;
  CHECK_ALL_CLOSE("precisions_cholesky", m.precisions_cholesky, want, 1e-14);
  m.covariances.row(1) << 1.0, 2.0, 2.0, 1.0;  // eigenvalues 3 and -1
  CHECK_THROWS(gmmcore::compute_precisions_cholesky(m), gmmcore::IllDefinedCovarianceError);
  m.covariance_type = CovarianceType::diag;
  m.covariances.resize(2, 2);
  m.covariances << 4.0, 0.25, 1.0, 0.0;
  CHECK_THROWS(gmmcore::compute_precisions_cholesky(m), gmmcore::IllDefinedCovarianceError);
  m.covariances(1, 1) = 16.0;
  gmmcore::compute_precisions_cholesky(m);
  want.resize(2, 2);
  want << 0.5, 2.0, 1.0, 0.25;
  CHECK_ALL_CLOSE("diag precisions_cholesky", m.precisions_cholesky, want, 1e-15);
}

// ---------------------------------------------------------------------------
// 2. Initialisations.

// The initial mixture of fit_mixture's restart `init` for `seed`.
template <class T>
Mixture<T> initial(const RowMatrix<T>& x, const Vector<T>& sw, const FitOptions& opt, std::uint64_t seed,
                   std::uint64_t init = 0) {
  gmmcore::Rng rng = gmmcore::detail::start_rng(seed, Index(init), opt.n_components);
  return gmmcore::detail::starting_mixture<T>([&] { return gmmcore::detail::initial_statistics<T>(x, sw, opt, rng); },
                                              opt, InitialParams<T>{});
}

// Index of the row of x equal to `v` within rtol, or -1.
template <class T, class V>
Index row_index(const RowMatrix<T>& x, const V& v, double rtol) {
  for (Index i = 0; i < x.rows(); ++i) {
    bool same = true;
    for (Index d = 0; d < x.cols() && same; ++d) same = close(double(v(d)), double(x(i, d)), rtol, rtol);
    if (same) return i;
  }
  return -1;
}

GMMCORE_TEST(mixture_fit, initialisations_start_as_documented) {
  const Blobs blobs = make_blobs(60, 1);
  const RowMatrix<double>& x = blobs.x;
  const Index N = x.rows(), K = 3;
  const double reg = 1e-4, ten_eps = 10 * std::numeric_limits<double>::epsilon();
  const Vector<double> none;
  for (CovarianceType type : kTypes)
    for (InitMethod init : kInits) {
      const std::string c = std::string(name_of(type)) + " " + name_of(init);
      FitOptions opt = options(type, K, 0, 1e-3, reg);
      opt.init = init;
      const Mixture<double> a = initial<double>(x, none, opt, 5);
      CHECK(identical(a, initial<double>(x, none, opt, 5)));
      CHECK(all_finite(a) && positive_definite(a));
      // Weights are N'_k / N as in scikit-learn's _initialize: summing to 1
      // except from one-hot rows (k-means++, random_from_data), where they
      // sum to K (1 + 10 eps) / N (checked below).
      if (init == InitMethod::kmeans || init == InitMethod::random) CHECK_CLOSE(a.weights.sum(), 1.0, 1e-12, 0);
      CHECK(a.covariances.rows() == cov_rows(type, K) && a.covariances.cols() == cov_cols(type, 2));
      // fit_mixture with max_iter = 0 returns restart 0's start, drawn from Rng(seed).
      opt.seed = 5;
      const auto r0 = fit<double>(x, none, opt);
      CHECK(identical(r0.mixture, a));
      CHECK(r0.lower_bounds.empty() && r0.n_iter == 0 && !r0.converged);
      // Another seed gives another start (for kmeans at least one of several
      // seeds does: k-means on these blobs may find the same partition, but
      // not always in the same order).
      bool some_differ = false, all_differ = true;
      for (std::uint64_t s = 6; s < 12; ++s) {
        const bool differ = !identical(initial<double>(x, none, opt, s), a);
        some_differ |= differ;
        all_differ &= differ;
      }
      CHECK(some_differ);
      if (init == InitMethod::random || init == InitMethod::random_from_data) CHECK(all_differ);

      gmmcore::Rng rng(5);
      switch (init) {
        case InitMethod::kmeans: {
          // Responsibilities are k-means' labels: weights = cluster sizes / N,
          // means = the k-means centres.
          const auto seeds = gmmcore::kmeans_plusplus<double>(x, none, K, rng);
          RowMatrix<double> centres(K, 2);
          for (Index k = 0; k < K; ++k) centres.row(k) = x.row(seeds[size_t(k)]);
          const auto km = gmmcore::kmeans_lloyd<double>(x, none, centres, opt.kmeans_max_iter, opt.kmeans_tol);
          Vector<double> count = Vector<double>::Zero(K);
          for (int l : km.labels) count(l) += 1;
          CHECK_ALL_CLOSE(c + " weights", a.weights, Vector<double>((count.array() + ten_eps) / double(N)), 1e-14);
          CHECK_ALL_CLOSE(c + " means", a.means, km.centres, 1e-12);
          break;
        }
        case InitMethod::kmeans_plusplus:
        case InitMethod::random_from_data: {
          // One-hot responsibilities on K distinct rows: means = those rows,
          // covariances = reg_covar, weights = (1 + 10 eps) / N.
          std::vector<Index> rows;
          if (init == InitMethod::kmeans_plusplus) rows = gmmcore::kmeans_plusplus<double>(x, none, K, rng);
          std::set<Index> distinct;
          for (Index k = 0; k < K; ++k) {
            const Index i = row_index(x, a.means.row(k), 1e-13);
            CHECK(i >= 0);
            distinct.insert(i);
            if (init == InitMethod::kmeans_plusplus) CHECK(i == rows[size_t(k)]);
          }
          CHECK(distinct.size() == size_t(K));
          CHECK_ALL_CLOSE(c + " weights", a.weights, Vector<double>::Constant(K, (1 + ten_eps) / double(N)), 1e-14);
          RowMatrix<double> want_cov = RowMatrix<double>::Zero(a.covariances.rows(), a.covariances.cols());
          if (gmmcore::is_diagonal(type))
            want_cov.setConstant(reg);
          else
            for (Index k = 0; k < want_cov.rows(); ++k)
              for (Index d = 0; d < 2; ++d) want_cov(k, d * 2 + d) = reg;
          // tied: the scatter of all K one-hot rows about themselves is 0 too.
          CHECK_ALL_CLOSE(c + " covariances", a.covariances, want_cov, 1e-9);
          break;
        }
        case InitMethod::random: {
          // Random responsibilities: every mean is a convex combination of the
          // rows, hence inside their bounding box, and near the overall mean.
          for (Index k = 0; k < K; ++k)
            for (Index d = 0; d < 2; ++d) {
              CHECK(a.means(k, d) >= x.col(d).minCoeff() && a.means(k, d) <= x.col(d).maxCoeff());
              CHECK(std::abs(a.means(k, d) - x.col(d).mean()) < 1.5);
            }
          break;
        }
      }
    }
}

template <class T>
void check_initialisations_fit_blobs() {
  const Blobs blobs = make_blobs(100, 2);
  const RowMatrix<T> x = blobs.x.cast<T>();
  const Index K = 3;
  for (CovarianceType type : kTypes)
    for (InitMethod init : kInits) {
      const std::string c = std::string(float_name<T>()) + " " + name_of(type) + " " + name_of(init);
      // 'random' starts every component near the overall mean, where the
      // lower bound hardly moves for the first iterations: with tol = 1e-3 it
      // stops there at iteration 2 (as scikit-learn does), so it gets a tight tol.
      const bool random = init == InitMethod::random;
      // In float32 the lower bound's rounding (~3e-8 here) exceeds that tol
      // while EM creeps away from a random start at the overall mean, so a
      // restart may stop there by chance: the float64 case covers 'random'.
      if (random && sizeof(T) == 4) continue;
      FitOptions opt = options(type, K, random ? 500 : 200, random ? 1e-8 : 1e-3, 1e-6);
      opt.init = init;
      // Random starts can put two components in one blob (random_from_data
      // draws three rows from distinct blobs with probability 2/9), from
      // which EM need not escape: restarts make finding the blobs near certain.
      opt.n_init = (random || init == InitMethod::random_from_data) ? 5 : 1;
      for (std::uint64_t seed : {std::uint64_t(0), std::uint64_t(1)}) {
        opt.seed = seed;
        const auto r = fit<T>(x, Vector<T>(), opt);
        const auto again = fit<T>(x, Vector<T>(), opt);
        CHECK(identical(r, again));
        CHECK(all_finite(r.mixture) && positive_definite(r.mixture));
        CHECK_CLOSE(r.mixture.weights.template cast<double>().sum(), 1.0, 1e-5, 0);
        CHECK(r.converged && r.n_iter < opt.max_iter);
        CHECK(r.lower_bounds.size() == size_t(r.n_iter) && r.lower_bound == r.lower_bounds.back());
        CHECK(non_decreasing(r.lower_bounds, sizeof(T) == 4 ? 1e-5 : 1e-10));
        for (Index j = 0; j < 3; ++j) {
          double nearest = kInf;
          for (Index k = 0; k < K; ++k)
            nearest = std::min(nearest, (r.mixture.means.row(k).template cast<double>() - blobs.centres.row(j)).norm());
          if (!(nearest < 0.5)) {
            std::ostringstream msg;
            msg << c << " seed " << seed << ": no fitted mean within 0.5 of centre " << j << " (nearest " << nearest
                << ")";
            gmmcore_test::fail(__FILE__, __LINE__, msg.str());
          }
        }
        for (Index k = 0; k < K; ++k) CHECK(std::abs(double(r.mixture.weights(k)) - 1.0 / 3) < 0.02);
      }
    }
}

GMMCORE_TEST(mixture_fit, every_initialisation_finds_the_blobs_float64) { check_initialisations_fit_blobs<double>(); }

GMMCORE_TEST(mixture_fit, every_initialisation_finds_the_blobs_float32) { check_initialisations_fit_blobs<float>(); }

#ifdef _OPENMP
GMMCORE_TEST(mixture_fit, fit_is_independent_of_the_thread_count) {
  // 3000 rows x K = 3 x D = 5: enough work per pass for parallel chunks.
  const auto prob = make_problem<double>(3000, 5, 3, 9);
  FitOptions opt = options(CovarianceType::full, 3, 5, 0.0, 1e-6);
  opt.init = InitMethod::kmeans;
  opt.seed = 3;
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = fit<double>(prob.x, Vector<double>(), opt);
  for (int threads : {2, 3}) {
    omp_set_num_threads(threads);
    CHECK(identical(fit<double>(prob.x, Vector<double>(), opt), one));
  }
  omp_set_num_threads(saved);
}
#endif

// ---------------------------------------------------------------------------
// 3. k-means and sample weights.

GMMCORE_TEST(mixture_fit, kmeans_recovers_blobs) {
  const Blobs blobs = make_blobs(80, 3);
  const RowMatrix<double>& x = blobs.x;
  const Vector<double> none;
  const Index N = x.rows(), K = 3;
  for (std::uint64_t seed = 0; seed < 4; ++seed) {
    gmmcore::Rng rng(seed);
    const auto rows = gmmcore::kmeans_plusplus<double>(x, none, K, rng);
    CHECK(rows.size() == size_t(K));
    std::set<int> seeded_blobs;
    for (Index i : rows) {
      CHECK(i >= 0 && i < N);
      seeded_blobs.insert(blobs.labels[size_t(i)]);
    }
    // Greedy k-means++ on blobs 10 apart seeds one centre in each.
    CHECK(seeded_blobs.size() == size_t(K));
    RowMatrix<double> centres(K, 2);
    for (Index k = 0; k < K; ++k) centres.row(k) = x.row(rows[size_t(k)]);
    const auto km = gmmcore::kmeans_lloyd<double>(x, none, centres, 300, 1e-4);
    CHECK(km.labels.size() == size_t(N));
    // Labels equal the blobs' up to a permutation.
    std::vector<int> map(3, -1);
    bool consistent = true;
    for (Index i = 0; i < N; ++i) {
      const int truth = blobs.labels[size_t(i)], got = km.labels[size_t(i)];
      if (got < 0 || got >= K) {
        consistent = false;
        break;
      }
      if (map[size_t(truth)] < 0) map[size_t(truth)] = got;
      consistent &= map[size_t(truth)] == got;
    }
    CHECK(consistent);
    CHECK(std::set<int>(map.begin(), map.end()).size() == 3);
    // Centres are the blobs' sample means.
    if (consistent)
      for (int j = 0; j < 3; ++j) {
        Vector<double> mean = Vector<double>::Zero(2);
        Index n = 0;
        for (Index i = 0; i < N; ++i)
          if (blobs.labels[size_t(i)] == j) mean += x.row(i).transpose(), ++n;
        CHECK_ALL_CLOSE("kmeans centre", km.centres.row(map[size_t(j)]).transpose(), mean / double(n), 1e-12);
      }
    CHECK(km.n_iter >= 1 && km.n_iter <= 300);
  }
}

GMMCORE_TEST(mixture_fit, kmeans_plusplus_rows_are_distinct_and_weighted) {
  const auto prob = make_problem<double>(40, 3, 4, 5);
  const Vector<double> none;
  const Index N = prob.x.rows();
  // K = N: every row exactly once.
  for (std::uint64_t seed = 0; seed < 3; ++seed) {
    gmmcore::Rng rng(seed);
    auto rows = gmmcore::kmeans_plusplus<double>(prob.x, none, N, rng);
    std::sort(rows.begin(), rows.end());
    bool permutation = rows.size() == size_t(N);
    for (Index i = 0; permutation && i < N; ++i) permutation = rows[size_t(i)] == i;
    CHECK(permutation);
  }
  // Zero-weight rows are never chosen.
  Vector<double> w(N);
  for (Index i = 0; i < N; ++i) w(i) = i % 2 ? 0.0 : 1.0 + double(i % 3);
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    gmmcore::Rng rng(seed);
    const auto rows = gmmcore::kmeans_plusplus<double>(prob.x, w, 6, rng);
    CHECK(std::set<Index>(rows.begin(), rows.end()).size() == 6);
    for (Index i : rows) CHECK(w(i) > 0);
  }
}

// x with row i repeated reps(i) times.
template <class T>
RowMatrix<T> repeat_rows(const RowMatrix<T>& x, const std::vector<int>& reps) {
  Index n = 0;
  for (int r : reps) n += r;
  RowMatrix<T> out(n, x.cols());
  Index o = 0;
  for (Index i = 0; i < x.rows(); ++i)
    for (int r = 0; r < reps[size_t(i)]; ++r) out.row(o++) = x.row(i);
  return out;
}

template <class T>
void check_same_fit(const std::string& c, const FitResult<T>& a, const FitResult<T>& b, double rtol) {
  CHECK_ALL_CLOSE(c + " weights", a.mixture.weights, b.mixture.weights, rtol);
  CHECK_ALL_CLOSE(c + " means", a.mixture.means, b.mixture.means, rtol);
  CHECK_ALL_CLOSE(c + " covariances", a.mixture.covariances, b.mixture.covariances, rtol);
  CHECK_ALL_CLOSE(c + " precisions_cholesky", a.mixture.precisions_cholesky, b.mixture.precisions_cholesky, rtol);
  CHECK(a.lower_bounds.size() == b.lower_bounds.size());
  for (size_t j = 0; j < std::min(a.lower_bounds.size(), b.lower_bounds.size()); ++j)
    CHECK_CLOSE(a.lower_bounds[j], b.lower_bounds[j], rtol, rtol);
}

GMMCORE_TEST(mixture_fit, sample_weights_equal_repeated_or_dropped_rows) {
  const Index N = 300, K = 3;
  for (Index D : {Index(2), Index(5)}) {
    const auto prob = make_problem<double>(N, D, K, unsigned(30 + D));
    std::vector<int> reps(static_cast<size_t>(N));
    Vector<double> w(N);
    for (Index i = 0; i < N; ++i) w(i) = reps[size_t(i)] = int((i * 7) % 4);  // 0, 1, 2 or 3
    const RowMatrix<double> repeated = repeat_rows(prob.x, reps);
    for (CovarianceType type : kTypes) {
      const std::string c = std::string(name_of(type)) + " D=" + std::to_string(D);
      RefMixture ref0;
      const auto given = make_initial<double>(type, prob.x, K, 8, ref0);
      const FitOptions opt = options(type, K, 5, 0.0, 1e-6);
      // Integer weights (zeros included) equal repeating each row that often
      // (zero weight: dropping it).
      const auto weighted = fit<double>(prob.x, w, opt, given);
      const auto plain = fit<double>(repeated, Vector<double>(), opt, given);
      check_same_fit(c + " integer weights vs repeated rows", weighted, plain, 1e-12);
      // Weights in {0, 1}: dropping rows.
      Vector<double> keep(N);
      std::vector<int> kept(static_cast<size_t>(N));
      for (Index i = 0; i < N; ++i) keep(i) = kept[size_t(i)] = reps[size_t(i)] > 0 ? 1 : 0;
      check_same_fit(c + " zero weights vs dropped rows", fit<double>(prob.x, keep, opt, given),
                     fit<double>(repeat_rows(prob.x, kept), Vector<double>(), opt, given), 1e-12);
      // Scaling every weight leaves the fit unchanged.
      check_same_fit(c + " scaled weights", fit<double>(prob.x, Vector<double>(w * 0.37), opt, given), weighted, 1e-12);
    }
  }
  // k-means: integer weights equal repeated rows too.
  const Blobs blobs = make_blobs(40, 4);
  std::vector<int> reps(size_t(blobs.x.rows()));
  Vector<double> w(blobs.x.rows());
  for (Index i = 0; i < w.size(); ++i) w(i) = reps[size_t(i)] = int(1 + i % 3);
  RowMatrix<double> centres(3, 2);
  centres << 1.0, 1.0, 4.0, 4.0, 8.0, 1.0;  // deliberately off the blobs
  const auto weighted = gmmcore::kmeans_lloyd<double>(blobs.x, w, centres, 100, 0.0);
  const auto plain = gmmcore::kmeans_lloyd<double>(repeat_rows(blobs.x, reps), Vector<double>(), centres, 100, 0.0);
  CHECK_ALL_CLOSE("weighted kmeans centres", weighted.centres, plain.centres, 1e-12);
  Index o = 0;
  bool same_labels = true;
  for (Index i = 0; i < blobs.x.rows(); ++i) {
    same_labels &= weighted.labels[size_t(i)] == plain.labels[size_t(o)];
    o += reps[size_t(i)];
  }
  CHECK(same_labels);
}

// ---------------------------------------------------------------------------
// 4. Warm start.

GMMCORE_TEST(mixture_fit, warm_start_continues_the_fit) {
  const Index N = 400, K = 3;
  const auto prob = make_problem<double>(N, 3, K, 12);
  for (CovarianceType type : kTypes) {
    const std::string c = name_of(type);
    RefMixture ref0;
    const auto given = make_initial<double>(type, prob.x, K, 13, ref0);
    FitOptions opt = options(type, K, 5, 0.0, 1e-6);
    const auto whole = fit<double>(prob.x, Vector<double>(), opt, given);
    opt.max_iter = 2;
    const auto first = fit<double>(prob.x, Vector<double>(), opt, given);
    opt.max_iter = 3;
    opt.n_init = 4;  // ignored with warm_start: one run from the given parameters
    opt.init = InitMethod::random;
    std::vector<std::tuple<Index, Index, double, double>> calls;
    const auto second = fit<double>(prob.x, Vector<double>(), opt, given_from(first.mixture), true, first.lower_bound,
                                    [&](Index i, Index n, double lb, double ch) { calls.emplace_back(i, n, lb, ch); });
    // The same iterations on the same values: identical, not just close.
    CHECK(identical(second.mixture, whole.mixture));
    CHECK(second.lower_bound == whole.lower_bound);
    CHECK(second.lower_bounds == std::vector<double>(whole.lower_bounds.begin() + 2, whole.lower_bounds.end()));
    CHECK(second.n_iter == 3);
    CHECK(calls.size() == 3);
    if (calls.size() == 3) {
      // The first change is measured from warm_lower_bound.
      CHECK(std::get<0>(calls[0]) == 0 && std::get<1>(calls[0]) == 1);
      CHECK(std::get<3>(calls[0]) == whole.lower_bounds[2] - whole.lower_bounds[1]);
      CHECK(std::get<2>(calls[2]) == whole.lower_bounds[4]);
    }
  }
  // Convergence is judged across the split: choose tol so that a cold fit
  // converges at iteration 5; split after 2, the warm fit converges at its 3rd.
  RefMixture ref0;
  const auto given = make_initial<double>(CovarianceType::full, prob.x, K, 14, ref0);
  FitOptions opt = options(CovarianceType::full, K, 8, 0.0, 1e-6);
  const auto probe = fit<double>(prob.x, Vector<double>(), opt, given);
  std::vector<double> change;
  for (size_t j = 1; j < probe.lower_bounds.size(); ++j)
    change.push_back(probe.lower_bounds[j] - probe.lower_bounds[j - 1]);
  // changes[j - 1] is iteration j + 1's; they must shrink for the choice of tol.
  CHECK(change.size() == 7 && change[0] > change[1] && change[1] > change[2] && change[2] > change[3] &&
        change[3] > change[4] && change[4] > 0);
  opt.tol = std::sqrt(change[2] * change[3]);  // iteration 4's change > tol > iteration 5's
  opt.max_iter = 100;
  const auto cold = fit<double>(prob.x, Vector<double>(), opt, given);
  CHECK(cold.converged && cold.n_iter == 5);
  opt.max_iter = 2;
  const auto first = fit<double>(prob.x, Vector<double>(), opt, given);
  CHECK(!first.converged && first.n_iter == 2);
  opt.max_iter = 100;
  const auto warm = fit<double>(prob.x, Vector<double>(), opt, given_from(first.mixture), true, first.lower_bound);
  CHECK(warm.converged && warm.n_iter == 3);
  CHECK(identical(warm.mixture, cold.mixture));
  // Without the current parameters warm start is refused.
  InitialParams<double> partial = given;
  partial.precisions_cholesky.resize(0, 0);
  partial.covariances.resize(0, 0);
  CHECK_THROWS(fit<double>(prob.x, Vector<double>(), opt, partial, true, 0.0), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// 5. Degenerate data.

template <class T>
void check_degenerate() {
  const Vector<T> none;
  std::mt19937_64 rng(6);
  std::normal_distribution<double> normal;
  const Index n = 100;
  // Two clusters of 100: one of identical rows (1, 2, 3), one N((6, 6, 6), I).
  RowMatrix<T> dup(2 * n, 3);
  for (Index i = 0; i < n; ++i) {
    dup.row(i) << T(1), T(2), T(3);
    for (Index d = 0; d < 3; ++d) dup(n + i, d) = T(6 + normal(rng));
  }
  // Two blobs whose third feature is the constant 3 (and a copy where it is 0).
  RowMatrix<T> constant(2 * n, 3);
  for (Index i = 0; i < 2 * n; ++i) {
    constant(i, 0) = T((i % 2 ? 8 : 0) + normal(rng));
    constant(i, 1) = T(normal(rng));
    constant(i, 2) = T(3);
  }
  RowMatrix<T> constant0 = constant;
  constant0.col(2).setZero();
  // 200 points N(0, I) plus three 1e6 away.
  RowMatrix<T> outliers(203, 2);
  for (Index i = 0; i < 200; ++i)
    for (Index d = 0; d < 2; ++d) outliers(i, d) = T(normal(rng));
  outliers.bottomRows(3) << T(1e6), T(1e6), T(1e6 + 1), T(1e6), T(-1e6), T(0);

  for (CovarianceType type : kTypes) {
    const std::string c = std::string(float_name<T>()) + " " + name_of(type);
    FitOptions opt = options(type, 2, 100, 1e-3, 1e-6);
    // Duplicated points, default reg_covar: finite, the collapsed cluster's
    // variances are reg_covar (tied: pooled with the other cluster's).
    const auto r = fit<T>(dup, none, opt);
    CHECK(all_finite(r.mixture) && positive_definite(r.mixture));
    CHECK(non_decreasing(r.lower_bounds, sizeof(T) == 4 ? 1e-5 : 1e-10));
    Index collapsed = row_index(r.mixture.means, Vector<double>((Vector<double>(3) << 1, 2, 3).finished()), 1e-5);
    CHECK(collapsed >= 0);
    if (collapsed >= 0 && type != CovarianceType::tied) {
      // Its first variance: Sigma(0, 0) (full), var_0 (diag), sigma^2 (spherical).
      const double var = double(r.mixture.covariances(collapsed, 0));
      CHECK_CLOSE(var, 1e-6, sizeof(T) == 4 ? 1e-2 : 1e-6, 0);
    }
    // A constant feature, default reg_covar: finite, its variance reg_covar.
    const auto rc = fit<T>(constant, none, opt);
    CHECK(all_finite(rc.mixture) && positive_definite(rc.mixture));
    if (type == CovarianceType::diag)
      for (Index k = 0; k < 2; ++k) CHECK_CLOSE(rc.mixture.covariances(k, 2), 1e-6, sizeof(T) == 4 ? 1e-2 : 1e-6, 0);
    if (type == CovarianceType::full || type == CovarianceType::tied)
      CHECK_CLOSE(rc.mixture.covariances(0, 8), 1e-6, sizeof(T) == 4 ? 1e-2 : 1e-6, 0);
    // reg_covar = 0: the constant feature has zero variance in every
    // component, so full, tied and diag must raise IllDefinedCovarianceError
    // as scikit-learn does (its mean sum_i r_ik x_i / (N_k + 10 eps) rounds to
    // the constant, so x - mu is exactly 0); spherical averages it with the
    // other features' variances and fits. (scikit-learn 1.9.1 on data built
    // as here, float64 and float32: exactly this outcome for constant 0 and 3,
    // and for the duplicated points below.)
    opt.reg_covar = 0;
    for (const RowMatrix<T>* xc : {&constant0, &constant}) {
      const std::string cc = c + (xc == &constant0 ? " constant 0" : " constant 3");
      if (type == CovarianceType::spherical) {
        const auto rs = fit<T>(*xc, none, opt);
        CHECK(all_finite(rs.mixture) && positive_definite(rs.mixture));
        continue;
      }
      bool thrown = false;
      std::string what;
      try {
        const auto bad = fit<T>(*xc, none, opt);
        std::ostringstream msg;
        msg.precision(17);
        msg << "fitted: covariances " << bad.mixture.covariances.row(0) << ", lower_bound " << bad.lower_bound;
        what = msg.str();
      } catch (const gmmcore::IllDefinedCovarianceError&) {
        thrown = true;
      } catch (const std::exception& e) {
        what = std::string("threw another exception: ") + e.what();
      }
      if (!thrown)
        gmmcore_test::fail(__FILE__, __LINE__,
                           cc + ": reg_covar = 0 did not throw IllDefinedCovarianceError (" + what + ")");
    }
    // Duplicated points with reg_covar = 0: that cluster's covariance is 0
    // (scikit-learn: its mean is exactly (1, 2, 3), 100 + 10 eps rounding to
    // 100), except tied, pooled with the other cluster.
    if (type == CovarianceType::tied) {
      const auto rt = fit<T>(dup, none, opt);
      CHECK(all_finite(rt.mixture) && positive_definite(rt.mixture));
    } else {
      bool thrown = false;
      try {
        (void)fit<T>(dup, none, opt);
      } catch (const gmmcore::IllDefinedCovarianceError&) {
        thrown = true;
      }
      if (!thrown)
        gmmcore_test::fail(__FILE__, __LINE__,
                           c + " duplicated points: reg_covar = 0 did not throw IllDefinedCovarianceError");
    }
    opt.reg_covar = 1e-6;
    // Far outliers: finite, monotone, weights summing to 1.
    opt.n_components = 3;
    const auto ro = fit<T>(outliers, none, opt);
    CHECK(all_finite(ro.mixture) && positive_definite(ro.mixture));
    CHECK(std::isfinite(ro.lower_bound));
    CHECK(non_decreasing(ro.lower_bounds, sizeof(T) == 4 ? 1e-5 : 1e-10));
    CHECK_CLOSE(ro.mixture.weights.template cast<double>().sum(), 1.0, sizeof(T) == 4 ? 1e-5 : 1e-12, 0);
    // One component holds the bulk near the origin.
    bool bulk = false;
    for (Index k = 0; k < 3; ++k) bulk |= ro.mixture.means.row(k).template cast<double>().norm() < 0.5;
    CHECK(bulk);
  }
}

GMMCORE_TEST(mixture_fit, degenerate_data_float64) { check_degenerate<double>(); }

GMMCORE_TEST(mixture_fit, degenerate_data_float32) { check_degenerate<float>(); }

GMMCORE_TEST(mixture_fit, invalid_input_throws) {
  const auto prob = make_problem<double>(50, 2, 2, 1);
  const Vector<double> none;
  for (InitMethod init : kInits) {
    FitOptions opt = options(CovarianceType::full, 3, 10, 1e-3, 1e-6);
    opt.init = init;
    // n_samples < n_components.
    CHECK_THROWS(fit<double>(RowMatrix<double>(prob.x.topRows(2)), none, opt), std::invalid_argument);
    opt.n_components = 0;
    CHECK_THROWS(fit<double>(prob.x, none, opt), std::invalid_argument);
    opt.n_components = 2;
    // Sample weights summing to 0.
    CHECK_THROWS(fit<double>(prob.x, Vector<double>(Vector<double>::Zero(50)), opt), std::invalid_argument);
    // NaN (and inf) in X, also past the first block.
    RowMatrix<double> bad = prob.x;
    bad(37, 1) = kNaN;
    CHECK_THROWS(fit<double>(bad, none, opt), std::invalid_argument);
    bad(37, 1) = kInf;
    CHECK_THROWS(fit<double>(bad, none, opt), std::invalid_argument);
  }
  // NaN in X with given parameters too.
  RefMixture ref0;
  const auto given = make_initial<double>(CovarianceType::diag, prob.x, 2, 1, ref0);
  RowMatrix<double> bad = prob.x;
  bad(3, 0) = kNaN;
  CHECK_THROWS(fit<double>(bad, none, options(CovarianceType::diag, 2, 3, 0.0, 1e-6), given), std::invalid_argument);
  RowMatrix<float> badf = prob.x.cast<float>();
  badf(49, 1) = float(kNaN);
  CHECK_THROWS(fit<float>(badf, Vector<float>(), options(CovarianceType::spherical, 2, 3, 0.0, 1e-6)),
               std::invalid_argument);
}

// ---------------------------------------------------------------------------
// 6. n_init restarts.

GMMCORE_TEST(mixture_fit, n_init_keeps_the_best_restart) {
  // Overlapping clusters and few iterations: restarts end at different bounds.
  const auto prob = make_problem<double>(400, 2, 4, 17);
  const Index n_init = 5;
  bool best_inside = false;  // some case where neither the first nor the last restart is best
  for (InitMethod init : {InitMethod::random_from_data, InitMethod::kmeans_plusplus})
    for (std::uint64_t seed = 0; seed < 4; ++seed) {
      FitOptions opt = options(CovarianceType::full, 4, 6, 0.0, 1e-6);
      opt.init = init;
      opt.seed = seed;
      opt.n_init = n_init;
      std::vector<std::tuple<Index, Index, double, double>> calls;
      const auto best = fit<double>(prob.x, Vector<double>(), opt, {}, false, 0.0,
                                    [&](Index i, Index n, double lb, double ch) { calls.emplace_back(i, n, lb, ch); });
      CHECK(calls.size() == size_t(n_init * 6));
      // Restart i is a fit of one restart drawing from start_rng(seed, i).
      const Vector<double> none;
      const gmmcore::ChunkSource<double> whole = [&](const gmmcore::ChunkVisitor<double>& visit) {
        visit(prob.x, none);
      };
      FitOptions one = opt;
      one.n_init = 1;
      std::vector<FitResult<double>> single;
      Index arg_best = 0;
      for (Index i = 0; i < n_init; ++i) {
        single.push_back(gmmcore::fit_mixture<double>(
            [&](const Mixture<double>& m) { return gmmcore::detail::pass_statistics<double>(whole, m, true); },
            [&](Index, gmmcore::Rng&) {
              gmmcore::Rng rng = gmmcore::detail::start_rng(seed, i, one.n_components);
              return gmmcore::detail::initial_statistics<double>(prob.x, none, one, rng);
            },
            2, one, InitialParams<double>{}, false, 0.0));
        if (single.back().lower_bound > single[size_t(arg_best)].lower_bound) arg_best = i;
        for (Index n = 0; n < 6 && size_t(i * 6 + n) < calls.size(); ++n) {
          CHECK(std::get<0>(calls[size_t(i * 6 + n)]) == i);
          CHECK(std::get<2>(calls[size_t(i * 6 + n)]) == single.back().lower_bounds[size_t(n)]);
        }
      }
      CHECK(identical(best, single[size_t(arg_best)]));
      for (const auto& s : single) CHECK(best.lower_bound >= s.lower_bound);
      best_inside |= arg_best > 0 && arg_best < n_init - 1;
    }
  CHECK(best_inside);
}

}  // namespace mixture_fit_test
