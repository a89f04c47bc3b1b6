#include "simulator/learned/edge_kernels.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include "simulator/learned/cpu_features.h"
#include "simulator/learned/edge_rows.h"

namespace flowdesign::simulator::learned {

namespace {

__attribute__((target("avx2,fma"))) float HorizontalSum(__m256 v) {
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, v);
  float sum = 0.0f;
  for (float lane : lanes) sum += lane;  // fixed lane order: reproducible
  return sum;
}

}  // namespace

// Eight columns at a time (NormResidualAggregate's generic loop compiles to 4-wide SSE2 in this
// portable build).
__attribute__((target("avx2,fma"))) float NormRowAvx2(const float* __restrict y, const float* __restrict gamma,
                                                      const float* __restrict beta, float eps, int64_t width,
                                                      const float* __restrict e, float w, float* __restrict next,
                                                      float* __restrict message, float* __restrict normalized) {
  __m256 sum = _mm256_setzero_ps();
  for (int64_t k = 0; k < width; k += 8) sum = _mm256_add_ps(sum, _mm256_loadu_ps(y + k));
  const float mean = HorizontalSum(sum) / static_cast<float>(width);
  const __m256 vmean = _mm256_set1_ps(mean);
  __m256 squares = _mm256_setzero_ps();
  for (int64_t k = 0; k < width; k += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(y + k), vmean);
    squares = _mm256_fmadd_ps(d, d, squares);
  }
  const float inv = 1.0f / std::sqrt(HorizontalSum(squares) / static_cast<float>(width) + eps);
  const __m256 vinv = _mm256_set1_ps(inv), vw = _mm256_set1_ps(w);
  for (int64_t k = 0; k < width; k += 8) {
    const __m256 n = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(y + k), vmean), vinv);
    const __m256 u = _mm256_fmadd_ps(n, _mm256_loadu_ps(gamma + k), _mm256_loadu_ps(beta + k));
    _mm256_storeu_ps(next + k, _mm256_add_ps(_mm256_loadu_ps(e + k), u));
    _mm256_storeu_ps(message + k, _mm256_fmadd_ps(vw, u, _mm256_loadu_ps(message + k)));
    if (normalized) _mm256_storeu_ps(normalized + k, n);
  }
  return inv;
}

namespace {

// d loss / d u = d next + w d message, for columns k..k+7 (either gradient may be null).
__attribute__((target("avx2,fma"))) inline __m256 LossByU(const float* grad_next, const float* grad_message,
                                                          __m256 w, int64_t k) {
  const __m256 du = grad_next ? _mm256_loadu_ps(grad_next + k) : _mm256_setzero_ps();
  return grad_message ? _mm256_fmadd_ps(w, _mm256_loadu_ps(grad_message + k), du) : du;
}

}  // namespace

__attribute__((target("avx2,fma"))) float NormRowBackwardAvx2(
    const float* __restrict normalized, float inverse_std, const float* __restrict gamma,
    const float* __restrict beta, int64_t width, const float* __restrict grad_next,
    const float* __restrict grad_message, float w, float* __restrict grad_y, float* __restrict sum_gamma,
    float* __restrict sum_beta) {
  const __m256 vw = _mm256_set1_ps(w);
  __m256 sum_g = _mm256_setzero_ps(), sum_gn = _mm256_setzero_ps(), sum_w = _mm256_setzero_ps();
  for (int64_t k = 0; k < width; k += 8) {
    const __m256 du = LossByU(grad_next, grad_message, vw, k), n = _mm256_loadu_ps(normalized + k), g = _mm256_mul_ps(du, _mm256_loadu_ps(gamma + k));
    sum_g = _mm256_add_ps(sum_g, g);
    sum_gn = _mm256_fmadd_ps(g, n, sum_gn);
    if (grad_message) {
      const __m256 u = _mm256_fmadd_ps(n, _mm256_loadu_ps(gamma + k), _mm256_loadu_ps(beta + k));
      sum_w = _mm256_fmadd_ps(_mm256_loadu_ps(grad_message + k), u, sum_w);
    }
    if (sum_gamma) {
      _mm256_storeu_ps(sum_gamma + k, _mm256_fmadd_ps(du, n, _mm256_loadu_ps(sum_gamma + k)));
      _mm256_storeu_ps(sum_beta + k, _mm256_add_ps(du, _mm256_loadu_ps(sum_beta + k)));
    }
  }
  const __m256 mean_g = _mm256_set1_ps(HorizontalSum(sum_g) / static_cast<float>(width));
  const __m256 mean_gn = _mm256_set1_ps(HorizontalSum(sum_gn) / static_cast<float>(width));
  const __m256 vinv = _mm256_set1_ps(inverse_std);
  // LayerNorm backward: dy = (g - mean(g) - n mean(g n)) / std with g = du gamma.
  for (int64_t k = 0; k < width; k += 8) {
    const __m256 g = _mm256_mul_ps(LossByU(grad_next, grad_message, vw, k), _mm256_loadu_ps(gamma + k));
    const __m256 centered = _mm256_sub_ps(_mm256_sub_ps(g, mean_g), _mm256_mul_ps(_mm256_loadu_ps(normalized + k), mean_gn));
    _mm256_storeu_ps(grad_y + k, _mm256_mul_ps(vinv, centered));
  }
  return HorizontalSum(sum_w);
}

// The double instantiation of NormResidualAggregate names the AVX2 row too; it never runs it.
static double NormRowAvx2(const double*, const double*, const double*, float, int64_t, const double*, double,
                          double*, double*, double*) {
  TORCH_CHECK(false, "NormRowAvx2: float rows only");
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kRowGrain = kEdgeRowGrain;

// Sum of term(k) for k < n in 8 independent lanes: a single running sum would make each add wait
// for the previous one (strict floating-point order forbids the compiler to split it), which
// made the per-edge LayerNorm latency-bound. Fixed lane order keeps results reproducible.
template <typename T, typename F>
T LaneSum(int64_t n, F&& term) {
  constexpr int kLanes = 8;
  T lanes[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    for (int j = 0; j < kLanes; ++j) lanes[j] += term(k + j);
  }
  T sum = 0;
  for (; k < n; ++k) sum += term(k);
  for (int j = 0; j < kLanes; ++j) sum += lanes[j];
  return sum;
}

torch::Tensor Contiguous(const torch::Tensor& t) { return t.defined() ? t.contiguous() : t; }


struct GatherAddReluFunction : public torch::autograd::Function<GatherAddReluFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& a_in, const torch::Tensor& projected_in,
                               const torch::Tensor& senders_in, const torch::Tensor& receivers_in) {
    RECORD_FUNCTION("flowdesign::GatherAddRelu", std::vector<c10::IValue>());
    const torch::Tensor a = a_in.contiguous(), projected = projected_in.contiguous();
    const torch::Tensor senders = senders_in.contiguous(), receivers = receivers_in.contiguous();
    const int64_t edges = a.size(0), hidden = a.size(1);
    TORCH_CHECK(projected.size(1) == 2 * hidden, "GatherAddRelu: projected must have 2 x ", hidden, " columns");
    TORCH_CHECK(senders.numel() == edges && receivers.numel() == edges, "GatherAddRelu: one sender and receiver per edge");
    CheckNodeIndices(senders, projected.size(0), "GatherAddRelu: senders");
    CheckNodeIndices(receivers, projected.size(0), "GatherAddRelu: receivers");
    torch::Tensor out = torch::empty_like(a);
    AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "GatherAddRelu", [&] {
      const scalar_t* pa = a.data_ptr<scalar_t>();
      const scalar_t* pp = projected.data_ptr<scalar_t>();
      const int64_t* s = senders.data_ptr<int64_t>();
      const int64_t* r = receivers.data_ptr<int64_t>();
      scalar_t* po = out.data_ptr<scalar_t>();
      at::parallel_for(0, edges, kRowGrain, [&](int64_t e0, int64_t e1) {
        for (int64_t e = e0; e < e1; ++e) {
          const scalar_t* __restrict ae = pa + e * hidden;
          const scalar_t* __restrict from_sender = pp + s[e] * 2 * hidden;
          const scalar_t* __restrict from_receiver = pp + r[e] * 2 * hidden + hidden;
          scalar_t* __restrict o = po + e * hidden;
          for (int64_t k = 0; k < hidden; ++k) {
            const scalar_t v = ae[k] + from_sender[k] + from_receiver[k];
            o[k] = v > scalar_t(0) ? v : scalar_t(0);
          }
        }
      });
    });
    ctx->save_for_backward({out, senders, receivers});
    ctx->saved_data["nodes"] = projected.size(0);
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    RECORD_FUNCTION("flowdesign::GatherAddReluBackward", std::vector<c10::IValue>());
    const torch::Tensor &out = saved[0], &senders = saved[1], &receivers = saved[2];
    const int64_t nodes = ctx->saved_data["nodes"].toInt(), edges = out.size(0), hidden = out.size(1);
    const torch::Tensor grad = grad_outputs[0].contiguous();
    // d relu: the gradient passes where the output is positive (as LibTorch's relu).
    torch::Tensor grad_a = torch::empty_like(out);
    torch::Tensor grad_projected;
    AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "GatherAddReluBackward", [&] {
      const scalar_t* po = out.data_ptr<scalar_t>();
      const scalar_t* pg = grad.data_ptr<scalar_t>();
      scalar_t* pa = grad_a.data_ptr<scalar_t>();
      const int64_t* s = senders.data_ptr<int64_t>();
      const int64_t* r = receivers.data_ptr<int64_t>();
      const bool want_projected = ctx->needs_input_grad(1);
      scalar_t* pp = nullptr;
      if (want_projected) {
        grad_projected = torch::zeros({nodes, 2 * hidden}, out.options());
        pp = grad_projected.data_ptr<scalar_t>();
      }
      // Load unconditionally: a conditional load compiles to a branch that random signs mispredict.
      auto relu_backward = [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          const scalar_t g = pg[i];
          pa[i] = po[i] > scalar_t(0) ? g : scalar_t(0);
        }
      };
      if (want_projected && ReceiversAscending(r, edges)) {
        ForReceiverRuns(r, edges, [&](int64_t e0, int64_t e1) {
          relu_backward(e0 * hidden, e1 * hidden);
          AddRowsToReceivers(pa, r, e0, e1, hidden, pp + hidden, 2 * hidden);
        });
      } else {
        at::parallel_for(0, edges, kRowGrain, [&](int64_t e0, int64_t e1) { relu_backward(e0 * hidden, e1 * hidden); });
        if (want_projected) ScatterAddRows(pa, r, edges, hidden, pp + hidden, 2 * hidden, nodes);
      }
      if (want_projected) ScatterAddRows(pa, s, edges, hidden, pp, 2 * hidden, nodes);
    });
    return {grad_a, grad_projected, torch::Tensor(), torch::Tensor()};
  }
};

struct NormResidualAggregateFunction : public torch::autograd::Function<NormResidualAggregateFunction> {
  // save: whether a backward pass may follow (then the normalized rows are kept for it).
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& y_in, const torch::Tensor& gamma_in,
                               const torch::Tensor& beta_in, double eps, const torch::Tensor& e_in,
                               const torch::Tensor& weights_in, const torch::Tensor& receivers_in, int64_t nodes,
                               bool save) {
    RECORD_FUNCTION("flowdesign::NormResidualAggregate", std::vector<c10::IValue>());
    const torch::Tensor y = y_in.contiguous(), gamma = gamma_in.contiguous(), beta = beta_in.contiguous();
    const torch::Tensor e = e_in.contiguous(), weights = weights_in.contiguous(), receivers = receivers_in.contiguous();
    const int64_t edges = y.size(0), width = y.size(1);
    TORCH_CHECK(e.sizes() == y.sizes(), "NormResidualAggregate: e and y differ in shape");
    TORCH_CHECK(weights.numel() == edges, "NormResidualAggregate: one weight per edge expected");
    TORCH_CHECK(receivers.numel() == edges, "NormResidualAggregate: one receiver per edge expected");
    CheckNodeIndices(receivers, nodes, "NormResidualAggregate: receivers");
    torch::Tensor normalized = save ? torch::empty_like(y) : torch::Tensor();  // (y - mean) / std
    torch::Tensor inverse_std = torch::empty({edges}, y.options());
    torch::Tensor e_next = torch::empty_like(y);
    torch::Tensor aggregated = torch::zeros({nodes, width}, y.options());
    AT_DISPATCH_FLOATING_TYPES(y.scalar_type(), "NormResidualAggregate", [&] {
      const scalar_t* py = y.data_ptr<scalar_t>();
      const scalar_t* pg = gamma.data_ptr<scalar_t>();
      const scalar_t* pb = beta.data_ptr<scalar_t>();
      const scalar_t* pe = e.data_ptr<scalar_t>();
      const scalar_t* pw = weights.data_ptr<scalar_t>();
      const int64_t* r = receivers.data_ptr<int64_t>();
      scalar_t* pn = save ? normalized.data_ptr<scalar_t>() : nullptr;
      scalar_t* ps = inverse_std.data_ptr<scalar_t>();
      scalar_t* pnext = e_next.data_ptr<scalar_t>();
      scalar_t* pagg = aggregated.data_ptr<scalar_t>();
      constexpr bool is_float = std::is_same_v<scalar_t, float>;
      const bool avx2 = is_float && width % 8 == 0 && CpuHasAvx2Fma();
      // One edge: normalize, write e + u and keep the normalized row; add w u into `message`,
      // the receiver's row of the aggregate or a row of its own (when rows are not owned).
      auto edge = [&](int64_t i, scalar_t* __restrict message) {
        if (avx2) {
          ps[i] = NormRowAvx2(py + i * width, pg, pb, static_cast<float>(eps), width, pe + i * width, pw[i],
                              pnext + i * width, message, pn ? pn + i * width : nullptr);
          return;
        }
        const scalar_t* __restrict row = py + i * width;
        const scalar_t mean = LaneSum<scalar_t>(width, [&](int64_t k) { return row[k]; }) / width;
        const scalar_t variance =
            LaneSum<scalar_t>(width, [&](int64_t k) { return (row[k] - mean) * (row[k] - mean); });
        const scalar_t inv = scalar_t(1) / std::sqrt(variance / width + static_cast<scalar_t>(eps));
        ps[i] = inv;
        const scalar_t* __restrict old = pe + i * width;
        scalar_t* __restrict next = pnext + i * width;
        const scalar_t w = pw[i];
        for (int64_t k = 0; k < width; ++k) {
          const scalar_t u = (row[k] - mean) * inv * pg[k] + pb[k];
          next[k] = old[k] + u;
          message[k] += w * u;
        }
        if (pn) {
          scalar_t* __restrict n = pn + i * width;
          for (int64_t k = 0; k < width; ++k) n[k] = (row[k] - mean) * inv;
        }
      };
      if (ReceiversAscending(r, edges)) {
        ForReceiverRuns(r, edges, [&](int64_t e0, int64_t e1) {
          for (int64_t i = e0; i < e1; ++i) edge(i, pagg + r[i] * width);
        });
        return;
      }
      torch::Tensor messages = torch::zeros_like(y);
      scalar_t* pm = messages.data_ptr<scalar_t>();
      at::parallel_for(0, edges, kRowGrain, [&](int64_t e0, int64_t e1) {
        for (int64_t i = e0; i < e1; ++i) edge(i, pm + i * width);
      });
      ScatterAddRows(pm, r, edges, width, pagg, width, nodes);
    });
    if (save) ctx->save_for_backward({normalized, inverse_std, gamma, beta, weights, receivers});
    return {e_next, aggregated};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    RECORD_FUNCTION("flowdesign::NormResidualAggregateBackward", std::vector<c10::IValue>());
    const torch::Tensor &normalized = saved[0], &inverse_std = saved[1], &gamma = saved[2], &beta = saved[3];
    const torch::Tensor &weights = saved[4], &receivers = saved[5];
    // Either output may be unused downstream (the last block's edges): its gradient is then undefined.
    const torch::Tensor grad_next = Contiguous(grad_outputs[0]), grad_aggregated = Contiguous(grad_outputs[1]);
    const int64_t edges = normalized.size(0), width = normalized.size(1);
    // needs_input_grad counts tensor inputs only: y 0, gamma 1, beta 2, e 3, weights 4.
    const bool want_weights = ctx->needs_input_grad(4) && grad_aggregated.defined();
    const bool want_affine = ctx->needs_input_grad(1) || ctx->needs_input_grad(2);
    torch::Tensor grad_y = torch::empty_like(normalized);
    // Per block of kRowGrain edges: partial sums of du * normalized (gamma) and du (beta), added
    // in block order afterwards, so the sums do not depend on the number of threads.
    const int64_t blocks = (edges + kRowGrain - 1) / kRowGrain;
    torch::Tensor partial_affine = want_affine ? torch::zeros({blocks, 2, width}, normalized.options()) : torch::Tensor();
    torch::Tensor grad_weights = want_weights ? torch::empty_like(weights) : torch::Tensor();
    AT_DISPATCH_FLOATING_TYPES(normalized.scalar_type(), "NormResidualAggregateBackward", [&] {
      const scalar_t* pn = normalized.data_ptr<scalar_t>();
      const scalar_t* ps = inverse_std.data_ptr<scalar_t>();
      const scalar_t* pg = gamma.data_ptr<scalar_t>();
      const scalar_t* pb = beta.data_ptr<scalar_t>();
      const scalar_t* pw = weights.data_ptr<scalar_t>();
      const int64_t* r = receivers.data_ptr<int64_t>();
      const scalar_t* gnext = grad_next.defined() ? grad_next.data_ptr<scalar_t>() : nullptr;
      const scalar_t* gagg = grad_aggregated.defined() ? grad_aggregated.data_ptr<scalar_t>() : nullptr;
      scalar_t* gy = grad_y.data_ptr<scalar_t>();
      scalar_t* affine = want_affine ? partial_affine.data_ptr<scalar_t>() : nullptr;
      scalar_t* gw = want_weights ? grad_weights.data_ptr<scalar_t>() : nullptr;
      at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
        std::vector<scalar_t> gu(static_cast<size_t>(width));
        for (int64_t i = b0 * kRowGrain; i < std::min(edges, b1 * kRowGrain); ++i) {
          const scalar_t* __restrict n = pn + i * width;
          const scalar_t* __restrict ga = gagg ? gagg + r[i] * width : nullptr;
          const scalar_t* __restrict gn = gnext ? gnext + i * width : nullptr;
          if (gn && ga) {
            for (int64_t k = 0; k < width; ++k) gu[k] = gn[k] + pw[i] * ga[k];
          } else if (gn) {
            for (int64_t k = 0; k < width; ++k) gu[k] = gn[k];
          } else if (ga) {
            for (int64_t k = 0; k < width; ++k) gu[k] = pw[i] * ga[k];
          } else {
            std::fill(gu.begin(), gu.end(), scalar_t(0));
          }
          if (gw) gw[i] = LaneSum<scalar_t>(width, [&](int64_t k) { return ga[k] * (n[k] * pg[k] + pb[k]); });
          if (affine) {
            scalar_t* __restrict sum_gamma = affine + (i / kRowGrain) * 2 * width;
            scalar_t* __restrict sum_beta = sum_gamma + width;
            for (int64_t k = 0; k < width; ++k) {
              sum_gamma[k] += gu[k] * n[k];
              sum_beta[k] += gu[k];
            }
          }
          // LayerNorm backward: dy = inv_std * (g - mean(g) - n * mean(g n)), g = du * gamma.
          const scalar_t mean_g = LaneSum<scalar_t>(width, [&](int64_t k) { return gu[k] * pg[k]; }) / width;
          const scalar_t mean_gn = LaneSum<scalar_t>(width, [&](int64_t k) { return gu[k] * pg[k] * n[k]; }) / width;
          scalar_t* __restrict out = gy + i * width;
          for (int64_t k = 0; k < width; ++k) out[k] = ps[i] * (gu[k] * pg[k] - mean_g - n[k] * mean_gn);
        }
      });
    });
    torch::Tensor grad_gamma, grad_beta;
    if (want_affine) {
      torch::Tensor sums = torch::zeros({2, width}, normalized.options());
      for (int64_t b = 0; b < blocks; ++b) sums += partial_affine[b];
      if (ctx->needs_input_grad(1)) grad_gamma = sums[0];
      if (ctx->needs_input_grad(2)) grad_beta = sums[1];
    }
    return {grad_y,       grad_gamma,      grad_beta,       torch::Tensor(), grad_next,
            grad_weights, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool FusedEdgeKernelsApply(const torch::Tensor& t) {
  return t.device().is_cpu() && (t.scalar_type() == torch::kFloat32 || t.scalar_type() == torch::kFloat64);
}

bool FusedEdgeKernelsUseIntraOpThreads() {
#ifdef INTRA_OP_PARALLEL
  return true;
#else
  return false;
#endif
}

bool AnyRequiresGrad(const std::vector<torch::Tensor>& tensors) {
  for (const torch::Tensor& t : tensors) {
    if (t.defined() && t.requires_grad()) return true;
  }
  return false;
}

void CheckNodeIndices(const torch::Tensor& index, int64_t nodes, const char* what) {
  TORCH_CHECK(index.scalar_type() == torch::kInt64 && index.dim() == 1, what, " must be a 1-d int64 tensor");
  const int64_t* p = index.data_ptr<int64_t>();
  for (int64_t i = 0; i < index.numel(); ++i) {
    TORCH_CHECK(p[i] >= 0 && p[i] < nodes, what, "[", i, "] = ", p[i], " is not a node index (", nodes, " nodes)");
  }
}

torch::Tensor GatherAddRelu(const torch::Tensor& a, const torch::Tensor& projected, const torch::Tensor& senders,
                            const torch::Tensor& receivers) {
  return GatherAddReluFunction::apply(a, projected, senders, receivers);
}

std::pair<torch::Tensor, torch::Tensor> NormResidualAggregate(const torch::Tensor& y, const torch::Tensor& gamma,
                                                              const torch::Tensor& beta, double eps,
                                                              const torch::Tensor& e, const torch::Tensor& weights,
                                                              const torch::Tensor& receivers, int64_t nodes) {
  const torch::Tensor w = weights.defined() ? weights : torch::ones({y.size(0), 1}, y.options());
  const bool save = torch::GradMode::is_enabled() && AnyRequiresGrad({y, gamma, beta, e, w});
  const variable_list out = NormResidualAggregateFunction::apply(y, gamma, beta, eps, e, w, receivers, nodes, save);
  return {out[0], out[1]};
}

}  // namespace flowdesign::simulator::learned
