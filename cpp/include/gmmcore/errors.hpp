#pragma once
// Errors the library reports. Invalid input (shapes, NaN, weights, options)
// throws std::invalid_argument; a covariance that is not positive definite,
// given or produced by an M-step, throws NotPositiveDefiniteError (also an
// std::invalid_argument; numpy.linalg.LinAlgError in Python, itself a
// ValueError). A stopped call throws Interrupted (interrupt.hpp). Nothing in
// gmmcore aborts the process.
#include <stdexcept>
#include <string>

#include "gmmcore/types.hpp"

namespace gmmcore {

// Sigma_k is not symmetric positive definite; `component` is k (for a tied
// covariance, 0).
class NotPositiveDefiniteError : public std::invalid_argument {
 public:
  NotPositiveDefiniteError(Index component, const std::string& what)
      : std::invalid_argument(what), component_(component) {}
  Index component() const noexcept { return component_; }

 private:
  Index component_;
};

// An M-step of the estimator produced a covariance that cannot be factorised,
// with scikit-learn's message (it raises ValueError with this text).
class IllDefinedCovarianceError : public NotPositiveDefiniteError {
 public:
  IllDefinedCovarianceError(Index component, bool single_precision)
      : NotPositiveDefiniteError(component,
                                 std::string("Fitting the mixture model failed because some components have "
                                             "ill-defined empirical covariance (for instance caused by singleton "
                                             "or collapsed samples). Try to decrease the number of components, "
                                             "increase reg_covar, or scale the input data.") +
                                     (single_precision ? " The numerical accuracy can also be improved by passing "
                                                         "float64 data instead of float32."
                                                       : "")) {}
};

}  // namespace gmmcore
