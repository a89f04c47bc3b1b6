// The edge half of an interaction block (edge MLP with one hidden layer, LayerNorm, residual and
// aggregation into the receivers) as one kernel per tile of edges, forward and backward. On the
// CPU the block's time went to streaming [edges, 64] tensors from one operator to the next and,
// under autograd, to the operators' saved tensors and gradient sums; here a tile's hidden and
// output rows stay in L1/L2 while each layer's weight stays in L1 (dense_product.h).
#pragma once

#include <cstdint>
#include <utility>

#include <torch/torch.h>

namespace flowdesign::simulator::learned {

// The parameters of an edge MLP with one hidden layer and a LayerNorm on its output.
struct EdgeMlpWeights {
  torch::Tensor first_weight, first_bias;    // [H, L], [H]
  torch::Tensor second_weight, second_bias;  // [L, H], [L]
  torch::Tensor norm_weight, norm_bias;      // [L], [L]
  double norm_eps = 1e-5;
};

// Whether DenseEdgeBlock runs for edge latents e [E, L], hidden width H and these receivers: the
// dense kernel applies to both layers (H and L multiples of 16) and the receivers ascend (as
// RadiusGraph makes them), so that threads can own whole receivers.
bool DenseEdgeBlockApplies(const torch::Tensor& e, int64_t hidden, const torch::Tensor& receivers);

// With u = LayerNorm(relu(e W1^T + b1 + projected[senders, 0:H] + projected[receivers, H:2H])
// W2^T + b2) * gamma + beta, returns {e + u, [nodes, L] sum over the edges of weights * u into
// their receivers}; edge_weights [E, 1] may be undefined (all 1). Where DenseEdgeBlockApplies.
// The forward pass is bit for bit DenseGatherAddRelu, DenseLayer and NormResidualAggregate one
// after the other, with or without autograd (so a checkpointed backward pass recomputes exactly
// the forward pass's steps). Differentiable in e, projected, the weights and edge_weights: the
// backward pass works through fixed blocks of edges, summing the parameters' gradients in block
// order, so results do not depend on the thread count.
std::pair<torch::Tensor, torch::Tensor> DenseEdgeBlock(const EdgeMlpWeights& weights, const torch::Tensor& e,
                                                       const torch::Tensor& projected, const torch::Tensor& senders,
                                                       const torch::Tensor& receivers,
                                                       const torch::Tensor& edge_weights, int64_t nodes);

}  // namespace flowdesign::simulator::learned
