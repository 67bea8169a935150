// Fit a 3-component Gaussian mixture to generated 2-D data with gmmcore's EM
// and print what it found next to the truth. Exits non-zero if the fit does
// not recover the generating components.
#include <gmmcore/gmmcore.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <numeric>
#include <random>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

int main() {
  using gmmcore::Index;
  using Matrix = gmmcore::RowMatrix<double>;  // row i is sample i

  // 3000 samples from three well-separated isotropic Gaussians (sd 0.7).
  const double true_weights[3] = {0.3, 0.5, 0.2};
  const double true_means[3][2] = {{-4.0, 0.0}, {0.0, 3.0}, {4.0, -1.0}};
  const Index n = 3000;
  Matrix x(n, 2);
  std::mt19937_64 rng(42);
  std::discrete_distribution<int> pick(std::begin(true_weights), std::end(true_weights));
  std::normal_distribution<double> noise(0.0, 0.7);
  for (Index i = 0; i < n; ++i) {
    const int k = pick(rng);
    x(i, 0) = true_means[k][0] + noise(rng);
    x(i, 1) = true_means[k][1] + noise(rng);
  }

  try {
    // Equal weights, identity covariances, means at the left-most, a middle
    // and the right-most sample (by first coordinate).
    std::vector<Index> order(n);
    std::iota(order.begin(), order.end(), Index(0));
    std::sort(order.begin(), order.end(), [&](Index a, Index b) { return x(a, 0) < x(b, 0); });
    gmmcore::Params<double> params = gmmcore::init_params<double>(3, 2);
    params.means.row(0) = x.row(order.front());
    params.means.row(1) = x.row(order[n / 2]);
    params.means.row(2) = x.row(order.back());

    params = gmmcore::em_train(params, x, 100, 1e-6);
    const double nll = gmmcore::negative_log_likelihood(gmmcore::factorize(params), x);

#ifdef _OPENMP
    std::printf("gmmcore EM on %td samples, 2 features, 3 components (OpenMP, %d threads)\n", n, omp_get_max_threads());
#else
    std::printf("gmmcore EM on %td samples, 2 features, 3 components (no OpenMP)\n", n);
#endif
    std::printf("mean log-likelihood after 100 steps: %.4f\n", -nll / double(n));
    std::printf("component  weight  mean              (true weight, true mean)\n");
    bool recovered = true;
    for (Index k = 0; k < 3; ++k) {
      std::printf("  %td        %.3f   (%6.2f, %6.2f)  (%.3f, (%5.2f, %5.2f))\n", k, params.weights(k),
                  params.means(k, 0), params.means(k, 1), true_weights[k], true_means[k][0], true_means[k][1]);
      const double dx = params.means(k, 0) - true_means[k][0], dy = params.means(k, 1) - true_means[k][1];
      recovered = recovered && dx * dx + dy * dy < 0.1 * 0.1 && std::abs(params.weights(k) - true_weights[k]) < 0.05;
    }
    std::printf(recovered ? "recovered the 3 components\n" : "did NOT recover the components\n");
    return recovered ? 0 : 1;
  } catch (const std::exception& e) {  // std::invalid_argument, gmmcore::NotPositiveDefiniteError
    std::fprintf(stderr, "gmmcore error: %s\n", e.what());
    return 1;
  }
}
