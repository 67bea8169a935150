#pragma once
// Packets (SIMD registers) for the hand-written micro-kernels, on top of
// Eigen's packet math so that one source compiles to SSE, AVX2 or AVX-512 code
// (a scalar "packet" of size 1 where Eigen does not vectorise).
#include <Eigen/Core>
#include <type_traits>

#include "gmmcore/types.hpp"

namespace gmmcore::detail {

template <class T>
using Packet = typename Eigen::internal::packet_traits<T>::type;

template <class T>
inline constexpr Index kPacket = Eigen::internal::unpacket_traits<Packet<T>>::size;

// Vector registers of the target: 32 with AVX-512, 16 with SSE/AVX2.
inline constexpr int kRegisters = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS;

inline constexpr Index round_up(Index n, Index multiple) { return (n + multiple - 1) / multiple * multiple; }

// Asks for the cache lines of n values at p ahead of their use, where the
// hardware cannot predict the reads (rows gathered by index).
template <class T>
inline void prefetch(const T* p, Index n) {
#if defined(__GNUC__) || defined(__clang__)
  const char* bytes = reinterpret_cast<const char*>(p);
  for (Index b = 0; b < n * Index(sizeof(T)); b += 64) __builtin_prefetch(bytes + b);
#else
  (void)p;
  (void)n;
#endif
}

// The layouts built on packets (padded rows, transposed blocks) and their
// rules are written in micro_kernels.hpp.

// Calls f(std::integral_constant<int, n>) for a run-time 1 <= n <= N, so that
// a kernel's register tile can be sized at compile time.
template <int N, class F>
inline void with_constant(Index n, F&& f) {
  if constexpr (N > 1) {
    if (n < N) return with_constant<N - 1>(n, f);
  }
  f(std::integral_constant<int, N>{});
}

}  // namespace gmmcore::detail
