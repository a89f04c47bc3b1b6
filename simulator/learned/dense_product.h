// The register-blocked AVX2 matrix product behind DenseLayer and the dense edge block: rows of a
// product C = relu?(init + A B [+ gathered rows]) in 6 x 16 micro-tiles, the whole of a narrow B
// (the network's 64 x 64 weights) staying in L1. Compiled with function-level AVX2/FMA targets;
// callers check CpuHasAvx2Fma() first.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace flowdesign::simulator::learned {

constexpr int kPanel = 16;               // output columns per micro-tile: two AVX2 vectors
constexpr int kTileRows = 6;             // 12 accumulators + 2 weight vectors + 1 broadcast: 15 of 16 registers
constexpr int64_t kTileGrain = 16;       // micro-tile rows per parallel task (96 rows)
constexpr int64_t kReductionRows = 512;  // rows per partial sum of a weight gradient

// What a micro-tile does to its rows after the product and before storing them (each null: not
// at all): keep only the columns whose bit is set in mask_bits[i * mask_row] (bit k of that word:
// column k of the 16), then add addend[i * ld_addend + 0:16]. The backward passes use it to mask
// a gradient by a ReLU's activity and to add a residual's gradient without another pass.
struct TileEpilogue {
  const uint16_t* mask_bits = nullptr;
  int64_t mask_row = 0;
  const float* addend = nullptr;
  int64_t ld_addend = 0;
};

// The 16 bits of a word as two AVX2 lane masks (all ones where the bit is set).
struct LaneMasks {
  __m256 low, high;
};
__attribute__((target("avx2,fma"))) inline LaneMasks ExpandBits(uint16_t bits) {
  const __m256i low_bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const __m256i high_bits = _mm256_slli_epi32(low_bits, 8);
  const __m256i word = _mm256_set1_epi32(bits);
  return {_mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(word, low_bits), low_bits)),
          _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(word, high_bits), high_bits))};
}

// c[i, 0:16] = relu?(init[0:16] + sum_p A(i, p) b[p, 0:16] + adds[2i][0:16] + adds[2i + 1][0:16]),
// then the epilogue, for rows i < R, where A(i, p) = a[i * a_row + p * a_inner] and b has row
// stride ldb; init may be null (zeros), adds null (none). R is a template argument so that the
// accumulators stay in registers.
template <int R>
__attribute__((target("avx2,fma"))) void MicroTile(const float* a, int64_t a_row, int64_t a_inner, int64_t inner,
                                                    const float* b, int64_t ldb, const float* init,
                                                    const float* const* adds, bool relu, const TileEpilogue& epilogue,
                                                    float* c, int64_t ldc) {
  __m256 low[R], high[R];
  const __m256 init_low = init ? _mm256_loadu_ps(init) : _mm256_setzero_ps();
  const __m256 init_high = init ? _mm256_loadu_ps(init + 8) : _mm256_setzero_ps();
#pragma GCC unroll 6
  for (int i = 0; i < R; ++i) {
    low[i] = init_low;
    high[i] = init_high;
  }
  for (int64_t p = 0; p < inner; ++p) {
    const __m256 b_low = _mm256_loadu_ps(b + p * ldb), b_high = _mm256_loadu_ps(b + p * ldb + 8);
    const float* ap = a + p * a_inner;
#pragma GCC unroll 6
    for (int i = 0; i < R; ++i) {
      const __m256 x = _mm256_broadcast_ss(ap + i * a_row);
      low[i] = _mm256_fmadd_ps(x, b_low, low[i]);
      high[i] = _mm256_fmadd_ps(x, b_high, high[i]);
    }
  }
  const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 6
  for (int i = 0; i < R; ++i) {
    if (adds) {  // in GatherAddRelu's order: (a + from sender) + from receiver
      low[i] = _mm256_add_ps(_mm256_add_ps(low[i], _mm256_loadu_ps(adds[2 * i])), _mm256_loadu_ps(adds[2 * i + 1]));
      high[i] = _mm256_add_ps(_mm256_add_ps(high[i], _mm256_loadu_ps(adds[2 * i] + 8)), _mm256_loadu_ps(adds[2 * i + 1] + 8));
    }
    if (relu) {
      low[i] = _mm256_max_ps(low[i], zero);
      high[i] = _mm256_max_ps(high[i], zero);
    }
    if (epilogue.mask_bits) {
      const auto [keep_low, keep_high] = ExpandBits(epilogue.mask_bits[i * epilogue.mask_row]);
      low[i] = _mm256_and_ps(low[i], keep_low);
      high[i] = _mm256_and_ps(high[i], keep_high);
    }
    if (epilogue.addend) {
      low[i] = _mm256_add_ps(low[i], _mm256_loadu_ps(epilogue.addend + i * epilogue.ld_addend));
      high[i] = _mm256_add_ps(high[i], _mm256_loadu_ps(epilogue.addend + i * epilogue.ld_addend + 8));
    }
    _mm256_storeu_ps(c + i * ldc, low[i]);
    _mm256_storeu_ps(c + i * ldc + 8, high[i]);
  }
}

// Rows of a table added to the rows of a product: row i gets table[first[i]] and
// table[second[i]] + second_offset (row stride `stride`).
struct RowGather {
  const float* table;
  int64_t stride;
  const int64_t* first;
  const int64_t* second;
  int64_t second_offset;
};

// A product C = relu?(init + A B [+ gathered rows]) with C [rows, columns] (row stride ldc),
// A(i, p) = a[i * a_row + p * a_inner] for p < inner, B [inner, columns] with row stride ldb,
// init [columns] added to every row (or null), and columns a multiple of kPanel; then, where
// given, masked by bits [rows, columns / kPanel] (words mask_row apart; see TileEpilogue) and
// added to rows of addend [rows, columns] (row stride ld_addend).
struct DenseProduct {
  int64_t rows, columns, inner;
  const float* a;
  int64_t a_row, a_inner;
  const float* b;
  int64_t ldb;
  const float* init;
  bool relu;
  float* c;
  int64_t ldc;
  const RowGather* gather = nullptr;
  const uint16_t* mask_bits = nullptr;
  int64_t mask_row = 0;
  const float* addend = nullptr;
  int64_t ld_addend = 0;

  // Rows [tile0, tile1) x kTileRows of C, on the calling thread.
  void Tiles(int64_t tile0, int64_t tile1) const {
    for (int64_t t = tile0; t < tile1; ++t) {
      const int64_t r0 = t * kTileRows;
      const float* a_rows = a + r0 * a_row;
      float* c_rows = c + r0 * ldc;
      const int n = static_cast<int>(std::min<int64_t>(kTileRows, rows - r0));
      for (int64_t j = 0; j < columns; j += kPanel) {
        const float* init_j = init ? init + j : nullptr;
        const float* adds[2 * kTileRows];
        if (gather) {
          for (int i = 0; i < n; ++i) {
            adds[2 * i] = gather->table + gather->first[r0 + i] * gather->stride + j;
            adds[2 * i + 1] = gather->table + gather->second[r0 + i] * gather->stride + gather->second_offset + j;
          }
        }
        const float* const* adds_j = gather ? adds : nullptr;
        const TileEpilogue epilogue{mask_bits ? mask_bits + r0 * mask_row + j / kPanel : nullptr, mask_row,
                                    addend ? addend + r0 * ld_addend + j : nullptr, ld_addend};
        float* c_j = c_rows + j;
        switch (n) {
          case 6: MicroTile<6>(a_rows, a_row, a_inner, inner, b + j, ldb, init_j, adds_j, relu, epilogue, c_j, ldc); break;
          case 5: MicroTile<5>(a_rows, a_row, a_inner, inner, b + j, ldb, init_j, adds_j, relu, epilogue, c_j, ldc); break;
          case 4: MicroTile<4>(a_rows, a_row, a_inner, inner, b + j, ldb, init_j, adds_j, relu, epilogue, c_j, ldc); break;
          case 3: MicroTile<3>(a_rows, a_row, a_inner, inner, b + j, ldb, init_j, adds_j, relu, epilogue, c_j, ldc); break;
          case 2: MicroTile<2>(a_rows, a_row, a_inner, inner, b + j, ldb, init_j, adds_j, relu, epilogue, c_j, ldc); break;
          default: MicroTile<1>(a_rows, a_row, a_inner, inner, b + j, ldb, init_j, adds_j, relu, epilogue, c_j, ldc); break;
        }
      }
    }
  }
  int64_t TileCount() const { return (rows + kTileRows - 1) / kTileRows; }
  void RunSerial() const { Tiles(0, TileCount()); }
  void RunParallel() const {
    at::parallel_for(0, TileCount(), kTileGrain, [&](int64_t t0, int64_t t1) { Tiles(t0, t1); });
  }
};

// bits[i * (width / kPanel) + k / kPanel] bit k % kPanel = (rows[i * width + k] > 0) for rows
// i < n: a ReLU layer's activity, all its backward pass needs of it when no weight gradient is.
__attribute__((target("avx2,fma"))) inline void ActivityBits(const float* rows, int64_t n, int64_t width,
                                                             uint16_t* bits) {
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < width; j += kPanel) {
      const float* x = rows + i * width + j;
      const int low = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x), zero, _CMP_GT_OQ));
      const int high = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + 8), zero, _CMP_GT_OQ));
      bits[i * (width / kPanel) + j / kPanel] = static_cast<uint16_t>(low | (high << 8));
    }
  }
}

// Column sums of rows [n, columns] added into sums [columns].
inline void AddColumnSums(const float* rows, int64_t n, int64_t columns, float* sums) {
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < columns; ++k) sums[k] += rows[i * columns + k];
  }
}

// The sum over `blocks` partial results of `per_block` floats each (block after block), added in
// block order, so that a sum over fixed blocks of rows does not depend on the thread count.
inline torch::Tensor SumBlocksInOrder(const std::vector<float>& partial, int64_t blocks, int64_t per_block,
                                      const torch::TensorOptions& options) {
  torch::Tensor sums = torch::zeros({per_block}, options);
  float* ps = sums.data_ptr<float>();
  at::parallel_for(0, per_block, 1024, [&](int64_t i0, int64_t i1) {
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const float* src = partial.data() + blk * per_block;
      for (int64_t i = i0; i < i1; ++i) ps[i] += src[i];
    }
  });
  return sums;
}

}  // namespace flowdesign::simulator::learned
