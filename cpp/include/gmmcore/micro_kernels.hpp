#pragma once
// Register-tiled kernels for the O(N K D^2) and O(N K D) loops over samples,
// in two layouts: the quadratic forms read a transposed block (samples in the
// SIMD lanes, so no horizontal sums and no waste for small D); the scatter
// sums read padded rows. Each component is handled around its own mean,
// d_i = x_i - mu_k, as docs/math.md writes it; P_k is upper triangular and the
// products skip the zeros below its diagonal.
//
// Layouts. The kernels take their operands as the small views below (trivially
// copyable, passed by value, no code of their own), and these are the only
// rules they rely on; check_layout() asserts them at each kernel's entry in
// debug builds (NDEBUG not defined), zero padding included.
//
//   RowBlock<T>        `rows` rows of `cols` values, row stride `ld` >= cols.
//                      Any row-major block: transpose_rows' operands.
//   PaddedRows<T>      `rows` rows of `features` (= D) values, row stride `ld`
//                      a multiple of kPacket<T> and >= padded_length<T>(D);
//                      columns [D, ld) are ZERO in an operand (the kernels run
//                      over whole packets and the padding must add nothing),
//                      and stay zero in an accumulator. The w rows of
//                      scatter_full also need ld >= scatter_rows(D) (its row
//                      tiles read w there). A scatter matrix S is
//                      scatter_rows(D) padded rows; its rows past D are never
//                      meaningful, nor is the part above the diagonal.
//   TransposedBlock<T> `features` rows (D, or factor_columns(D) for an output)
//                      by `samples` columns, row stride `ld` a multiple of
//                      kTransposedAlign<T> and >= samples. The kernels run
//                      over all ld columns: columns [samples, ld) must be
//                      readable (any finite or not) and are garbage in outputs.
//   UpperFactor<T>     D rows of stride ld = factor_columns(D): an upper
//                      triangular D x D matrix, ZERO past column D and below
//                      the diagonal: whole column tiles are multiplied.
// Vectors (means mu, diagonal precisions, responsibilities r) are plain
// pointers to D (transposed kernels) or `rows` values; a mean that a padded-row
// kernel subtracts is itself a padded row (ld values, zero past D).
#include <algorithm>
#include <cassert>
#include <type_traits>

#include "gmmcore/simd.hpp"

#define GMMCORE_UNROLL _Pragma("GCC unroll 16")

namespace gmmcore::detail {

// Accumulator tiles, sized so that with their operands they fill the
// register file without spilling: the row-major scatter kernel holds kTileRows
// rows by up to kTilePackets packets; the transposed kernels hold
// kRowPackets packets of samples by kTileColumns columns.
inline constexpr int kTileRows = kRegisters >= 32 ? 8 : 4;
inline constexpr int kTilePackets = 3;
inline constexpr int kRowPackets = kRegisters >= 32 ? 4 : 2;
inline constexpr int kTileColumns = 4;
inline constexpr int kDiagRowPackets = kRegisters >= 32 ? 8 : 4;
// weighted_gram_transposed's tile of (row, column) pairs of S, samples in the lanes.
inline constexpr int kGramTileRows = kRegisters >= 32 ? 4 : 2;
inline constexpr int kGramTileColumns = 4;

// The sizes of the layouts above.
// Row stride of a padded row: D rounded up to whole packets.
template <class T>
Index padded_length(Index n_features) {
  return round_up(n_features, kPacket<std::remove_const_t<T>>);
}
// Row stride of a transposed block: samples rounded up to a multiple of both
// transposed kernels' tile widths.
template <class T>
inline constexpr Index kTransposedAlign = kDiagRowPackets * kPacket<std::remove_const_t<T>>;
// Row stride of a factor: D rounded up to whole column tiles.
inline Index factor_columns(Index D) { return round_up(D, kTileColumns); }
// Rows of a scatter matrix: D rounded up to whole row tiles.
inline Index scatter_rows(Index D) { return round_up(D, kTileRows); }

// Views. A view of T converts to the view of const T.
#define GMMCORE_VIEW_TO_CONST(View, ...)                                                          \
  template <class U, class = std::enable_if_t<!std::is_const_v<T> && std::is_same_v<U, const T>>> \
  operator View() const {                                                                         \
    return {__VA_ARGS__};                                                                         \
  }

template <class T>
struct RowBlock {
  T* data;
  Index rows, cols, ld;
  GMMCORE_VIEW_TO_CONST(RowBlock<U>, data, rows, cols, ld)
};

template <class T>
struct PaddedRows {
  T* data;
  Index rows, features, ld;
  T* row(Index i) const { return data + i * ld; }
  GMMCORE_VIEW_TO_CONST(PaddedRows<U>, data, rows, features, ld)
};

template <class T>
struct TransposedBlock {
  T* data;
  Index features, samples, ld;
  GMMCORE_VIEW_TO_CONST(TransposedBlock<U>, data, features, samples, ld)
};

template <class T, bool kUpper>
struct FactorRows {
  T* data;
  Index features, ld;
  template <class U, class = std::enable_if_t<!std::is_const_v<T> && std::is_same_v<U, const T>>>
  operator FactorRows<U, kUpper>() const {
    return {data, features, ld};
  }
};
template <class T>
using UpperFactor = FactorRows<T, true>;
#undef GMMCORE_VIEW_TO_CONST

// Views of row-major Eigen objects (matrices, blocks of rows, rows): the
// element type, const or not, follows m.data().
template <class M>
auto row_block(M&& m) {
  return RowBlock<std::remove_pointer_t<decltype(m.data())>>{m.data(), m.rows(), m.cols(), m.outerStride()};
}
template <class M>
auto padded_rows(M&& m, Index features) {
  return PaddedRows<std::remove_pointer_t<decltype(m.data())>>{m.data(), m.rows(), features, m.outerStride()};
}
template <class M>
auto transposed_block(M&& m, Index samples) {
  return TransposedBlock<std::remove_pointer_t<decltype(m.data())>>{m.data(), m.rows(), samples, m.outerStride()};
}
// The factor of component k in a stack of K factors of D rows each.
template <bool kUpper, class M>
auto factor_rows(M&& m, Index k, Index D) {
  return FactorRows<std::remove_pointer_t<decltype(m.data())>, kUpper>{m.data() + k * D * m.outerStride(), D,
                                                                       m.outerStride()};
}

// Debug assertions of the layout rules; empty (and free) under NDEBUG.
template <class T>
inline void check_layout([[maybe_unused]] RowBlock<T> v) {
#ifndef NDEBUG
  assert((v.data != nullptr || v.rows == 0) && v.rows >= 0 && v.cols >= 0 && v.ld >= v.cols);
#endif
}
// An operand (check_zeros) has zeros past D; an accumulator's padding is not scanned.
template <class T>
inline void check_layout([[maybe_unused]] PaddedRows<T> v, [[maybe_unused]] bool check_zeros,
                         [[maybe_unused]] Index min_ld = 0) {
#ifndef NDEBUG
  assert((v.data != nullptr || v.rows == 0) && v.rows >= 0 && v.features >= 1);
  assert(v.ld % kPacket<std::remove_const_t<T>> == 0 && v.ld >= padded_length<T>(v.features) && v.ld >= min_ld);
  if (!check_zeros) return;
  for (Index i = 0; i < v.rows; ++i)
    for (Index c = v.features; c < v.ld; ++c) assert(v.row(i)[c] == T(0) && "padded row: zero past D");
#endif
}
template <class T>
inline void check_layout([[maybe_unused]] TransposedBlock<T> v) {
#ifndef NDEBUG
  assert(v.data != nullptr && v.features >= 1 && v.samples >= 0);
  assert(v.ld % kTransposedAlign<T> == 0 && v.ld >= v.samples);
#endif
}
template <class T, bool kUpper>
inline void check_layout([[maybe_unused]] FactorRows<T, kUpper> v) {
#ifndef NDEBUG
  assert(v.data != nullptr && v.features >= 1 && v.ld == factor_columns(v.features));
  for (Index d = 0; d < v.features; ++d) {
    for (Index j = v.features; j < v.ld; ++j) assert(v.data[d * v.ld + j] == T(0) && "factor: zero past column D");
    if (kUpper)
      for (Index j = 0; j < d; ++j) assert(v.data[d * v.ld + j] == T(0) && "upper factor: zero below the diagonal");
  }
#endif
}

// The kernels' loops, on raw pointers and strides; called only through the
// entry points below, which take the views and check them.
namespace kernel_impl {

// Each loop below is documented at its entry point (same name, further down).
#if defined(__GNUC__)
#pragma GCC diagnostic push
// PacketBlock<__m128d, 2> drops the vector type's alignment attribute, as in Eigen's own kernels.
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif
// row(i) is a pointer to the D values of row i; kPrefetch (rows gathered by
// index, which the hardware cannot predict) asks for the next tile's rows.
template <bool kPrefetch = false, class T, class RowAt>
void transpose_rows(RowAt row, Index rows, Index D, T* xt, Index ldt) {
  using namespace Eigen::internal;
  using P = Packet<T>;
  constexpr int L = int(kPacket<T>);
  const Index rows_packed = rows / L * L, cols_packed = D / L * L;
  for (Index i0 = 0; i0 < rows_packed; i0 += L) {
    const T* src[L];
    for (int r = 0; r < L; ++r) src[r] = row(i0 + r);
    if constexpr (kPrefetch)
      for (Index r = i0 + L; r < std::min(rows, i0 + 2 * L); ++r) prefetch(row(r), D);
    for (Index d0 = 0; d0 < cols_packed; d0 += L) {
      PacketBlock<P, L> tile;
      for (int r = 0; r < L; ++r) tile.packet[r] = ploadu<P>(src[r] + d0);
      ptranspose(tile);
      for (int r = 0; r < L; ++r) pstoreu(xt + (d0 + r) * ldt + i0, tile.packet[r]);
    }
    for (Index d = cols_packed; d < D; ++d)
      for (Index r = 0; r < L; ++r) xt[d * ldt + i0 + r] = src[r][d];
  }
  for (Index i = rows_packed; i < rows; ++i)
    for (Index d = 0; d < D; ++d) xt[d * ldt + i] = row(i)[d];
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

// scratch (D rows of kRowPackets packets) = (x_i - mu)_d for the kRowPackets
// packets of samples from i0 of the transposed block xt (stride ldt).
template <class T>
EIGEN_ALWAYS_INLINE void centred_tile(const T* xt, Index ldt, Index D, const T* mu, Index i0, T* scratch) {
  using namespace Eigen::internal;
  using P = Packet<T>;
  constexpr Index L = kPacket<T>, W = kRowPackets * L;
  for (Index d = 0; d < D; ++d) {
    const P m = pset1<P>(mu[d]);
    GMMCORE_UNROLL for (int rp = 0; rp < kRowPackets; ++rp)
        pstoreu(scratch + d * W + rp * L, psub(ploadu<P>(xt + d * ldt + i0 + rp * L), m));
  }
}

// acc[rp][j] = sum_{d < d_end} scratch_d[rp] M(d, j0 + j) for a centred_tile
// and M of row stride ldm.
template <class T>
EIGEN_ALWAYS_INLINE void product_tile(const T* scratch, Index d_end, const T* m, Index ldm, Index j0,
                                      Packet<T> (&acc)[kRowPackets][kTileColumns]) {
  using namespace Eigen::internal;
  using P = Packet<T>;
  constexpr Index L = kPacket<T>, W = kRowPackets * L;
  GMMCORE_UNROLL for (int rp = 0; rp < kRowPackets; ++rp) GMMCORE_UNROLL for (int j = 0; j < kTileColumns; ++j)
      acc[rp][j] = pset1<P>(T(0));
  for (Index d = 0; d < d_end; ++d) {
    P v[kRowPackets];
    GMMCORE_UNROLL for (int rp = 0; rp < kRowPackets; ++rp) v[rp] = ploadu<P>(scratch + d * W + rp * L);
    const T* row = m + d * ldm + j0;
    GMMCORE_UNROLL for (int j = 0; j < kTileColumns; ++j) {
      const P b = pset1<P>(row[j]);
      GMMCORE_UNROLL for (int rp = 0; rp < kRowPackets; ++rp) acc[rp][j] = pmadd(v[rp], b, acc[rp][j]);
    }
  }
}

// z_i = P^T (x_i - mu) into out (kStoreZ) and |z_i|^2 into quad (kQuad): the
// one loop of quadratic_forms_full and upper_products_transposed, so that
// both give |z|^2 the same rounding.
template <bool kStoreZ, bool kQuad, class T>
void upper_products(const T* xt, Index ldt, Index D, const T* mu, const T* p, T* scratch, T* out, T* quad) {
  using namespace Eigen::internal;
  using P = Packet<T>;
  constexpr Index L = kPacket<T>, W = kRowPackets * L;
  for (Index i0 = 0; i0 < ldt; i0 += W) {
    centred_tile(xt, ldt, D, mu, i0, scratch);
    P q[kRowPackets];
    GMMCORE_UNROLL for (int rp = 0; rp < kRowPackets; ++rp) q[rp] = pset1<P>(T(0));
    for (Index j0 = 0; j0 < D; j0 += kTileColumns) {
      // z_j = sum_{d <= j} (x - mu)_d P_dj: the tile's columns need rows d < j0 + kTileColumns.
      P acc[kRowPackets][kTileColumns];
      product_tile(scratch, std::min(D, j0 + kTileColumns), p, factor_columns(D), j0, acc);
      if constexpr (kStoreZ)
        GMMCORE_UNROLL for (int j = 0; j < kTileColumns; ++j) GMMCORE_UNROLL for (int rp = 0; rp < kRowPackets; ++rp)
            pstoreu(out + (j0 + j) * ldt + i0 + rp * L, acc[rp][j]);
      if constexpr (kQuad)
        GMMCORE_UNROLL for (int rp = 0; rp < kRowPackets; ++rp) GMMCORE_UNROLL for (int j = 0; j < kTileColumns; ++j)
            q[rp] = pmadd(acc[rp][j], acc[rp][j], q[rp]);
    }
    if constexpr (kQuad) GMMCORE_UNROLL for (int rp = 0; rp < kRowPackets; ++rp) pstoreu(quad + i0 + rp * L, q[rp]);
  }
}

template <class T>
void quadratic_forms_diag(const T* xt, Index ldt, Index D, const T* mu, const T* prec, T* quad) {
  using namespace Eigen::internal;
  using P = Packet<T>;
  constexpr Index L = kPacket<T>, W = kDiagRowPackets * L;
  for (Index i0 = 0; i0 < ldt; i0 += W) {
    P acc[kDiagRowPackets];
    GMMCORE_UNROLL for (int rp = 0; rp < kDiagRowPackets; ++rp) acc[rp] = pset1<P>(T(0));
    for (Index d = 0; d < D; ++d) {
      const P m = pset1<P>(mu[d]), pd = pset1<P>(prec[d]);
      GMMCORE_UNROLL for (int rp = 0; rp < kDiagRowPackets; ++rp) {
        const P t = psub(ploadu<P>(xt + d * ldt + i0 + rp * L), m);
        acc[rp] = pmadd(pmul(t, t), pd, acc[rp]);
      }
    }
    GMMCORE_UNROLL for (int rp = 0; rp < kDiagRowPackets; ++rp) pstoreu(quad + i0 + rp * L, acc[rp]);
  }
}

// y[k * ldy + i] = sum_d (x_id - c_kd)^2 for the CK centres from c (stride
// ldc) and the kRowPackets packets of samples from i0.
template <class T, int CK>
EIGEN_ALWAYS_INLINE void distance_tile(const T* xt, Index ldt, Index D, const T* c, Index ldc, Index i0, T* y,
                                       Index ldy) {
  using namespace Eigen::internal;
  using P = Packet<T>;
  constexpr Index L = kPacket<T>;
  P acc[CK][kRowPackets];
  GMMCORE_UNROLL for (int k = 0; k < CK; ++k) GMMCORE_UNROLL for (int rp = 0; rp < kRowPackets; ++rp) acc[k][rp] =
      pset1<P>(T(0));
  for (Index d = 0; d < D; ++d) {
    P xv[kRowPackets];
    GMMCORE_UNROLL for (int rp = 0; rp < kRowPackets; ++rp) xv[rp] = ploadu<P>(xt + d * ldt + i0 + rp * L);
    GMMCORE_UNROLL for (int k = 0; k < CK; ++k) {
      const P ck = pset1<P>(c[k * ldc + d]);
      GMMCORE_UNROLL for (int rp = 0; rp < kRowPackets; ++rp) {
        const P t = psub(xv[rp], ck);
        acc[k][rp] = pmadd(t, t, acc[k][rp]);
      }
    }
  }
  GMMCORE_UNROLL for (int k = 0; k < CK; ++k) GMMCORE_UNROLL for (int rp = 0; rp < kRowPackets; ++rp)
      pstoreu(y + k * ldy + i0 + rp * L, acc[k][rp]);
}

template <class T>
void squared_distances(const T* xt, Index ldt, Index D, const T* c, Index ldc, Index K, T* y, Index ldy) {
  constexpr Index W = kRowPackets * kPacket<T>;
  for (Index i0 = 0; i0 < ldt; i0 += W) {
    Index k = 0;
    for (; k + kTileColumns <= K; k += kTileColumns)
      distance_tile<T, kTileColumns>(xt, ldt, D, c + k * ldc, ldc, i0, y + k * ldy, ldy);
    for (; k < K; ++k) distance_tile<T, 1>(xt, ldt, D, c + k * ldc, ldc, i0, y + k * ldy, ldy);
  }
}

// s (MR rows of stride ld) += sum_i w_i[0, MR) d_i[packets 0..NP)^T for `rows`
// rows w_i (stride ldw) and d_i (stride ld).
template <class T, int MR, int NP>
inline void scatter_tile(const T* w, Index ldw, const T* d, Index ld, Index rows, T* s) {
  using namespace Eigen::internal;
  using P = Packet<T>;
  constexpr Index L = kPacket<T>;
  P acc[MR][NP];
  GMMCORE_UNROLL for (int r = 0; r < MR; ++r) GMMCORE_UNROLL for (int c = 0; c < NP; ++c) acc[r][c] = pset1<P>(T(0));
  for (Index i = 0; i < rows; ++i) {
    P dc[NP];
    GMMCORE_UNROLL for (int c = 0; c < NP; ++c) dc[c] = ploadu<P>(d + i * ld + c * L);
    GMMCORE_UNROLL for (int r = 0; r < MR; ++r) {
      const P b = pset1<P>(w[i * ldw + r]);
      GMMCORE_UNROLL for (int c = 0; c < NP; ++c) acc[r][c] = pmadd(b, dc[c], acc[r][c]);
    }
  }
  GMMCORE_UNROLL for (int r = 0; r < MR; ++r) GMMCORE_UNROLL for (int c = 0; c < NP; ++c)
      pstoreu(s + r * ld + c * L, padd(ploadu<P>(s + r * ld + c * L), acc[r][c]));
}

// centred_weighted_rows (kCentred) and weighted_rows (d not written).
template <bool kCentred, class T>
void weighted_rows(const T* x, Index rows, Index ld, const T* mu, const T* r, T* d, T* w, Index ldw, T* s) {
  using namespace Eigen::internal;
  using P = Packet<T>;
  constexpr Index L = kPacket<T>;
  for (Index c = 0; c < ld; c += L) {
    const P m = kCentred ? ploadu<P>(mu + c) : pset1<P>(T(0));
    P sum = pset1<P>(T(0));
    for (Index i = 0; i < rows; ++i) {
      const P t = psub(ploadu<P>(x + i * ld + c), m);
      const P u = pmul(pset1<P>(r[i]), t);
      if (kCentred) pstoreu(d + i * ld + c, t);
      pstoreu(w + i * ldw + c, u);
      sum = padd(sum, u);
    }
    pstoreu(s + c, padd(ploadu<P>(s + c), sum));
  }
}

template <class T>
void scatter_full(const T* w, Index ldw, const T* d, Index ld, Index rows, Index D, T* s) {
  constexpr Index L = kPacket<T>;
  for (Index a0 = 0; a0 < D; a0 += kTileRows) {
    const Index packets = (std::min<Index>(a0 + kTileRows, D) - 1) / L + 1;  // columns up to the diagonal
    // A short last tile (or a small D) gets a tile of its own height.
    with_constant<kTileRows>(D - a0, [&](auto mr) {
      for (Index c0 = 0; c0 < packets; c0 += kTilePackets)
        with_constant<kTilePackets>(packets - c0, [&](auto np) {
          scatter_tile<T, decltype(mr)::value, decltype(np)::value>(w + a0, ldw, d + c0 * L, ld, rows,
                                                                    s + a0 * ld + c0 * L);
        });
    });
  }
}

template <class T, int D, bool kFull>
void scatter_transposed(const T* xt, Index ldt, Index rows, const T* mu, const T* r, T* s, T* sq, Index lds) {
  using namespace Eigen::internal;
  using P = Packet<T>;
  constexpr Index L = kPacket<T>;
  P acc_s[D], acc_q[D][D];
  GMMCORE_UNROLL for (int a = 0; a < D; ++a) {
    acc_s[a] = pset1<P>(T(0));
    GMMCORE_UNROLL for (int b = 0; b < D; ++b) acc_q[a][b] = pset1<P>(T(0));
  }
  const Index packed = rows / L * L;
  for (Index i = 0; i < packed; i += L) {
    const P ri = ploadu<P>(r + i);
    P d[D];
    GMMCORE_UNROLL for (int a = 0; a < D; ++a) d[a] = psub(ploadu<P>(xt + a * ldt + i), pset1<P>(mu[a]));
    GMMCORE_UNROLL for (int a = 0; a < D; ++a) {
      const P w = pmul(ri, d[a]);
      acc_s[a] = padd(acc_s[a], w);
      if (kFull) {
        GMMCORE_UNROLL for (int b = 0; b <= a; ++b) acc_q[a][b] = pmadd(w, d[b], acc_q[a][b]);
      } else {
        acc_q[a][a] = pmadd(w, d[a], acc_q[a][a]);
      }
    }
  }
  T tail_s[D] = {}, tail_q[D][D] = {};
  for (Index i = packed; i < rows; ++i) {
    for (int a = 0; a < D; ++a) {
      const T da = xt[a * ldt + i] - mu[a], w = r[i] * da;
      tail_s[a] += w;
      for (int b = kFull ? 0 : a; b <= a; ++b) tail_q[a][b] += w * (xt[b * ldt + i] - mu[b]);
    }
  }
  for (int a = 0; a < D; ++a) {
    s[a] += predux(acc_s[a]) + tail_s[a];
    if (kFull)
      for (int b = 0; b <= a; ++b) sq[a * lds + b] += predux(acc_q[a][b]) + tail_q[a][b];
    else
      sq[a] += predux(acc_q[a][a]) + tail_q[a][a];
  }
}

// acc[a][b] += sum over the packed samples of w_{a0+a} z_{b0+b} (MA x NB
// packet accumulators), then s(a0 + a, b0 + b) += each one's lanes plus the
// tail samples' terms.
template <class T, int MA, int NB>
EIGEN_ALWAYS_INLINE void gram_tile(const T* zt, const T* wt, Index ldt, Index samples, Index a0, Index b0, T* s,
                                   Index lds) {
  using namespace Eigen::internal;
  using P = Packet<T>;
  constexpr Index L = kPacket<T>;
  P acc[MA][NB];
  GMMCORE_UNROLL for (int a = 0; a < MA; ++a) GMMCORE_UNROLL for (int b = 0; b < NB; ++b) acc[a][b] = pset1<P>(T(0));
  const Index packed = samples / L * L;
  for (Index i = 0; i < packed; i += L) {
    P zb[NB];
    GMMCORE_UNROLL for (int b = 0; b < NB; ++b) zb[b] = ploadu<P>(zt + (b0 + b) * ldt + i);
    GMMCORE_UNROLL for (int a = 0; a < MA; ++a) {
      const P wa = ploadu<P>(wt + (a0 + a) * ldt + i);
      GMMCORE_UNROLL for (int b = 0; b < NB; ++b) acc[a][b] = pmadd(wa, zb[b], acc[a][b]);
    }
  }
  for (int a = 0; a < MA; ++a)
    for (int b = 0; b < NB; ++b) {
      T sum = predux(acc[a][b]);
      for (Index i = packed; i < samples; ++i) sum += wt[(a0 + a) * ldt + i] * zt[(b0 + b) * ldt + i];
      s[(a0 + a) * lds + b0 + b] += sum;
    }
}

template <class T>
void weighted_gram_transposed(const T* zt, Index ldt, Index samples, Index D, const T* g, T* wt, T* gz, T* s,
                              Index lds) {
  using namespace Eigen::internal;
  using P = Packet<T>;
  constexpr Index L = kPacket<T>;
  const Index packed = samples / L * L;
  for (Index a = 0; a < D; ++a) {
    P acc = pset1<P>(T(0));
    for (Index i = 0; i < packed; i += L) {
      const P w = pmul(ploadu<P>(g + i), ploadu<P>(zt + a * ldt + i));
      pstoreu(wt + a * ldt + i, w);
      acc = padd(acc, w);
    }
    T sum = predux(acc);
    for (Index i = packed; i < samples; ++i) sum += wt[a * ldt + i] = g[i] * zt[a * ldt + i];
    gz[a] += sum;
  }
  if (s == nullptr) return;
  constexpr int MA = kGramTileRows, NB = kGramTileColumns;
  for (Index a0 = 0; a0 < D; a0 += MA)
    with_constant<MA>(D - a0, [&](auto ma) {
      // Column tiles up to the diagonal (the last may reach a little above it).
      for (Index b0 = 0; b0 < std::min(D, a0 + MA); b0 += NB)
        with_constant<NB>(std::min(D, a0 + MA) - b0, [&](auto nb) {
          gram_tile<T, decltype(ma)::value, decltype(nb)::value>(zt, wt, ldt, samples, a0, b0, s, lds);
        });
    });
}

template <class T>
void scatter_diag(const T* x, Index rows, Index ld, const T* mu, const T* r, T* s, T* q) {
  using namespace Eigen::internal;
  using P = Packet<T>;
  constexpr Index L = kPacket<T>;
  constexpr int kPackets = kRegisters >= 32 ? 8 : 4;
  const Index packets = ld / L;
  for (Index c0 = 0; c0 < packets; c0 += kPackets) {
    with_constant<kPackets>(packets - c0, [&](auto np_constant) {
      constexpr int NP = decltype(np_constant)::value;
      const Index offset = c0 * L;
      P m[NP], sa[NP], qa[NP];
      GMMCORE_UNROLL for (int c = 0; c < NP; ++c) {
        m[c] = ploadu<P>(mu + offset + c * L);
        sa[c] = qa[c] = pset1<P>(T(0));
      }
      for (Index i = 0; i < rows; ++i) {
        const P ri = pset1<P>(r[i]);
        GMMCORE_UNROLL for (int c = 0; c < NP; ++c) {
          const P t = psub(ploadu<P>(x + i * ld + offset + c * L), m[c]);
          const P u = pmul(ri, t);
          sa[c] = padd(sa[c], u);
          qa[c] = pmadd(u, t, qa[c]);
        }
      }
      GMMCORE_UNROLL for (int c = 0; c < NP; ++c) {
        pstoreu(s + offset + c * L, padd(ploadu<P>(s + offset + c * L), sa[c]));
        pstoreu(q + offset + c * L, padd(ploadu<P>(q + offset + c * L), qa[c]));
      }
    });
  }
}

}  // namespace kernel_impl

// Entry points: check the views (debug builds) and run the loops. Inlined, so
// that the views cost nothing over the raw arguments.

// xt(d, i) = x(i, d): x (rows, cols) into xt (cols, rows), in packet-square
// tiles.
template <class T>
EIGEN_ALWAYS_INLINE void transpose_rows(RowBlock<const T> x, RowBlock<T> xt) {
  check_layout(x);
  check_layout(xt);
  assert(xt.rows >= x.cols && xt.cols >= x.rows);
  kernel_impl::transpose_rows<false, T>([&](Index i) { return x.data + i * x.ld; }, x.rows, x.cols, xt.data, xt.ld);
}

// xt(d, j) = x(rows[j], d) for j < count: rows of x gathered by index into
// the columns of xt (rows[j] < x.rows, unchecked in release builds).
template <class T>
EIGEN_ALWAYS_INLINE void transpose_gathered_rows(RowBlock<const T> x, const Index* rows, Index count, RowBlock<T> xt) {
  check_layout(x);
  check_layout(xt);
  assert(xt.rows >= x.cols && xt.cols >= count);
#ifndef NDEBUG
  for (Index j = 0; j < count; ++j) assert(rows[j] >= 0 && rows[j] < x.rows);
#endif
  kernel_impl::transpose_rows<true, T>([&](Index j) { return x.data + rows[j] * x.ld; }, count, x.cols, xt.data, xt.ld);
}

// quad[i] = |(x_i - mu)^T P|^2 for all x.ld columns of x (quad has x.ld
// slots), mu of D values. scratch holds D * kRowPackets packets.
template <class T>
EIGEN_ALWAYS_INLINE void quadratic_forms_full(TransposedBlock<const T> x, const T* mu, UpperFactor<const T> p,
                                              T* scratch, T* quad) {
  check_layout(x);
  check_layout(p);
  assert(p.features == x.features);
  kernel_impl::upper_products<false, true, T>(x.data, x.ld, x.features, mu, p.data, scratch, nullptr, quad);
}

// out(j, i) = z_ij = sum_{d <= j} (x_i - mu)_d P(d, j) (z_i = P^T (x_i - mu))
// for all x.ld columns of x; out has factor_columns(D) rows (zero past D) and
// the stride of x. scratch as above. If quad is not null, quad[i] = |z_i|^2
// as quadratic_forms_full computes it (the same rounding).
template <class T>
EIGEN_ALWAYS_INLINE void upper_products_transposed(TransposedBlock<const T> x, const T* mu, UpperFactor<const T> p,
                                                   T* scratch, TransposedBlock<T> out, T* quad = nullptr) {
  check_layout(x);
  check_layout(p);
  check_layout(out);
  assert(p.features == x.features && out.features >= p.ld && out.ld == x.ld);
  if (quad)
    kernel_impl::upper_products<true, true, T>(x.data, x.ld, x.features, mu, p.data, scratch, out.data, quad);
  else
    kernel_impl::upper_products<true, false, T>(x.data, x.ld, x.features, mu, p.data, scratch, out.data, nullptr);
}

// quad[i] = sum_d (x_id - mu_d)^2 p_d for all x.ld columns of x (quad has
// x.ld slots), mu and p of D values.
template <class T>
EIGEN_ALWAYS_INLINE void quadratic_forms_diag(TransposedBlock<const T> x, const T* mu, const T* prec, T* quad) {
  check_layout(x);
  kernel_impl::quadratic_forms_diag<T>(x.data, x.ld, x.features, mu, prec, quad);
}

// y[k * ldy + i] = sum_d (x_id - c_kd)^2, in order over d, for all x.ld
// columns i of x and the K rows c_k of c (stride ldc >= D): squared
// distances, several centres per pass over the block (ldy >= x.ld).
template <class T>
EIGEN_ALWAYS_INLINE void squared_distances(TransposedBlock<const T> x, const T* c, Index ldc, Index K, T* y,
                                           Index ldy) {
  check_layout(x);
  assert(ldc >= x.features && ldy >= x.ld && K >= 0);
  kernel_impl::squared_distances<T>(x.data, x.ld, x.features, c, ldc, K, y, ldy);
}

// d_i = x_i - mu and w_i = r_i d_i for the padded rows x_i, and s += sum_i
// w_i (r of x.rows values; mu and s padded rows of x.ld values; d of the
// stride of x): the operands of scatter_full.
template <class T>
EIGEN_ALWAYS_INLINE void centred_weighted_rows(PaddedRows<const T> x, const T* mu, const T* r, PaddedRows<T> d,
                                               PaddedRows<T> w, T* s) {
  check_layout(x, true);
  check_layout(PaddedRows<const T>{mu, 1, x.features, x.ld}, true);
  check_layout(d, false);
  check_layout(w, false, x.ld);
  assert(d.rows >= x.rows && d.ld == x.ld && w.rows >= x.rows);
  kernel_impl::weighted_rows<true, T>(x.data, x.rows, x.ld, mu, r, d.data, w.data, w.ld, s);
}

// w_i = r_i x_i for the padded rows x_i, and s += sum_i w_i (s a padded row):
// the operand w of scatter_full, with x as d.
template <class T>
EIGEN_ALWAYS_INLINE void weighted_rows(PaddedRows<const T> x, const T* r, PaddedRows<T> w, T* s) {
  check_layout(x, true);
  check_layout(w, false, x.ld);
  assert(w.rows >= x.rows);
  kernel_impl::weighted_rows<false, T>(x.data, x.rows, x.ld, nullptr, r, nullptr, w.data, w.ld, s);
}

// S += sum_i w_i d_i^T on and below the diagonal (tiles also reach a little
// above it) for the padded rows w_i (ld >= scatter_rows(D)) and d_i; S is
// scatter_rows(D) padded rows of the stride of d.
template <class T>
EIGEN_ALWAYS_INLINE void scatter_full(PaddedRows<const T> w, PaddedRows<const T> d, PaddedRows<T> s) {
  check_layout(w, true, scatter_rows(w.features));
  check_layout(d, true);
  check_layout(s, false);
  assert(w.features == d.features && s.features == d.features && w.rows == d.rows);
  assert(s.rows >= scatter_rows(d.features) && s.ld == d.ld);
  kernel_impl::scatter_full<T>(w.data, w.ld, d.data, d.ld, d.rows, d.features, s.data);
}

// For the first z.samples samples z_i of z (D <= z.features rows): w_i =
// g_i z_i into w (D rows, the stride of z), gz (D values) += sum_i w_i and,
// unless s is null, the lower triangle of S (D padded rows of s; tiles also
// reach a little above it) += sum_i w_i z_i^T. Samples sit in the SIMD lanes:
// no transposition of z is needed.
template <class T>
EIGEN_ALWAYS_INLINE void weighted_gram_transposed(TransposedBlock<const T> z, Index D, const T* g, TransposedBlock<T> w,
                                                  T* gz, PaddedRows<T>* s) {
  check_layout(z);
  check_layout(w);
  assert(D >= 1 && D <= z.features && D <= w.features && w.ld == z.ld);
  if (s != nullptr) {
    check_layout(*s, false);
    assert(s->features == D && s->rows >= D);
  }
  kernel_impl::weighted_gram_transposed<T>(z.data, z.ld, z.samples, D, g, w.data, gz, s ? s->data : nullptr,
                                           s ? s->ld : 0);
}

// Features up to which scatter_transposed serves both covariance forms: its
// D (D + 3) / 2 packet accumulators must fit the registers.
inline constexpr Index kFewFeatures = 4;

// With d_i = x_i - mu (mu of D values) for the first x.samples samples of x
// (D <= kFewFeatures features): s += sum_i r_i d_i, and if kFull the lower
// triangle of S (the first D padded rows of sq) += sum_i r_i d_i d_i^T, else
// q (the padded row sq) += sum_i r_i d_i^2 (elementwise). Samples sit in the
// SIMD lanes, so a small D wastes no lanes on padding.
template <class T, int D, bool kFull>
EIGEN_ALWAYS_INLINE void scatter_transposed(TransposedBlock<const T> x, const T* mu, const T* r, T* s,
                                            PaddedRows<T> sq) {
  check_layout(x);
  check_layout(sq, false);
  assert(x.features == D && sq.features == D && sq.rows >= (kFull ? D : 1));
  kernel_impl::scatter_transposed<T, D, kFull>(x.data, x.ld, x.samples, mu, r, s, sq.data, sq.ld);
}

// s += sum_i r_i (x_i - mu), q += sum_i r_i (x_i - mu)^2 (elementwise) for the
// padded rows x_i; mu, s and q are padded rows (x.ld values).
template <class T>
EIGEN_ALWAYS_INLINE void scatter_diag(PaddedRows<const T> x, const T* mu, const T* r, T* s, T* q) {
  check_layout(x, true);
  check_layout(PaddedRows<const T>{mu, 1, x.features, x.ld}, true);
  kernel_impl::scatter_diag<T>(x.data, x.rows, x.ld, mu, r, s, q);
}

}  // namespace gmmcore::detail

#undef GMMCORE_UNROLL
