#pragma once
// Errors the library reports. Invalid input (shapes, NaN, weights, epochs)
// throws std::invalid_argument; a covariance that cannot be factorised throws
// NotPositiveDefiniteError. Nothing in gmmcore aborts the process.
#include <stdexcept>
#include <string>

#include "gmmcore/types.hpp"

namespace gmmcore {

// Sigma_k is not symmetric positive definite; `component` is k.
class NotPositiveDefiniteError : public std::runtime_error {
 public:
  NotPositiveDefiniteError(Index component, const std::string& what)
      : std::runtime_error(what), component_(component) {}
  Index component() const noexcept { return component_; }

 private:
  Index component_;
};

}  // namespace gmmcore
