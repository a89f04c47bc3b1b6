#include "simulator/learned/layer_norm.h"

#include <algorithm>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include "simulator/learned/cpu_features.h"
#include "simulator/learned/dense_product.h"
#include "simulator/learned/edge_rows.h"

namespace flowdesign::simulator::learned {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct RowLayerNormFunction : public torch::autograd::Function<RowLayerNormFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in, const torch::Tensor& gamma_in,
                               const torch::Tensor& beta_in, double eps) {
    RECORD_FUNCTION("flowdesign::RowLayerNorm", std::vector<c10::IValue>());
    const torch::Tensor x = x_in.contiguous(), gamma = gamma_in.contiguous(), beta = beta_in.contiguous();
    const int64_t rows = x.size(0), width = x.size(1);
    torch::Tensor out = torch::empty_like(x), normalized = torch::empty_like(x);
    torch::Tensor inverse_std = torch::empty({rows}, x.options());
    const float *px = x.data_ptr<float>(), *pg = gamma.data_ptr<float>(), *pb = beta.data_ptr<float>();
    float *po = out.data_ptr<float>(), *pn = normalized.data_ptr<float>(), *ps = inverse_std.data_ptr<float>();
    at::parallel_for(0, rows, kReductionRows, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        ps[r] = NormRowAvx2(px + r * width, pg, pb, static_cast<float>(eps), width, nullptr, 1.0f, po + r * width,
                            nullptr, pn + r * width);
      }
    });
    ctx->save_for_backward({gamma, beta, normalized, inverse_std});
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    RECORD_FUNCTION("flowdesign::RowLayerNormBackward", std::vector<c10::IValue>());
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &gamma = saved[0], &beta = saved[1], &normalized = saved[2], &inverse_std = saved[3];
    const torch::Tensor grad = grad_outputs[0].contiguous();
    const int64_t rows = normalized.size(0), width = normalized.size(1);
    const bool want_parameters = ctx->needs_input_grad(1) || ctx->needs_input_grad(2);
    const int64_t blocks = (rows + kReductionRows - 1) / kReductionRows;
    // Per block: the partial sums of d gamma, then of d beta.
    std::vector<float> partial(want_parameters ? static_cast<size_t>(blocks * 2 * width) : 0, 0.0f);
    torch::Tensor grad_x = torch::empty_like(normalized);
    const float *pg = gamma.data_ptr<float>(), *pb = beta.data_ptr<float>(), *pn = normalized.data_ptr<float>();
    const float *ps = inverse_std.data_ptr<float>(), *pgrad = grad.data_ptr<float>();
    float* px = grad_x.data_ptr<float>();
    at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t blk = b0; blk < b1; ++blk) {
        float* part = want_parameters ? partial.data() + blk * 2 * width : nullptr;
        for (int64_t r = blk * kReductionRows; r < std::min(rows, (blk + 1) * kReductionRows); ++r) {
          NormRowBackwardAvx2(pn + r * width, ps[r], pg, pb, width, pgrad + r * width, nullptr, 1.0f, px + r * width,
                              part, part ? part + width : nullptr);
        }
      }
    });
    variable_list grads{grad_x, torch::Tensor(), torch::Tensor(), torch::Tensor()};
    if (want_parameters) {
      const torch::Tensor sums = SumBlocksInOrder(partial, blocks, 2 * width, normalized.options());
      if (ctx->needs_input_grad(1)) grads[1] = sums.narrow(0, 0, width).view_as(gamma);
      if (ctx->needs_input_grad(2)) grads[2] = sums.narrow(0, width, width).view_as(beta);
    }
    return grads;
  }
};

}  // namespace

bool RowLayerNormApplies(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& beta) {
  auto cpu_float = [](const torch::Tensor& t) { return t.device().is_cpu() && t.scalar_type() == torch::kFloat; };
  return CpuHasAvx2Fma() && cpu_float(x) && cpu_float(gamma) && cpu_float(beta) && x.dim() == 2 &&
         x.size(1) % 8 == 0 && gamma.numel() == x.size(1) && beta.numel() == x.size(1);
}

torch::Tensor RowLayerNorm(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& beta, double eps) {
  TORCH_CHECK(RowLayerNormApplies(x, gamma, beta), "RowLayerNorm: CPU float rows of a width divisible by 8 expected");
  return RowLayerNormFunction::apply(x, gamma, beta, eps);
}

}  // namespace flowdesign::simulator::learned
