#include "simulator/learned/edge_block.h"

#include <algorithm>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include "simulator/learned/dense_layer.h"
#include "simulator/learned/dense_product.h"
#include "simulator/learned/edge_kernels.h"
#include "simulator/learned/edge_rows.h"

namespace flowdesign::simulator::learned {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Edges per tile of the forward pass: a few micro-tiles, each layer's weight staying in L1 while
// it runs over the tile.
constexpr int64_t kTileEdges = 8 * kTileRows;

// The block's inputs, checked and contiguous.
struct EdgeBlockInputs {
  torch::Tensor e, projected, senders, receivers, weights;  // weights: [E, 1], or undefined or empty: all 1
  torch::Tensor first_weight, first_bias, second_weight, second_bias, gamma, beta;
  torch::Tensor first_transposed, second_transposed;  // W1^T [L, H], W2^T [H, L]: the forward products' B
  int64_t edges = 0, latent = 0, hidden = 0, nodes = 0;
  float eps = 1e-5f;
};

torch::Tensor Contiguous(const torch::Tensor& t) { return t.defined() ? t.contiguous() : t; }

bool HasWeights(const EdgeBlockInputs& in) { return in.weights.defined() && in.weights.numel() > 0; }

EdgeBlockInputs CheckedInputs(const EdgeMlpWeights& w, const torch::Tensor& e, const torch::Tensor& projected,
                              const torch::Tensor& senders, const torch::Tensor& receivers,
                              const torch::Tensor& edge_weights, int64_t nodes) {
  EdgeBlockInputs in;
  in.e = e.contiguous();
  in.projected = projected.contiguous();
  in.senders = senders.contiguous();
  in.receivers = receivers.contiguous();
  in.weights = Contiguous(edge_weights);
  in.first_weight = w.first_weight.contiguous();
  in.first_bias = w.first_bias.contiguous();
  in.second_weight = w.second_weight.contiguous();
  in.second_bias = w.second_bias.contiguous();
  in.gamma = w.norm_weight.contiguous();
  in.beta = w.norm_bias.contiguous();
  in.edges = in.e.size(0);
  in.latent = in.e.size(1);
  in.hidden = in.first_weight.size(0);
  in.nodes = nodes;
  in.eps = static_cast<float>(w.norm_eps);
  const int64_t hidden = in.hidden, latent = in.latent;
  CheckFirstEdgeLayerInputs("DenseEdgeBlock", in.e, hidden,
                            {in.first_weight, in.first_bias, in.second_weight, in.second_bias, in.gamma, in.beta},
                            in.projected, in.senders, in.receivers, /*differentiable=*/true);
  TORCH_CHECK(DenseEdgeBlockApplies(in.e, hidden, in.receivers),
              "DenseEdgeBlock: needs latent and hidden widths divisible by 16 and ascending receivers");
  TORCH_CHECK(in.projected.size(0) == nodes, "DenseEdgeBlock: projected must have one row per node");
  TORCH_CHECK(in.first_weight.sizes() == torch::IntArrayRef({hidden, latent}) && in.first_bias.numel() == hidden &&
                  in.second_weight.sizes() == torch::IntArrayRef({latent, hidden}) &&
                  in.second_bias.numel() == latent && in.gamma.numel() == latent && in.beta.numel() == latent,
              "DenseEdgeBlock: weights of the wrong shape");
  TORCH_CHECK(!HasWeights(in) || (in.weights.numel() == in.edges && in.weights.scalar_type() == torch::kFloat),
              "DenseEdgeBlock: one float weight per edge expected");
  in.first_transposed = in.first_weight.t().contiguous();
  in.second_transposed = in.second_weight.t().contiguous();
  return in;
}

// What a backward pass needs besides the inputs: the hidden activations [E, H] (for the second
// layer's weight gradient) or else only their activity bits [E, H / 16] (int16, ActivityBits),
// the normalized output rows [E, L] and their 1 / std [E]. The bits save writing and reading
// back a tensor as large as the edge latents when no weight gradient is wanted (a design's).
struct EdgeBlockActivations {
  torch::Tensor hidden, hidden_bits, normalized, inverse_std;
};

// The forward pass; keeps the activations in `saved` when not null (the same arithmetic), the
// hidden ones themselves only with keep_hidden.
std::pair<torch::Tensor, torch::Tensor> ForwardPass(const EdgeBlockInputs& in, EdgeBlockActivations* saved,
                                                    bool keep_hidden) {
  const int64_t latent = in.latent, hidden = in.hidden;
  torch::Tensor e_next = torch::empty_like(in.e);
  torch::Tensor aggregated = torch::zeros({in.nodes, latent}, in.e.options());
  if (saved) {
    if (keep_hidden) {
      saved->hidden = torch::empty({in.edges, hidden}, in.e.options());
    } else {
      saved->hidden_bits = torch::empty({in.edges, hidden / kPanel}, in.e.options().dtype(torch::kInt16));
    }
    saved->normalized = torch::empty_like(in.e);
    saved->inverse_std = torch::empty({in.edges}, in.e.options());
  }
  const float* pe = in.e.data_ptr<float>();
  const float* pw = HasWeights(in) ? in.weights.data_ptr<float>() : nullptr;
  const int64_t* s = in.senders.data_ptr<int64_t>();
  const int64_t* r = in.receivers.data_ptr<int64_t>();
  float* pnext = e_next.data_ptr<float>();
  float* pagg = aggregated.data_ptr<float>();
  float* saved_hidden = saved && keep_hidden ? saved->hidden.data_ptr<float>() : nullptr;
  uint16_t* saved_bits =
      saved && !keep_hidden ? reinterpret_cast<uint16_t*>(saved->hidden_bits.data_ptr<int16_t>()) : nullptr;
  float* saved_normalized = saved ? saved->normalized.data_ptr<float>() : nullptr;
  float* saved_inverse_std = saved ? saved->inverse_std.data_ptr<float>() : nullptr;
  // Read once, not per row or tile: data_ptr checks the tensor at every call.
  const float* projected_rows = in.projected.data_ptr<float>();
  const float* w1 = in.first_transposed.data_ptr<float>();
  const float* b1 = in.first_bias.data_ptr<float>();
  const float* w2 = in.second_transposed.data_ptr<float>();
  const float* b2 = in.second_bias.data_ptr<float>();
  const float* gamma = in.gamma.data_ptr<float>();
  const float* beta = in.beta.data_ptr<float>();
  ForReceiverRuns(r, in.edges, [&](int64_t e0, int64_t e1) {
    std::vector<float> hidden_tile(saved_hidden ? 0 : kTileEdges * hidden), output_tile(kTileEdges * latent);
    for (int64_t c0 = e0; c0 < e1; c0 += kTileEdges) {
      const int64_t n = std::min(kTileEdges, e1 - c0);
      float* hidden_rows = saved_hidden ? saved_hidden + c0 * hidden : hidden_tile.data();
      const RowGather gather{projected_rows, 2 * hidden, s + c0, r + c0, hidden};
      DenseProduct first_layer{n, hidden, latent, pe + c0 * latent, latent, 1, w1, hidden, b1, true, hidden_rows, hidden};
      first_layer.gather = &gather;
      first_layer.RunSerial();
      if (saved_bits) ActivityBits(hidden_rows, n, hidden, saved_bits + c0 * (hidden / kPanel));
      DenseProduct{n, latent, hidden, hidden_rows, hidden, 1, w2, latent, b2, false, output_tile.data(), latent}
          .RunSerial();
      for (int64_t i = 0; i < n; ++i) {
        const int64_t edge = c0 + i;
        const float inverse_std =
            NormRowAvx2(output_tile.data() + i * latent, gamma, beta,
                        in.eps, latent, pe + edge * latent, pw ? pw[edge] : 1.0f, pnext + edge * latent,
                        pagg + r[edge] * latent, saved ? saved_normalized + edge * latent : nullptr);
        if (saved) saved_inverse_std[edge] = inverse_std;
      }
    }
  });
  return {e_next, aggregated};
}

// Tensor inputs of EdgeBlockFunction, in order (needs_input_grad counts these).
enum Input { kE, kProjected, kFirstWeight, kFirstBias, kSecondWeight, kSecondBias, kGamma, kBeta, kWeights, kInputs };

struct EdgeBlockFunction : public torch::autograd::Function<EdgeBlockFunction> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& e, const torch::Tensor& projected,
                               const torch::Tensor& first_weight, const torch::Tensor& first_bias,
                               const torch::Tensor& second_weight, const torch::Tensor& second_bias,
                               const torch::Tensor& gamma, const torch::Tensor& beta, const torch::Tensor& weights,
                               const torch::Tensor& senders, const torch::Tensor& receivers, int64_t nodes,
                               double eps) {
    RECORD_FUNCTION("flowdesign::DenseEdgeBlock", std::vector<c10::IValue>());
    const EdgeMlpWeights w{first_weight, first_bias, second_weight, second_bias, gamma, beta, eps};
    const EdgeBlockInputs in = CheckedInputs(w, e, projected, senders, receivers, weights, nodes);
    EdgeBlockActivations saved;
    // Only the second layer's weight gradient needs the hidden activations themselves, only the
    // first's the input rows (not keeping them lets the input's memory go to the next block).
    const bool keep_hidden = second_weight.requires_grad();
    auto [e_next, aggregated] = ForwardPass(in, &saved, keep_hidden);
    ctx->save_for_backward({first_weight.requires_grad() ? in.e : torch::Tensor(), in.first_weight, in.second_weight, in.gamma, in.beta, in.weights, in.senders,
                            in.receivers, keep_hidden ? saved.hidden : saved.hidden_bits, saved.normalized,
                            saved.inverse_std});
    ctx->saved_data["nodes"] = nodes;
    return {e_next, aggregated};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    RECORD_FUNCTION("flowdesign::DenseEdgeBlockBackward", std::vector<c10::IValue>());
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &e = saved[0], &first_weight = saved[1], &second_weight = saved[2];  // e: see forward
    const torch::Tensor &gamma = saved[3], &beta = saved[4], &weights = saved[5];
    const torch::Tensor &senders = saved[6], &receivers = saved[7];
    const torch::Tensor &hidden_or_bits = saved[8], &normalized = saved[9], &inverse_std = saved[10];
    // Either output may be unused downstream (the last block's edges): its gradient is then undefined.
    const torch::Tensor grad_next = Contiguous(grad_outputs[0]), grad_aggregated = Contiguous(grad_outputs[1]);
    const int64_t nodes = ctx->saved_data["nodes"].toInt();
    const int64_t edges = normalized.size(0), latent = normalized.size(1), hidden = first_weight.size(0);
    bool want[kInputs];
    for (int i = 0; i < kInputs; ++i) want[i] = ctx->needs_input_grad(i);
    const bool bits = hidden_or_bits.scalar_type() == torch::kInt16;
    TORCH_CHECK(!bits || !want[kSecondWeight], "DenseEdgeBlock: the hidden activations were not kept");
    TORCH_CHECK(e.defined() || !want[kFirstWeight], "DenseEdgeBlock: the input rows were not kept");
    const torch::TensorOptions options = normalized.options();

    // Layout of one block's partial sums of the parameters' gradients.
    const int64_t at_first_weight = 0, at_first_bias = hidden * latent, at_second_weight = at_first_bias + hidden;
    const int64_t at_second_bias = at_second_weight + latent * hidden, at_gamma = at_second_bias + latent;
    const int64_t at_beta = at_gamma + latent, per_block = at_beta + latent;
    const bool affine = want[kGamma] || want[kBeta];
    bool want_parameters = false;
    for (int i = kFirstWeight; i <= kBeta; ++i) want_parameters = want_parameters || want[i];
    const int64_t blocks = (edges + kReductionRows - 1) / kReductionRows;
    std::vector<float> partial(want_parameters ? static_cast<size_t>(blocks * per_block) : 0, 0.0f);

    // dz: the gradient of the first layer's pre-activation, kept for the projected rows' scatter.
    torch::Tensor grad_z = torch::empty({edges, hidden}, options);
    torch::Tensor grad_e = want[kE] ? torch::empty({edges, latent}, options) : torch::Tensor();
    // The edge weights scale the aggregated messages only (zero gradient if those are unused).
    torch::Tensor grad_weights = want[kWeights] ? torch::zeros_like(weights) : torch::Tensor();
    const bool weighted = weights.numel() > 0;
    const float* pe = e.defined() ? e.data_ptr<float>() : nullptr;
    const float* pw = weighted ? weights.data_ptr<float>() : nullptr;
    const int64_t* r = receivers.data_ptr<int64_t>();
    const float* ph = bits ? nullptr : hidden_or_bits.data_ptr<float>();
    const uint16_t* pbits = bits ? reinterpret_cast<const uint16_t*>(hidden_or_bits.data_ptr<int16_t>()) : nullptr;
    const int64_t words = hidden / kPanel;
    const float* pn = normalized.data_ptr<float>();
    const float* ps = inverse_std.data_ptr<float>();
    const float* gnext = grad_next.defined() ? grad_next.data_ptr<float>() : nullptr;
    const float* gagg = grad_aggregated.defined() ? grad_aggregated.data_ptr<float>() : nullptr;
    float* pdz = grad_z.data_ptr<float>();
    float* pge = want[kE] ? grad_e.data_ptr<float>() : nullptr;
    float* pgw = want[kWeights] && weighted && gagg ? grad_weights.data_ptr<float>() : nullptr;
    const float* pgamma = gamma.data_ptr<float>();
    const float* pbeta = beta.data_ptr<float>();
    const float* w1 = first_weight.data_ptr<float>();
    const float* w2 = second_weight.data_ptr<float>();
    at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
      std::vector<float> grad_y(static_cast<size_t>(kReductionRows * latent));  // d loss / d (LayerNorm input)
      for (int64_t blk = b0; blk < b1; ++blk) {
        const int64_t r0 = blk * kReductionRows, n = std::min(kReductionRows, edges - r0);
        float* part = want_parameters ? partial.data() + blk * per_block : nullptr;
        for (int64_t i = 0; i < n; ++i) {
          const int64_t edge = r0 + i;
          const float grad_weight = NormRowBackwardAvx2(
              pn + edge * latent, ps[edge], pgamma, pbeta, latent,
              gnext ? gnext + edge * latent : nullptr, gagg ? gagg + r[edge] * latent : nullptr,
              pw ? pw[edge] : 1.0f, grad_y.data() + i * latent, affine ? part + at_gamma : nullptr,
              affine ? part + at_beta : nullptr);
          if (pgw) pgw[edge] = grad_weight;
        }
        // dz = (dy W2) where the hidden activation is positive (as LibTorch's relu).
        float* dz = pdz + r0 * hidden;
        DenseProduct dz_product{n, hidden, latent, grad_y.data(), latent, 1, w2, hidden, nullptr, false, dz, hidden};
        if (pbits) {
          dz_product.mask_bits = pbits + r0 * words;
          dz_product.mask_row = words;
        }
        dz_product.RunSerial();
        const float* h = ph ? ph + r0 * hidden : nullptr;
        if (h) {
          for (int64_t k = 0; k < n * hidden; ++k) dz[k] = h[k] > 0.0f ? dz[k] : 0.0f;
        }
        if (pge) {  // the first layer's input gradient plus the residual's
          DenseProduct ge_product{n, latent, hidden, dz, hidden, 1, w1, latent, nullptr, false, pge + r0 * latent, latent};
          if (gnext) {
            ge_product.addend = gnext + r0 * latent;
            ge_product.ld_addend = latent;
          }
          ge_product.RunSerial();
        }
        if (want[kSecondWeight]) {  // dW2 = dy^T h
          DenseProduct{latent, hidden, n, grad_y.data(), 1, latent, h, hidden, nullptr, false,
                       part + at_second_weight, hidden}
              .RunSerial();
        }
        if (want[kFirstWeight]) {  // dW1 = dz^T e
          DenseProduct{hidden, latent, n, dz, 1, hidden, pe + r0 * latent, latent, nullptr, false,
                       part + at_first_weight, latent}
              .RunSerial();
        }
        if (want[kSecondBias]) AddColumnSums(grad_y.data(), n, latent, part + at_second_bias);
        if (want[kFirstBias]) AddColumnSums(dz, n, hidden, part + at_first_bias);
      }
    });

    variable_list grads(kInputs + 4);  // the tensor inputs, then senders, receivers, nodes, eps
    grads[kE] = grad_e;
    grads[kWeights] = grad_weights;
    if (want_parameters) {
      const torch::Tensor sums = SumBlocksInOrder(partial, blocks, per_block, options);
      auto part = [&](int64_t at, torch::IntArrayRef shape) {
        return sums.narrow(0, at, c10::multiply_integers(shape)).view(shape);
      };
      if (want[kFirstWeight]) grads[kFirstWeight] = part(at_first_weight, {hidden, latent});
      if (want[kFirstBias]) grads[kFirstBias] = part(at_first_bias, {hidden});
      if (want[kSecondWeight]) grads[kSecondWeight] = part(at_second_weight, {latent, hidden});
      if (want[kSecondBias]) grads[kSecondBias] = part(at_second_bias, {latent});
      if (want[kGamma]) grads[kGamma] = part(at_gamma, {latent});
      if (want[kBeta]) grads[kBeta] = part(at_beta, {latent});
    }
    if (want[kProjected]) {  // dz into the senders' and receivers' parts of the projected rows
      torch::Tensor grad_projected = torch::zeros({nodes, 2 * hidden}, options);
      float* pp = grad_projected.data_ptr<float>();
      ForReceiverRuns(r, edges, [&](int64_t e0, int64_t e1) {
        AddRowsToReceivers(pdz, r, e0, e1, hidden, pp + hidden, 2 * hidden);
      });
      ScatterAddRows(pdz, senders.data_ptr<int64_t>(), edges, hidden, pp, 2 * hidden, nodes);
      grads[kProjected] = grad_projected;
    }
    return grads;
  }
};

}  // namespace

bool DenseEdgeBlockApplies(const torch::Tensor& e, int64_t hidden, const torch::Tensor& receivers) {
  return DenseKernelApplies(e, hidden) && e.size(1) % kPanel == 0 && receivers.is_contiguous() &&
         receivers.scalar_type() == torch::kInt64 && receivers.numel() == e.size(0) &&
         ReceiversAscending(receivers.data_ptr<int64_t>(), receivers.numel());
}

std::pair<torch::Tensor, torch::Tensor> DenseEdgeBlock(const EdgeMlpWeights& w, const torch::Tensor& e,
                                                       const torch::Tensor& projected, const torch::Tensor& senders,
                                                       const torch::Tensor& receivers,
                                                       const torch::Tensor& edge_weights, int64_t nodes) {
  if (!torch::GradMode::is_enabled() ||
      !AnyRequiresGrad({e, projected, edge_weights, w.first_weight, w.first_bias, w.second_weight, w.second_bias,
                        w.norm_weight, w.norm_bias})) {
    RECORD_FUNCTION("flowdesign::DenseEdgeBlock", std::vector<c10::IValue>());
    return ForwardPass(CheckedInputs(w, e, projected, senders, receivers, edge_weights, nodes), nullptr, false);
  }
  // LibTorch's custom functions need defined tensor inputs: no edge weights come as an empty one.
  const torch::Tensor weights = edge_weights.defined() ? edge_weights : torch::empty({0}, e.options());
  const variable_list out =
      EdgeBlockFunction::apply(e, projected, w.first_weight, w.first_bias, w.second_weight, w.second_bias,
                               w.norm_weight, w.norm_bias, weights, senders, receivers, nodes, w.norm_eps);
  return {out[0], out[1]};
}

}  // namespace flowdesign::simulator::learned
