#include "simulator/learned/dense_layer.h"

#include <algorithm>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include "simulator/learned/cpu_features.h"
#include "simulator/learned/dense_product.h"
#include "simulator/learned/edge_kernels.h"

namespace flowdesign::simulator::learned {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The gradients of out = relu?(x weight^T + bias) for grad [rows, outputs] = dL/d out, x [rows,
// inputs] (read for the weight's gradient only) and weight [outputs, inputs] (inputs a multiple
// of kPanel), in one pass over fixed blocks of kReductionRows rows: each block's gradient,
// masked where the output (`relu_out`, undefined without relu) is not positive, stays in cache
// for the input gradient's rows and the block's partial weight gradient and column sums. The
// partial sums are added in block order, so the result does not depend on the thread count.
// Undefined where not wanted.
struct DenseGradients {
  torch::Tensor x, weight, bias;
};

DenseGradients BlockedGradients(const torch::Tensor& grad, const torch::Tensor& x, const torch::Tensor& weight,
                                const torch::Tensor& relu_out, bool want_x, bool want_weight, bool want_bias) {
  const int64_t rows = grad.size(0), outputs = grad.size(1), inputs = weight.size(1);
  const int64_t blocks = (rows + kReductionRows - 1) / kReductionRows;
  const int64_t per_block = outputs * inputs + outputs;  // weight gradient, then column sums
  const bool want_sums = want_weight || want_bias;
  std::vector<float> partial(want_sums ? static_cast<size_t>(blocks * per_block) : 0);
  DenseGradients result;
  if (want_x) result.x = torch::empty({rows, inputs}, grad.options());
  const float* g = grad.data_ptr<float>();
  const float* px = want_weight ? x.data_ptr<float>() : nullptr;
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
        DenseProduct{n, inputs, outputs, block_grad, outputs, 1, pw, inputs, nullptr, false, gx + r0 * inputs, inputs}
            .RunSerial();
      }
      if (!want_sums) continue;
      float* sums = partial.data() + blk * per_block;
      if (want_weight) {
        DenseProduct{outputs, inputs, n, block_grad, 1, outputs, px + r0 * inputs, inputs, nullptr, false, sums, inputs}
            .RunSerial();
      }
      AddColumnSums(block_grad, n, outputs, sums + outputs * inputs);  // partial starts at zero
    }
  });
  if (!want_sums) return result;
  const torch::Tensor sums = SumBlocksInOrder(partial, blocks, per_block, grad.options());
  if (want_weight) result.weight = sums.narrow(0, 0, outputs * inputs).view({outputs, inputs});
  if (want_bias) result.bias = sums.narrow(0, outputs * inputs, outputs);
  return result;
}

// The input gradient of such a layer with a few input columns (an encoder's input layer):
// dx = (grad, zero where the ReLU output is not positive) weight, one row at a time. LibTorch's
// where and product over [rows, outputs] took several times as long.
torch::Tensor NarrowInputGradient(const torch::Tensor& grad, const torch::Tensor& weight, const torch::Tensor& relu_out) {
  const int64_t rows = grad.size(0), outputs = weight.size(0), inputs = weight.size(1);
  const torch::Tensor transposed = weight.t().contiguous();  // [inputs, outputs]
  torch::Tensor dx = torch::empty({rows, inputs}, grad.options());
  const float* g = grad.data_ptr<float>();
  const float* wt = transposed.data_ptr<float>();
  const float* y = relu_out.defined() ? relu_out.data_ptr<float>() : nullptr;
  float* out = dx.data_ptr<float>();
  constexpr int kLanes = 8;  // outputs is a multiple of kPanel, hence of 8: independent lanes vectorize
  at::parallel_for(0, rows, kReductionRows, [&](int64_t r0, int64_t r1) {
    std::vector<float> masked(outputs);
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t o = 0; o < outputs; ++o) {
        masked[o] = y && !(y[r * outputs + o] > 0.0f) ? 0.0f : g[r * outputs + o];
      }
      for (int64_t c = 0; c < inputs; ++c) {
        float lane[kLanes] = {};
        for (int64_t o = 0; o < outputs; o += kLanes) {
          for (int l = 0; l < kLanes; ++l) lane[l] += masked[o + l] * wt[c * outputs + o + l];
        }
        float sum = 0.0f;
        for (float v : lane) sum += v;
        out[r * inputs + c] = sum;
      }
    }
  });
  return dx;
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
    DenseProduct{rows, outputs, inputs, x.data_ptr<float>(), inputs, 1, transposed.data_ptr<float>(), outputs,
            has_bias ? bias.data_ptr<float>() : nullptr, relu, out.data_ptr<float>(), outputs}
        .RunParallel();
    // The input rows serve the weight's gradient only: not kept when the weight is a constant
    // (a design's gradient), which halves what a kept step of a rollout holds at the nodes.
    ctx->save_for_backward({weight_in.requires_grad() ? x : torch::Tensor(), weight, relu ? out : torch::Tensor()});
    ctx->saved_data["relu"] = relu;
    ctx->saved_data["bias"] = has_bias;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    RECORD_FUNCTION("flowdesign::DenseLayerBackward", std::vector<c10::IValue>());
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &x = saved[0], &weight = saved[1], &out = saved[2];  // x: see forward
    const int64_t inputs = weight.size(1);
    const torch::Tensor grad = grad_outputs[0].contiguous();
    const bool relu = ctx->saved_data["relu"].toBool();
    const bool want_bias = ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2);
    if (inputs % kPanel == 0) {
      const DenseGradients g =
          BlockedGradients(grad, x, weight, relu ? out : torch::Tensor(), ctx->needs_input_grad(0),
                           ctx->needs_input_grad(1), want_bias);
      return {g.x, g.weight, g.bias, torch::Tensor()};
    }
    // A few input columns (e.g. an encoder's input layer): the parameters' gradients (training
    // only) by LibTorch's products.
    const torch::Tensor grad_x = ctx->needs_input_grad(0) ? NarrowInputGradient(grad, weight, out) : torch::Tensor();
    if (!ctx->needs_input_grad(1) && !want_bias) return {grad_x, torch::Tensor(), torch::Tensor(), torch::Tensor()};
    const torch::Tensor masked = relu ? torch::where(out > 0, grad, torch::zeros_like(grad)) : grad;
    return {grad_x, ctx->needs_input_grad(1) ? torch::mm(masked.t(), x) : torch::Tensor(),
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

void CheckFirstEdgeLayerInputs(const char* what, const torch::Tensor& x, int64_t hidden,
                               const std::vector<torch::Tensor>& parameters, const torch::Tensor& projected,
                               const torch::Tensor& senders, const torch::Tensor& receivers, bool differentiable) {
  TORCH_CHECK(DenseKernelApplies(x, hidden), what, ": the dense kernel does not apply to this input");
  if (!differentiable) {
    std::vector<torch::Tensor> inputs = parameters;
    inputs.insert(inputs.end(), {x, projected});
    TORCH_CHECK(!torch::GradMode::is_enabled() || !AnyRequiresGrad(inputs), what,
                " is not differentiable: use DenseLayer and the edge kernels under autograd");
  }
  for (const torch::Tensor& p : parameters) {
    TORCH_CHECK(p.scalar_type() == torch::kFloat && p.device().is_cpu(), what, ": parameters must be CPU float");
  }
  TORCH_CHECK(projected.scalar_type() == torch::kFloat && projected.dim() == 2 && projected.size(1) == 2 * hidden,
              what, ": projected must be float with 2 x ", hidden, " columns");
  TORCH_CHECK(senders.numel() == x.size(0) && receivers.numel() == x.size(0), what,
              ": one sender and receiver per row");
  const std::string name = what;
  CheckNodeIndices(senders, projected.size(0), (name + ": senders").c_str());
  CheckNodeIndices(receivers, projected.size(0), (name + ": receivers").c_str());
}

torch::Tensor DenseGatherAddRelu(const torch::Tensor& x_in, const torch::Tensor& weight_in, const torch::Tensor& bias_in,
                                 const torch::Tensor& projected_in, const torch::Tensor& senders_in,
                                 const torch::Tensor& receivers_in) {
  RECORD_FUNCTION("flowdesign::DenseGatherAddRelu", std::vector<c10::IValue>());
  const int64_t hidden = weight_in.size(0);
  const torch::Tensor x = x_in.contiguous(), weight = weight_in.contiguous(), bias = bias_in.contiguous();
  const torch::Tensor projected = projected_in.contiguous();
  const torch::Tensor senders = senders_in.contiguous(), receivers = receivers_in.contiguous();
  CheckFirstEdgeLayerInputs("DenseGatherAddRelu", x, hidden, {weight, bias}, projected, senders, receivers,
                            /*differentiable=*/false);
  const int64_t rows = x.size(0), inputs = x.size(1);
  TORCH_CHECK(weight.size(1) == inputs && bias.numel() == hidden, "DenseGatherAddRelu: weight or bias of the wrong shape");
  const torch::Tensor transposed = weight.t().contiguous();
  torch::Tensor out = torch::empty({rows, hidden}, x.options());
  const RowGather gather{projected.data_ptr<float>(), 2 * hidden, senders.data_ptr<int64_t>(),
                         receivers.data_ptr<int64_t>(), hidden};
  DenseProduct product{rows, hidden, inputs, x.data_ptr<float>(), inputs, 1, transposed.data_ptr<float>(), hidden,
                  bias.data_ptr<float>(), true, out.data_ptr<float>(), hidden};
  product.gather = &gather;
  product.RunParallel();
  return out;
}

}  // namespace flowdesign::simulator::learned
