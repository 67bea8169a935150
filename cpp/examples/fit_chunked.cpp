// Fit a Gaussian mixture to data that are read from a file in chunks, never
// all in memory at once: a raw binary file of float64 rows (N x D, row-major),
// given as argv[1] (with D as argv[2], default 4) or generated (200 000 x 4
// samples from 3 Gaussians) into a temporary file. Then one EM iteration by
// hand from the same start (statistics per chunk, merge, m_step), which must
// agree with the fit's first. Exits non-zero if it does not.
#include <gmmcore/gmmcore.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using gmmcore::Index;
using Matrix = gmmcore::RowMatrix<double>;  // row i is sample i
using Vector = gmmcore::Vector<double>;

namespace {

// 200 000 samples of 4 features from three Gaussians with different spreads.
void write_sample_file(const std::string& path, Index n, Index d) {
  const double weights[3] = {0.5, 0.3, 0.2}, spread[3] = {1.0, 0.5, 2.0};
  const double means[3][4] = {{0, 0, 0, 0}, {6, 6, 0, 0}, {0, 6, 6, -6}};
  std::mt19937_64 rng(7);
  std::discrete_distribution<int> pick(std::begin(weights), std::end(weights));
  std::normal_distribution<double> normal;
  std::ofstream out(path, std::ios::binary);
  std::vector<double> row(static_cast<size_t>(d));
  for (Index i = 0; i < n; ++i) {
    const int k = pick(rng);
    for (Index j = 0; j < d; ++j) row[static_cast<size_t>(j)] = means[k][j % 4] + spread[k] * normal(rng);
    out.write(reinterpret_cast<const char*>(row.data()), std::streamsize(sizeof(double) * row.size()));
  }
  if (!out) throw std::runtime_error("cannot write " + path);
}

// Reads the file `rows_per_chunk` rows at a time into one reused buffer. The
// fit calls the source once per EM iteration, so every call starts over from
// the beginning of the file.
class FileChunks {
 public:
  FileChunks(const std::string& path, Index d, Index rows_per_chunk)
      : in_(path, std::ios::binary), buffer_(rows_per_chunk, d) {
    if (!in_) throw std::runtime_error("cannot open " + path);
  }
  // Visits every chunk; returns the number of rows read.
  Index operator()(const gmmcore::ChunkVisitor<double>& visit, Index max_chunks = -1) {
    in_.clear();  // the previous pass ended at end-of-file
    in_.seekg(0);
    const std::streamsize row_bytes = std::streamsize(sizeof(double)) * buffer_.cols();
    Index total = 0;
    for (Index c = 0; c != max_chunks; ++c) {
      in_.read(reinterpret_cast<char*>(buffer_.data()), row_bytes * buffer_.rows());
      const std::streamsize got = in_.gcount();
      if (got % row_bytes != 0) throw std::runtime_error("the file's size is not a multiple of a row's");
      const Index rows = Index(got / row_bytes);
      if (rows == 0) break;
      visit(buffer_.topRows(rows), Vector());  // no sample weights
      total += rows;
    }
    return total;
  }

 private:
  std::ifstream in_;
  Matrix buffer_;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    const Index d = argc > 2 ? std::stol(argv[2]) : 4, rows_per_chunk = 10000;
    std::string path = argc > 1 ? argv[1] : "";
    const bool generated = path.empty();
    if (generated) {
      path = (std::filesystem::temp_directory_path() / "gmmcore_fit_chunked.f64").string();
      write_sample_file(path, 200000, d);
    }
    FileChunks chunks(path, d, rows_per_chunk);
    const gmmcore::ChunkSource<double> source = [&](const gmmcore::ChunkVisitor<double>& visit) { chunks(visit); };

    // k-means needs the rows in memory: it runs on the first chunk only, a
    // fair sample when the rows are in no particular order.
    Matrix init_sample;
    chunks([&](const gmmcore::ConstMatrixRef<double>& x, const gmmcore::ConstVectorRef<double>&) { init_sample = x; },
           1);

    gmmcore::FitOptions opt;
    opt.covariance_type = gmmcore::CovarianceType::full;
    opt.n_components = 3;
    opt.seed = 1;
    std::printf("fitting %td components to %s in chunks of %td rows\n", opt.n_components, path.c_str(), rows_per_chunk);
    const auto fit = gmmcore::fit_mixture<double>(source, d, init_sample, Vector(), opt, {}, false, 0.0);
    std::printf("n_iter %td (%s), lower bound %.6f\n", fit.n_iter, fit.converged ? "converged" : "NOT converged",
                fit.lower_bound);
    for (Index k = 0; k < opt.n_components; ++k) {
      std::printf("  weight %.4f  mean", fit.mixture.weights(k));
      for (Index j = 0; j < d; ++j) std::printf(" %7.3f", fit.mixture.means(k, j));
      std::printf("\n");
    }

    // The same EM iteration by hand. max_iter = 0 returns the initial mixture
    // (the same seed gives the same k-means start) without a pass over the file.
    gmmcore::FitOptions start_opt = opt, one_opt = opt;
    start_opt.max_iter = 0;
    one_opt.max_iter = 1;
    const auto start =
        gmmcore::fit_mixture<double>(source, d, init_sample, Vector(), start_opt, {}, false, 0.0).mixture;
    const auto one = gmmcore::fit_mixture<double>(source, d, init_sample, Vector(), one_opt, {}, false, 0.0);
    // The E-step of each chunk is independent of the others, so these could
    // run on different machines; merge combines their statistics exactly.
    gmmcore::Statistics<double> total;
    bool first = true;
    source([&](const gmmcore::ConstMatrixRef<double>& x, const gmmcore::ConstVectorRef<double>& w) {
      const auto part = gmmcore::statistics(start, x, w);
      total = first ? part : gmmcore::merge(total, part);
      first = false;
    });
    const gmmcore::Mixture<double> by_hand = gmmcore::m_step(total, opt.reg_covar);
    const double diff = std::max({(by_hand.weights - one.mixture.weights).cwiseAbs().maxCoeff(),
                                  (by_hand.means - one.mixture.means).cwiseAbs().maxCoeff(),
                                  (by_hand.covariances - one.mixture.covariances).cwiseAbs().maxCoeff()});
    const double lower_bound = total.log_likelihood / total.total_weight;
    std::printf("one iteration by hand over %td samples: lower bound %.6f (fit: %.6f), max |difference| %.3g\n",
                total.n_samples, lower_bound, one.lower_bound, diff);
    const bool agree = diff <= 1e-12 && std::abs(lower_bound - one.lower_bound) <= 1e-12 * std::abs(one.lower_bound);
    if (generated) std::filesystem::remove(path);
    std::printf(agree ? "agrees with the fit's first iteration\n" : "does NOT agree with the fit's first iteration\n");
    return agree && fit.converged ? 0 : 1;
  } catch (const std::exception& e) {  // std::invalid_argument, std::runtime_error, gmmcore errors
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
