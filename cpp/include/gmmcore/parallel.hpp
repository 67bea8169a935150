#pragma once
// Deterministic blocked loops over samples. Rows are split into chunks whose
// boundaries depend only on the problem size, never on the thread count; each
// chunk is processed sequentially in blocks of kBlockRows rows, and per-chunk
// partial sums are combined in chunk order. Results are therefore bitwise
// identical for any OMP_NUM_THREADS. Every block first checks the caller's
// stop token (interrupt.hpp), on whichever thread runs it.
#include <algorithm>
#include <exception>
#include <vector>

#include "gmmcore/interrupt.hpp"
#include "gmmcore/types.hpp"

namespace gmmcore::detail {

// Rows per block: the per-thread workspace is a few (kBlockRows x D) and
// (kBlockRows x K) matrices, small enough to stay in L2.
constexpr Index kBlockRows = 256;
// At most this many partial results of a reduction are alive at once.
constexpr Index kMaxChunks = 64;
constexpr Index kPartialBudgetBytes = Index(32) << 20;

struct RowRange {
  Index begin;
  Index end;
  Index size() const { return end - begin; }
};

// Up to this many blocks share a chunk when each has little work (under
// kChunkWork, roughly flops): a chunk allocates its workspace and partial
// result, which for a small pass costs as much as a block's work.
constexpr Index kMaxChunkBlocks = 4;
constexpr Index kChunkWork = Index(1) << 20;

// Number of chunks for a pass over n_rows rows of row_cost each whose
// per-chunk partial result takes partial_bytes: one per block (or per few
// light blocks), capped by kMaxChunks and the budget.
inline Index chunk_count(Index n_rows, Index row_cost, Index partial_bytes) {
  const Index blocks = (n_rows + kBlockRows - 1) / kBlockRows;
  const Index per_chunk = std::clamp<Index>(kChunkWork / std::max<Index>(1, kBlockRows * row_cost), 1, kMaxChunkBlocks);
  const Index by_memory = std::max<Index>(1, kPartialBudgetBytes / std::max<Index>(1, partial_bytes));
  return std::max<Index>(1, std::min({(blocks + per_chunk - 1) / per_chunk, kMaxChunks, by_memory}));
}

// Rows of chunk c out of n_chunks over [0, n_rows), block-aligned.
inline RowRange chunk_rows(Index n_rows, Index n_chunks, Index c) {
  const Index blocks = (n_rows + kBlockRows - 1) / kBlockRows;
  const Index begin_block = blocks * c / n_chunks, end_block = blocks * (c + 1) / n_chunks;
  return {std::min(n_rows, begin_block * kBlockRows), std::min(n_rows, end_block * kBlockRows)};
}

// Below this much work (rows times the caller's per-row cost, roughly flops)
// a pass runs on the calling thread: starting a parallel region would cost
// more than it saves. The chunking, hence the result, is the same either way.
constexpr Index kParallelMinWork = Index(1) << 18;

// Calls body(c) for every chunk c in [0, n_chunks), on the OpenMP threads when
// `parallel`. An exception never crosses the parallel region: the one from the
// lowest chunk is rethrown afterwards, so the error reported does not depend
// on timing. The workers see the calling thread's stop token.
template <class Body>
void for_each_chunk(Index n_chunks, bool parallel, Body&& body) {
  std::vector<std::exception_ptr> errors(static_cast<size_t>(n_chunks));
  StopToken* const token = current_stop_token();
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
  for (Index c = 0; c < n_chunks; ++c) {
    try {
      const TokenBinding binding(token);
      body(c);
    } catch (...) {
      errors[static_cast<size_t>(c)] = std::current_exception();
    }
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// Calls block(range) for consecutive blocks of kBlockRows rows inside `rows`.
template <class Block>
void for_each_block(RowRange rows, Block&& block) {
  for (Index b = rows.begin; b < rows.end; b += kBlockRows) {
    check_interrupt();
    block(RowRange{b, std::min(rows.end, b + kBlockRows)});
  }
}

// Per-chunk scratch of a pass that needs none.
struct NoScratch {};

// Map over all rows (no reduction): block(scratch, range) for every block, in
// parallel when n_rows * row_cost is worth it. Each chunk of consecutive
// blocks gets its own default-constructed Scratch, so workspaces are allocated
// once per chunk rather than once per block.
template <class Scratch, class Block>
void parallel_blocks_with(Index n_rows, Index row_cost, Block&& block) {
  const Index n_chunks = chunk_count(n_rows, row_cost, 0);
  for_each_chunk(n_chunks, n_rows * row_cost >= kParallelMinWork, [&](Index c) {
    Scratch scratch;
    for_each_block(chunk_rows(n_rows, n_chunks, c), [&](RowRange r) { block(scratch, r); });
  });
}

template <class Block>
void parallel_blocks(Index n_rows, Index row_cost, Block&& block) {
  parallel_blocks_with<NoScratch>(n_rows, row_cost, [&](NoScratch&, RowRange r) { block(r); });
}

// Deterministic reduction: partial[c] = make(); fold(partial[c], scratch, block
// range) for each block of chunk c (scratch as in parallel_blocks_with);
// returns partial[0] += partial[1] += ... in order.
template <class Acc, class Scratch, class Make, class Fold>
Acc reduce_blocks_with(Index n_rows, Index row_cost, Index partial_bytes, Make&& make, Fold&& fold) {
  const Index n_chunks = chunk_count(n_rows, row_cost, partial_bytes);
  std::vector<Acc> partial(static_cast<size_t>(n_chunks));
  for_each_chunk(n_chunks, n_rows * row_cost >= kParallelMinWork, [&](Index c) {
    Acc acc = make();
    Scratch scratch;
    for_each_block(chunk_rows(n_rows, n_chunks, c), [&](RowRange r) { fold(acc, scratch, r); });
    partial[static_cast<size_t>(c)] = std::move(acc);
  });
  for (size_t c = 1; c < partial.size(); ++c) partial[0] += partial[c];
  return std::move(partial[0]);
}

template <class Acc, class Make, class Fold>
Acc reduce_blocks(Index n_rows, Index row_cost, Index partial_bytes, Make&& make, Fold&& fold) {
  return reduce_blocks_with<Acc, NoScratch>(n_rows, row_cost, partial_bytes, make,
                                            [&](Acc& acc, NoScratch&, RowRange r) { fold(acc, r); });
}

}  // namespace gmmcore::detail
