#pragma once
// Deterministic, counter-based random numbers (SplitMix64). The same seed
// gives the same stream on every platform and compiler, unlike the
// implementation-defined std:: distributions.
#include <cstdint>

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

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(mix64(seed)) {}
  std::uint64_t next() { return mix64(state_++); }
  double uniform() { return to_unit(next()); }
  // Uniform integer in [0, n).
  Index below(Index n) { return static_cast<Index>(uniform() * double(n)) % n; }

 private:
  std::uint64_t state_;
};

}  // namespace gmmcore
