// The micro-kernels (micro_kernels.hpp) against plain loops, for every D up to
// a few register tiles and sample counts that leave partial tiles, in both
// dtypes: padding and tile edges are where such kernels go wrong.
#include <limits>
#include <random>
#include <vector>

#include "check.hpp"
#include "gmmcore/micro_kernels.hpp"

namespace {

using gmmcore::Index;
using namespace gmmcore::detail;
template <class T>
using Rows = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class T>
void check_kernels(Index D, Index B, double rtol) {
  std::mt19937 gen(static_cast<unsigned>(D * 1000 + B));
  std::normal_distribution<double> normal;
  const Index ld = padded_length<T>(D), ldt = round_up(B, kTransposedAlign<T>), ldp = factor_columns(D);
  const Index ldw = std::max(ld, scatter_rows(D));
  Rows<T> x = Rows<T>::Zero(B, ld), xt = Rows<T>::Zero(D, ldt), p = Rows<T>::Zero(D, ldp);  // p upper triangular
  Rows<T> mu = Rows<T>::Zero(1, ld), prec(1, D);
  Eigen::Matrix<T, Eigen::Dynamic, 1> r(B);
  for (Index i = 0; i < B; ++i) {
    for (Index d = 0; d < D; ++d) xt(d, i) = x(i, d) = T(normal(gen));
    r(i) = T(std::abs(normal(gen)));
  }
  for (Index d = 0; d < D; ++d) {
    mu(0, d) = T(normal(gen));
    prec(0, d) = T(1 + std::abs(normal(gen)));
    for (Index j = d; j < D; ++j) p(d, j) = T(0.3 * normal(gen) + (j == d));
  }
  // Plain loops, in double.
  Eigen::MatrixXd diff = (x.leftCols(D).rowwise() - mu.leftCols(D).row(0)).template cast<double>();
  const Eigen::VectorXd quad_full = (diff * p.leftCols(D).template cast<double>()).rowwise().squaredNorm();
  const Eigen::VectorXd quad_diag = diff.cwiseAbs2() * prec.row(0).transpose().template cast<double>();
  const Eigen::MatrixXd scatter = diff.transpose() * r.template cast<double>().asDiagonal() * diff;
  const Eigen::VectorXd sums = diff.transpose() * r.template cast<double>();
  const Eigen::VectorXd squares = diff.cwiseAbs2().transpose() * r.template cast<double>();

  Rows<T> transposed = Rows<T>::Zero(D, ldt);
  transpose_rows<T>(row_block(x.leftCols(D)), row_block(transposed));
  CHECK(transposed == xt);
  const auto xv = transposed_block(xt, B);
  const auto xp = padded_rows(x, D);

  Rows<T> scratch(D, kRowPackets * kPacket<T>);
  Eigen::Matrix<T, Eigen::Dynamic, 1> quad(ldt);
  quadratic_forms_full<T>(xv, mu.data(), factor_rows<true>(p, 0, D), scratch.data(), quad.data());
  for (Index i = 0; i < B; ++i) CHECK_CLOSE(double(quad(i)), quad_full(i), rtol, rtol);
  Rows<T> products(ldp, ldt);
  upper_products_transposed<T>(xv, mu.data(), factor_rows<true>(p, 0, D), scratch.data(),
                               transposed_block(products, B));
  const Eigen::MatrixXd dense = diff * p.leftCols(D).template cast<double>();
  for (Index i = 0; i < B; ++i)
    for (Index j = 0; j < D; ++j) CHECK_CLOSE(double(products(j, i)), dense(i, j), rtol, rtol * 10);
  // Its |z_i|^2, when asked, are quadratic_forms_full's bits.
  Eigen::Matrix<T, Eigen::Dynamic, 1> quad2(ldt);
  upper_products_transposed<T>(xv, mu.data(), factor_rows<true>(p, 0, D), scratch.data(), transposed_block(products, B),
                               quad2.data());
  for (Index i = 0; i < B; ++i) CHECK(quad2(i) == quad(i));

  // Weighted sums and scatter of the transposed samples themselves; the
  // columns past B (and weights past B) hold NaN, which must not reach them.
  {
    Rows<T> z = xt;
    z.rightCols(ldt - B).setConstant(std::numeric_limits<T>::quiet_NaN());
    Eigen::Matrix<T, Eigen::Dynamic, 1> g =
        Eigen::Matrix<T, Eigen::Dynamic, 1>::Constant(ldt, std::numeric_limits<T>::quiet_NaN());
    g.head(B) = r;
    const Eigen::MatrixXd zd = xt.leftCols(B).template cast<double>();
    const Eigen::VectorXd gz_ref = zd * r.template cast<double>();
    const Eigen::MatrixXd gram_ref = zd * r.template cast<double>().asDiagonal() * zd.transpose();
    Rows<T> gz = Rows<T>::Zero(1, ld), gz_only = Rows<T>::Zero(1, ld), gram = Rows<T>::Zero(scatter_rows(D), ld);
    auto gram_rows = padded_rows(gram, D);
    Rows<T> w(D, ldt), w_only(D, ldt);
    weighted_gram_transposed<T>(transposed_block(z, B), D, g.data(), transposed_block(w, B), gz.data(), &gram_rows);
    weighted_gram_transposed<T>(transposed_block(z, B), D, g.data(), transposed_block(w_only, B), gz_only.data(),
                                nullptr);
    for (Index a = 0; a < D; ++a)
      for (Index i = 0; i < B; ++i) CHECK(w(a, i) == g(i) * xt(a, i) && w_only(a, i) == w(a, i));
    const double gram_scale = std::max(1.0, gram_ref.diagonal().maxCoeff());
    for (Index a = 0; a < D; ++a) {
      CHECK_CLOSE(double(gz(0, a)), gz_ref(a), rtol, rtol * gram_scale);
      for (Index b = 0; b <= a; ++b) CHECK_CLOSE(double(gram(a, b)), gram_ref(a, b), rtol, rtol * gram_scale);
    }
    CHECK(gz == gz_only);
    for (Index a = 0; a < gram.rows(); ++a)
      for (Index b = (a < D ? D : 0); b < ld; ++b) CHECK(gram(a, b) == T(0));  // nothing past D
  }
  quadratic_forms_diag<T>(xv, mu.data(), prec.data(), quad.data());
  for (Index i = 0; i < B; ++i) CHECK_CLOSE(double(quad(i)), quad_diag(i), rtol, rtol);

  // Rows gathered in reverse order, then squared distances to K = 1..9 centres
  // (whole centre tiles and the rest): each sample's sum over d in order.
  std::vector<Index> reversed(static_cast<size_t>(B));
  for (Index j = 0; j < B; ++j) reversed[static_cast<size_t>(j)] = B - 1 - j;
  Rows<T> gathered = Rows<T>::Zero(D, ldt);
  transpose_gathered_rows<T>(row_block(x.leftCols(D)), reversed.data(), B, row_block(gathered));
  for (Index i = 0; i < B; ++i) CHECK(gathered.col(i) == xt.col(B - 1 - i));
  for (Index K = 1; K <= 9; ++K) {
    Rows<T> c(K, D + 3);  // a row stride past D
    for (Index k = 0; k < K; ++k)
      for (Index d = 0; d < D + 3; ++d) c(k, d) = T(normal(gen));
    Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> y(ldt, K);
    squared_distances<T>(xv, c.data(), c.cols(), K, y.data(), y.rows());
    for (Index k = 0; k < K; ++k)
      for (Index i = 0; i < B; ++i) {
        const double expected = (x.row(i).leftCols(D) - c.row(k).leftCols(D)).template cast<double>().squaredNorm();
        CHECK_CLOSE(double(y(i, k)), expected, rtol, rtol);
      }
  }

  Rows<T> d(B, ld), w = Rows<T>::Zero(B, ldw), s_full = Rows<T>::Zero(scatter_rows(D), ld);
  Rows<T> s = Rows<T>::Zero(1, ld), s2 = Rows<T>::Zero(1, ld), q = Rows<T>::Zero(1, ld);
  centred_weighted_rows<T>(xp, mu.data(), r.data(), padded_rows(d, D), padded_rows(w, D), s.data());
  scatter_full<T>(padded_rows(w, D), padded_rows(d, D), padded_rows(s_full, D));
  scatter_diag<T>(xp, mu.data(), r.data(), s2.data(), q.data());
  const double scale = scatter.diagonal().maxCoeff();
  for (Index a = 0; a < D; ++a) {
    CHECK_CLOSE(double(s(0, a)), sums(a), rtol, rtol * scale);
    CHECK_CLOSE(double(s2(0, a)), sums(a), rtol, rtol * scale);
    CHECK_CLOSE(double(q(0, a)), squares(a), rtol, rtol * scale);
    for (Index b = 0; b <= a; ++b) CHECK_CLOSE(double(s_full(a, b)), scatter(a, b), rtol, rtol * scale);
  }
  for (Index a = D; a < ld; ++a) CHECK(s(0, a) == T(0) && q(0, a) == T(0));
  // Without a mean: the same bits as centring on a zero mean, and d is not written.
  Rows<T> w0 = Rows<T>::Zero(B, ldw), w1 = Rows<T>::Zero(B, ldw), d1(B, ld), zero = Rows<T>::Zero(1, ld);
  Rows<T> s5 = Rows<T>::Zero(1, ld), s6 = Rows<T>::Zero(1, ld);
  weighted_rows<T>(xp, r.data(), padded_rows(w0, D), s5.data());
  centred_weighted_rows<T>(xp, zero.data(), r.data(), padded_rows(d1, D), padded_rows(w1, D), s6.data());
  CHECK(w0 == w1 && s5 == s6 && d1 == x);

  if (D > kFewFeatures) return;
  Rows<T> s3 = Rows<T>::Zero(1, ld), s4 = Rows<T>::Zero(1, ld), q3 = Rows<T>::Zero(1, ld), full3 = Rows<T>::Zero(D, ld);
  with_constant<int(kFewFeatures)>(D, [&](auto n) {
    scatter_transposed<T, decltype(n)::value, true>(xv, mu.data(), r.data(), s3.data(), padded_rows(full3, D));
    scatter_transposed<T, decltype(n)::value, false>(xv, mu.data(), r.data(), s4.data(), padded_rows(q3, D));
  });
  for (Index a = 0; a < D; ++a) {
    CHECK_CLOSE(double(s3(0, a)), sums(a), rtol, rtol * scale);
    CHECK_CLOSE(double(s4(0, a)), sums(a), rtol, rtol * scale);
    CHECK_CLOSE(double(q3(0, a)), squares(a), rtol, rtol * scale);
    for (Index b = 0; b <= a; ++b) CHECK_CLOSE(double(full3(a, b)), scatter(a, b), rtol, rtol * scale);
  }
}

}  // namespace

GMMCORE_TEST(micro_kernels, match_plain_loops) {
  for (Index D = 1; D <= 41; ++D) {
    for (Index B : {1, 7, 64, 203}) {
      check_kernels<double>(D, B, 1e-12);
      check_kernels<float>(D, B, 2e-4);
    }
  }
}
