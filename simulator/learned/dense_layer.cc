#include "simulator/learned/dense_layer.h"

#include <immintrin.h>

#include <algorithm>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include "simulator/learned/cpu_features.h"
#include "simulator/learned/edge_kernels.h"
#include "simulator/learned/edge_rows.h"

namespace flowdesign::simulator::learned {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int kPanel = 16;               // output columns per micro-tile: two AVX2 vectors
constexpr int kTileRows = 6;             // 12 accumulators + 2 weight vectors + 1 broadcast: 15 of 16 registers
constexpr int64_t kTileGrain = 16;       // micro-tile rows per parallel task (96 rows)
constexpr int64_t kReductionRows = 512;  // rows per partial sum of the weight gradient

// c[i, 0:16] = relu?(init[0:16] + sum_p A(i, p) b[p, 0:16] + adds[2i][0:16] + adds[2i + 1][0:16])
// for rows i < R, where A(i, p) = a[i * a_row + p * a_inner] and b has row stride ldb; init may
// be null (zeros), adds null (none). R is a template argument so that the accumulators stay in
// registers.
template <int R>
__attribute__((target("avx2,fma"))) void MicroTile(const float* a, int64_t a_row, int64_t a_inner, int64_t inner,
                                                    const float* b, int64_t ldb, const float* init,
                                                    const float* const* adds, bool relu, float* c, int64_t ldc) {
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
// init [columns] added to every row (or null), and columns a multiple of kPanel.
struct Product {
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
        switch (n) {
          case 6: MicroTile<6>(a_rows, a_row, a_inner, inner, b + j, ldb, init_j, adds_j, relu, c_rows + j, ldc); break;
          case 5: MicroTile<5>(a_rows, a_row, a_inner, inner, b + j, ldb, init_j, adds_j, relu, c_rows + j, ldc); break;
          case 4: MicroTile<4>(a_rows, a_row, a_inner, inner, b + j, ldb, init_j, adds_j, relu, c_rows + j, ldc); break;
          case 3: MicroTile<3>(a_rows, a_row, a_inner, inner, b + j, ldb, init_j, adds_j, relu, c_rows + j, ldc); break;
          case 2: MicroTile<2>(a_rows, a_row, a_inner, inner, b + j, ldb, init_j, adds_j, relu, c_rows + j, ldc); break;
          default: MicroTile<1>(a_rows, a_row, a_inner, inner, b + j, ldb, init_j, adds_j, relu, c_rows + j, ldc); break;
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

// The gradients of out = relu?(x weight^T + bias) for grad [rows, outputs] = dL/d out, x [rows,
// inputs] and weight [outputs, inputs] (inputs a multiple of kPanel), in one pass over fixed
// blocks of kReductionRows rows: each block's gradient, masked where the output (`relu_out`,
// undefined without relu) is not positive, stays in cache for the input gradient's rows and the
// block's partial weight gradient and column sums. The partial sums are added in block order,
// so the result does not depend on the thread count. Undefined where not wanted.
struct DenseGradients {
  torch::Tensor x, weight, bias;
};

DenseGradients BlockedGradients(const torch::Tensor& grad, const torch::Tensor& x, const torch::Tensor& weight,
                                const torch::Tensor& relu_out, bool want_x, bool want_weight, bool want_bias) {
  const int64_t rows = grad.size(0), outputs = grad.size(1), inputs = x.size(1);
  const int64_t blocks = (rows + kReductionRows - 1) / kReductionRows;
  const int64_t per_block = outputs * inputs + outputs;  // weight gradient, then column sums
  const bool want_sums = want_weight || want_bias;
  std::vector<float> partial(want_sums ? static_cast<size_t>(blocks * per_block) : 0);
  DenseGradients result;
  if (want_x) result.x = torch::empty({rows, inputs}, grad.options());
  const float* g = grad.data_ptr<float>();
  const float* px = x.data_ptr<float>();
  const float* pw = weight.data_ptr<float>();
  const float* out = relu_out.defined() ? relu_out.data_ptr<float>() : nullptr;
  float* gx = want_x ? result.x.data_ptr<float>() : nullptr;
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> masked(out ? static_cast<size_t>(kReductionRows * outputs) : 0);
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t r0 = blk * kReductionRows, n = std::min(kReductionRows, rows - r0);
      const float* block_grad = g + r0 * outputs;
      if (out) {  // the gradient passes where the output is positive (as LibTorch's relu)
        const float* o = out + r0 * outputs;
        for (int64_t i = 0; i < n * outputs; ++i) masked[i] = o[i] > 0.0f ? block_grad[i] : 0.0f;
        block_grad = masked.data();
      }
      if (want_x) {
        Product{n, inputs, outputs, block_grad, outputs, 1, pw, inputs, nullptr, false, gx + r0 * inputs, inputs}
            .RunSerial();
      }
      if (!want_sums) continue;
      float* sums = partial.data() + blk * per_block;
      if (want_weight) {
        Product{outputs, inputs, n, block_grad, 1, outputs, px + r0 * inputs, inputs, nullptr, false, sums, inputs}
            .RunSerial();
      }
      float* column_sums = sums + outputs * inputs;
      std::fill(column_sums, column_sums + outputs, 0.0f);
      for (int64_t r = 0; r < n; ++r) {
        for (int64_t k = 0; k < outputs; ++k) column_sums[k] += block_grad[r * outputs + k];
      }
    }
  });
  if (!want_sums) return result;
  torch::Tensor sums = torch::zeros({per_block}, grad.options());
  float* ps = sums.data_ptr<float>();
  at::parallel_for(0, per_block, 1024, [&](int64_t i0, int64_t i1) {
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const float* src = partial.data() + blk * per_block;
      for (int64_t i = i0; i < i1; ++i) ps[i] += src[i];
    }
  });
  if (want_weight) result.weight = sums.narrow(0, 0, outputs * inputs).view({outputs, inputs});
  if (want_bias) result.bias = sums.narrow(0, outputs * inputs, outputs);
  return result;
}

struct DenseLayerFunction : public torch::autograd::Function<DenseLayerFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in, const torch::Tensor& weight_in,
                               const torch::Tensor& bias_in, bool relu) {
    RECORD_FUNCTION("flowdesign::DenseLayer", std::vector<c10::IValue>());
    // No bias comes as an empty tensor: LibTorch's custom functions need defined inputs.
    const torch::Tensor x = x_in.contiguous(), weight = weight_in.contiguous(), bias = bias_in.contiguous();
    const bool has_bias = bias.numel() > 0;
    const int64_t rows = x.size(0), inputs = x.size(1), outputs = weight.size(0);
    TORCH_CHECK(weight.size(1) == inputs, "DenseLayer: the weight has ", weight.size(1), " columns, the input ", inputs);
    TORCH_CHECK(!has_bias || bias.numel() == outputs, "DenseLayer: one bias per output expected");
    const torch::Tensor transposed = weight.t().contiguous();  // [inputs, outputs]: the kernel's B
    torch::Tensor out = torch::empty({rows, outputs}, x.options());
    Product{rows, outputs, inputs, x.data_ptr<float>(), inputs, 1, transposed.data_ptr<float>(), outputs,
            has_bias ? bias.data_ptr<float>() : nullptr, relu, out.data_ptr<float>(), outputs}
        .RunParallel();
    ctx->save_for_backward({x, weight, relu ? out : torch::Tensor()});
    ctx->saved_data["relu"] = relu;
    ctx->saved_data["bias"] = has_bias;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    RECORD_FUNCTION("flowdesign::DenseLayerBackward", std::vector<c10::IValue>());
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &x = saved[0], &weight = saved[1], &out = saved[2];
    const int64_t inputs = x.size(1);
    const torch::Tensor grad = grad_outputs[0].contiguous();
    const bool relu = ctx->saved_data["relu"].toBool();
    const bool want_bias = ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2);
    if (inputs % kPanel == 0) {
      const DenseGradients g =
          BlockedGradients(grad, x, weight, relu ? out : torch::Tensor(), ctx->needs_input_grad(0),
                           ctx->needs_input_grad(1), want_bias);
      return {g.x, g.weight, g.bias, torch::Tensor()};
    }
    // A few input columns (e.g. an encoder's input layer): LibTorch's products.
    const torch::Tensor masked = relu ? torch::where(out > 0, grad, torch::zeros_like(grad)) : grad;
    return {ctx->needs_input_grad(0) ? torch::mm(masked, weight) : torch::Tensor(),
            ctx->needs_input_grad(1) ? torch::mm(masked.t(), x) : torch::Tensor(),
            want_bias ? masked.sum(0) : torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool DenseKernelApplies(const torch::Tensor& x, int64_t outputs) {
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat && x.dim() == 2 && outputs % kPanel == 0 &&
         CpuHasAvx2Fma();
}

torch::Tensor DenseLayer(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, bool relu) {
  if (!DenseKernelApplies(x, weight.size(0)) || weight.scalar_type() != torch::kFloat) {
    const torch::Tensor y = torch::linear(x, weight, bias);
    return relu ? torch::relu(y) : y;
  }
  return DenseLayerFunction::apply(x, weight, bias.defined() ? bias : torch::empty({0}, x.options()), relu);
}

namespace {

// The checks of the kernels that fold the edge MLP's first layer and the node parts into one
// pass (no autograd): names `what` in the messages.
void CheckFirstEdgeLayerInputs(const char* what, const torch::Tensor& x, int64_t hidden,
                               const std::vector<torch::Tensor>& parameters, const torch::Tensor& projected,
                               const torch::Tensor& senders, const torch::Tensor& receivers) {
  TORCH_CHECK(DenseKernelApplies(x, hidden), what, ": the dense kernel does not apply to this input");
  bool differentiable = x.requires_grad() || projected.requires_grad();
  for (const torch::Tensor& p : parameters) differentiable = differentiable || p.requires_grad();
  TORCH_CHECK(!torch::GradMode::is_enabled() || !differentiable, what,
              " is not differentiable: use DenseLayer and the edge kernels under autograd");
  TORCH_CHECK(projected.scalar_type() == torch::kFloat && projected.dim() == 2 && projected.size(1) == 2 * hidden,
              what, ": projected must be float with 2 x ", hidden, " columns");
  TORCH_CHECK(senders.numel() == x.size(0) && receivers.numel() == x.size(0), what,
              ": one sender and receiver per row");
  const std::string name = what;
  CheckNodeIndices(senders, projected.size(0), (name + ": senders").c_str());
  CheckNodeIndices(receivers, projected.size(0), (name + ": receivers").c_str());
}

}  // namespace

torch::Tensor DenseGatherAddRelu(const torch::Tensor& x_in, const torch::Tensor& weight_in, const torch::Tensor& bias_in,
                                 const torch::Tensor& projected_in, const torch::Tensor& senders_in,
                                 const torch::Tensor& receivers_in) {
  RECORD_FUNCTION("flowdesign::DenseGatherAddRelu", std::vector<c10::IValue>());
  const int64_t hidden = weight_in.size(0);
  const torch::Tensor x = x_in.contiguous(), weight = weight_in.contiguous(), bias = bias_in.contiguous();
  const torch::Tensor projected = projected_in.contiguous();
  const torch::Tensor senders = senders_in.contiguous(), receivers = receivers_in.contiguous();
  CheckFirstEdgeLayerInputs("DenseGatherAddRelu", x, hidden, {weight, bias}, projected, senders, receivers);
  const int64_t rows = x.size(0), inputs = x.size(1);
  TORCH_CHECK(weight.size(1) == inputs && bias.numel() == hidden, "DenseGatherAddRelu: weight or bias of the wrong shape");
  const torch::Tensor transposed = weight.t().contiguous();
  torch::Tensor out = torch::empty({rows, hidden}, x.options());
  const RowGather gather{projected.data_ptr<float>(), 2 * hidden, senders.data_ptr<int64_t>(),
                         receivers.data_ptr<int64_t>(), hidden};
  Product product{rows, hidden, inputs, x.data_ptr<float>(), inputs, 1, transposed.data_ptr<float>(), hidden,
                  bias.data_ptr<float>(), true, out.data_ptr<float>(), hidden};
  product.gather = &gather;
  product.RunParallel();
  return out;
}

bool DenseEdgeBlockApplies(const torch::Tensor& e, int64_t hidden, const torch::Tensor& receivers) {
  return DenseKernelApplies(e, hidden) && e.size(1) % kPanel == 0 && receivers.is_contiguous() &&
         receivers.scalar_type() == torch::kInt64 && receivers.numel() == e.size(0) &&
         ReceiversAscending(receivers.data_ptr<int64_t>(), receivers.numel());
}

std::pair<torch::Tensor, torch::Tensor> DenseEdgeBlock(const EdgeMlpWeights& w, const torch::Tensor& e_in,
                                                       const torch::Tensor& projected_in,
                                                       const torch::Tensor& senders_in,
                                                       const torch::Tensor& receivers_in,
                                                       const torch::Tensor& edge_weights, int64_t nodes) {
  RECORD_FUNCTION("flowdesign::DenseEdgeBlock", std::vector<c10::IValue>());
  const torch::Tensor e = e_in.contiguous(), projected = projected_in.contiguous();
  const torch::Tensor senders = senders_in.contiguous(), receivers = receivers_in.contiguous();
  const int64_t edges = e.size(0), latent = e.size(1), hidden = w.first_weight.size(0);
  CheckFirstEdgeLayerInputs("DenseEdgeBlock", e, hidden,
                            {w.first_weight, w.first_bias, w.second_weight, w.second_bias, w.norm_weight, w.norm_bias},
                            projected, senders, receivers);
  TORCH_CHECK(DenseEdgeBlockApplies(e, hidden, receivers),
              "DenseEdgeBlock: needs latent and hidden widths divisible by 16 and ascending receivers");
  TORCH_CHECK(projected.size(0) == nodes, "DenseEdgeBlock: projected must have one row per node");
  TORCH_CHECK(w.first_weight.sizes() == torch::IntArrayRef({hidden, latent}) && w.first_bias.numel() == hidden &&
                  w.second_weight.sizes() == torch::IntArrayRef({latent, hidden}) && w.second_bias.numel() == latent &&
                  w.norm_weight.numel() == latent && w.norm_bias.numel() == latent,
              "DenseEdgeBlock: weights of the wrong shape");
  TORCH_CHECK(!edge_weights.defined() || edge_weights.numel() == edges, "DenseEdgeBlock: one weight per edge expected");
  const torch::Tensor first = w.first_weight.t().contiguous(), second = w.second_weight.t().contiguous();
  const torch::Tensor first_bias = w.first_bias.contiguous(), second_bias = w.second_bias.contiguous();
  const torch::Tensor gamma = w.norm_weight.contiguous(), beta = w.norm_bias.contiguous();
  const torch::Tensor weights = edge_weights.defined() ? edge_weights.contiguous() : torch::Tensor();
  torch::Tensor e_next = torch::empty_like(e);
  torch::Tensor aggregated = torch::zeros({nodes, latent}, e.options());
  const float* pe = e.data_ptr<float>();
  const float* pw = weights.defined() ? weights.data_ptr<float>() : nullptr;
  const int64_t* s = senders.data_ptr<int64_t>();
  const int64_t* r = receivers.data_ptr<int64_t>();
  float* pnext = e_next.data_ptr<float>();
  float* pagg = aggregated.data_ptr<float>();
  // Chunks of a few micro-tiles: each layer's weight stays in L1 while it runs over the chunk.
  constexpr int64_t kChunkRows = 8 * kTileRows;
  ForReceiverRuns(r, edges, [&](int64_t e0, int64_t e1) {
    std::vector<float> hidden_rows(kChunkRows * hidden), output_rows(kChunkRows * latent);
    for (int64_t c0 = e0; c0 < e1; c0 += kChunkRows) {
      const int64_t n = std::min(kChunkRows, e1 - c0);
      const RowGather gather{projected.data_ptr<float>(), 2 * hidden, s + c0, r + c0, hidden};
      Product first_layer{n, hidden, latent, pe + c0 * latent, latent, 1, first.data_ptr<float>(), hidden,
                          first_bias.data_ptr<float>(), true, hidden_rows.data(), hidden};
      first_layer.gather = &gather;
      first_layer.RunSerial();
      Product{n, latent, hidden, hidden_rows.data(), hidden, 1, second.data_ptr<float>(), latent,
              second_bias.data_ptr<float>(), false, output_rows.data(), latent}
          .RunSerial();
      for (int64_t i = 0; i < n; ++i) {
        const int64_t edge = c0 + i;
        NormRowAvx2(output_rows.data() + i * latent, gamma.data_ptr<float>(), beta.data_ptr<float>(),
                    static_cast<float>(w.norm_eps), latent, pe + edge * latent, pw ? pw[edge] : 1.0f,
                    pnext + edge * latent, pagg + r[edge] * latent, nullptr);
      }
    }
  });
  return {e_next, aggregated};
}

}  // namespace flowdesign::simulator::learned
