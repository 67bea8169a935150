#pragma once
// Special functions the variational fit needs besides std::lgamma
// (docs/math.md#math-variational).
#include <cmath>
#include <limits>

namespace gmmcore {

// The digamma function psi(x) = d/dx log Gamma(x) for x > 0; NaN for x <= 0
// or NaN (the variational formulas never need it there). Below 10 the
// recurrence psi(x) = psi(x + 1) - 1/x moves x up; from 10 on, the asymptotic
// series psi(x) = log x - 1/(2x) - sum_n B_2n / (2n x^2n), to n = 7 (the next
// term is below 5e-17 x^-16 ... < 1e-17 relative). Accurate to a few units
// in the last place away from psi's root x0 = 1.4616..., where the absolute
// error stays ~1e-16.
inline double digamma(double x) {
  if (!(x > 0)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(x)) return x;
  double shift = 0;
  while (x < 10) {
    shift += 1 / x;
    x += 1;
  }
  const double inv = 1 / x, inv2 = inv * inv;
  // B_2n / (2n) for n = 1..7: 1/12, -1/120, 1/252, -1/240, 1/132, -691/32760, 1/12.
  const double series =
      inv2 *
      (1.0 / 12 -
       inv2 * (1.0 / 120 -
               inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 * (1.0 / 132 - inv2 * (691.0 / 32760 - inv2 / 12))))));
  return std::log(x) - 0.5 * inv - series - shift;
}

}  // namespace gmmcore
