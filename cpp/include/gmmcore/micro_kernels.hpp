#pragma once
// Register-tiled kernels for the O(N K D^2) and O(N K D) loops over samples,
// in two layouts: the quadratic forms read a transposed block (samples in the
// SIMD lanes, so no horizontal sums and no waste for small D); the scatter
// sums read padded rows (simd.hpp: D values stored in ld slots, zero beyond
// D). Each component is handled around its own mean, d_i = x_i - mu_k, as
// MATH.md writes it; P_k is upper triangular and the products skip the zeros
// below its diagonal.
#include <algorithm>

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

// Samples per transposed block row: a multiple of both kernels' tile widths.
template <class T>
inline constexpr Index kTransposedAlign = kDiagRowPackets * kPacket<T>;

// Columns of a stored P: D rounded up to whole column tiles.
inline Index factor_columns(Index D) { return round_up(D, kTileColumns); }

// xt(d, i) = x(i, d) for the first `rows` rows of x (D columns, row stride
// ldx) into xt (row stride ldt), in packet-square tiles.
#if defined(__GNUC__)
#pragma GCC diagnostic push
// PacketBlock<__m128d, 2> drops the vector type's alignment attribute, as in Eigen's own kernels.
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif
template <class T>
void transpose_rows(const T* x, Index ldx, Index rows, Index D, T* xt, Index ldt) {
  using namespace Eigen::internal;
  using P = Packet<T>;
  constexpr int L = int(kPacket<T>);
  const Index rows_packed = rows / L * L, cols_packed = D / L * L;
  for (Index i0 = 0; i0 < rows_packed; i0 += L) {
    for (Index d0 = 0; d0 < cols_packed; d0 += L) {
      PacketBlock<P, L> tile;
      for (int r = 0; r < L; ++r) tile.packet[r] = ploadu<P>(x + (i0 + r) * ldx + d0);
      ptranspose(tile);
      for (int r = 0; r < L; ++r) pstoreu(xt + (d0 + r) * ldt + i0, tile.packet[r]);
    }
    for (Index d = cols_packed; d < D; ++d)
      for (Index r = 0; r < L; ++r) xt[d * ldt + i0 + r] = x[(i0 + r) * ldx + d];
  }
  for (Index i = rows_packed; i < rows; ++i)
    for (Index d = 0; d < D; ++d) xt[d * ldt + i] = x[i * ldx + d];
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
// and M of row stride factor_columns(D).
template <class T>
EIGEN_ALWAYS_INLINE void product_tile(const T* scratch, Index d_end, const T* m, Index ldm, Index j0,
                                      Packet<T> (&acc)[kRowPackets][kTileColumns]) {
  using namespace Eigen::internal;
  using P = Packet<T>;
  constexpr Index L = kPacket<T>, W = kRowPackets * L;
  GMMCORE_UNROLL for (int rp = 0; rp < kRowPackets; ++rp)
      GMMCORE_UNROLL for (int j = 0; j < kTileColumns; ++j) acc[rp][j] = pset1<P>(T(0));
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

// quad[i] = |(x_i - mu)^T P|^2 for the samples x_i stored transposed in xt
// (D rows of stride ldt, a multiple of kTransposedAlign; quad has ldt slots),
// with P (D rows of stride factor_columns(D)) upper triangular and zero beyond
// column D. scratch holds D * kRowPackets packets.
template <class T>
void quadratic_forms_full(const T* xt, Index ldt, Index D, const T* mu, const T* p, T* scratch, T* quad) {
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
      GMMCORE_UNROLL for (int rp = 0; rp < kRowPackets; ++rp)
          GMMCORE_UNROLL for (int j = 0; j < kTileColumns; ++j) q[rp] = pmadd(acc[rp][j], acc[rp][j], q[rp]);
    }
    GMMCORE_UNROLL for (int rp = 0; rp < kRowPackets; ++rp) pstoreu(quad + i0 + rp * L, q[rp]);
  }
}

// out(j, i) = sum_d (x_i - mu)_d M(d, j) for the samples stored transposed as
// in quadratic_forms_full, with M dense (D rows of stride factor_columns(D),
// zero beyond column D); out has factor_columns(D) rows of stride ldt.
template <class T>
void dense_products_transposed(const T* xt, Index ldt, Index D, const T* mu, const T* m, T* scratch, T* out) {
  using namespace Eigen::internal;
  constexpr Index L = kPacket<T>, W = kRowPackets * L;
  for (Index i0 = 0; i0 < ldt; i0 += W) {
    centred_tile(xt, ldt, D, mu, i0, scratch);
    for (Index j0 = 0; j0 < D; j0 += kTileColumns) {
      Packet<T> acc[kRowPackets][kTileColumns];
      product_tile(scratch, D, m, factor_columns(D), j0, acc);
      GMMCORE_UNROLL for (int j = 0; j < kTileColumns; ++j)
          GMMCORE_UNROLL for (int rp = 0; rp < kRowPackets; ++rp) pstoreu(out + (j0 + j) * ldt + i0 + rp * L, acc[rp][j]);
    }
  }
}

// quad[i] = sum_d (x_id - mu_d)^2 p_d for samples stored transposed as in
// quadratic_forms_full.
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
  GMMCORE_UNROLL for (int r = 0; r < MR; ++r) GMMCORE_UNROLL for (int c = 0; c < NP; ++c) pstoreu(
      s + r * ld + c * L, padd(ploadu<P>(s + r * ld + c * L), acc[r][c]));
}

// d_i = x_i - mu (stride ld; skipped when mu is null, d_i = x_i) and w_i = r_i d_i
// (stride ldw) for `rows` padded rows x_i (stride ld), and s += sum_i w_i: the
// operands of scatter_full.
template <class T>
void weighted_differences(const T* x, Index rows, Index ld, const T* mu, const T* r, T* d, T* w, Index ldw, T* s) {
  using namespace Eigen::internal;
  using P = Packet<T>;
  constexpr Index L = kPacket<T>;
  for (Index c = 0; c < ld; c += L) {
    const P m = mu ? ploadu<P>(mu + c) : pset1<P>(T(0));
    P sum = pset1<P>(T(0));
    for (Index i = 0; i < rows; ++i) {
      const P t = psub(ploadu<P>(x + i * ld + c), m);
      const P u = pmul(pset1<P>(r[i]), t);
      if (mu) pstoreu(d + i * ld + c, t);
      pstoreu(w + i * ldw + c, u);
      sum = padd(sum, u);
    }
    pstoreu(s + c, padd(ploadu<P>(s + c), sum));
  }
}

// Rows of a scatter matrix: D rounded up to whole tiles.
inline Index scatter_rows(Index D) { return round_up(D, kTileRows); }

// S += sum_i w_i d_i^T on and below the diagonal (tiles also reach a little
// above it), for `rows` padded rows w_i (stride ldw >= scatter_rows(D), zero
// beyond D) and d_i (stride ld). S is scatter_rows(D) rows of stride ld.
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

// Features up to which scatter_transposed serves both covariance forms: its
// D (D + 3) / 2 packet accumulators must fit the registers.
inline constexpr Index kFewFeatures = 4;

// With d_i = x_i - mu for the samples stored transposed in xt (D <= kFewFeatures
// rows of stride ldt, rows < `rows` read): s += sum_i r_i d_i, and if kFull the
// lower triangle of S (rows of stride lds) += sum_i r_i d_i d_i^T, else
// q += sum_i r_i d_i^2 (elementwise). Samples sit in the SIMD lanes, so a small D
// wastes no lanes on padding.
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

// s += sum_i r_i (x_i - mu), q += sum_i r_i (x_i - mu)^2 (elementwise) for
// `rows` padded rows x_i (stride ld); s and q are padded rows.
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

}  // namespace gmmcore::detail

#undef GMMCORE_UNROLL
