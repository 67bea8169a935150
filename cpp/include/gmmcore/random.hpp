#pragma once
// Deterministic random numbers: counter-based (SplitMix64) where values are
// drawn from any thread, and NumPy's RandomState stream for the seeding that
// mirrors scikit-learn's. The same seed gives the same values on every
// platform and compiler, unlike the implementation-defined std::
// distributions.
#include <cstdint>
#include <random>

#include "gmmcore/types.hpp"

namespace gmmcore {

// SplitMix64 finaliser: a bijective hash of a 64-bit counter.
inline std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform double in [0, 1) from 53 random bits.
inline double to_unit(std::uint64_t bits) { return double(bits >> 11) * 0x1.0p-53; }

// Value number `counter` of the stream `seed`, usable from any thread.
inline double uniform_at(std::uint64_t seed, std::uint64_t counter) { return to_unit(mix64(mix64(seed) ^ counter)); }

// The stream of NumPy's legacy RandomState(seed) (MT19937, whose output the
// C++ standard fixes; random_sample's 53 bits from two draws), so that the
// k-means++ seeds of a fit equal scikit-learn's for the same integer
// random_state. Seeds from 2^32 up, which RandomState rejects, are hashed to
// 32 bits.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(static_cast<std::uint32_t>(seed >> 32 ? mix64(seed) : seed)) {}
  // RandomState.random_sample(): uniform double in [0, 1).
  double uniform() {
    const std::uint32_t a = engine_() >> 5, b = engine_() >> 6;
    return (double(a) * 67108864.0 + double(b)) * 0x1.0p-53;
  }
  // 64 random bits (the draws of one uniform()).
  std::uint64_t next() {
    const std::uint64_t high = engine_();
    return high << 32 | engine_();
  }
  // Uniform integer in [0, n).
  Index below(Index n) { return static_cast<Index>(uniform() * double(n)) % n; }
  // Skips the draws of n uniform()s.
  void skip_uniforms(std::uint64_t n) { engine_.discard(2 * n); }

 private:
  std::mt19937 engine_;
};

}  // namespace gmmcore
