// Fused CPU kernels for the edge half of an interaction block. On ~10^4 edges x 64 features the
// unfused block spent most of its time streaming edge tensors through one LibTorch operator
// after another (gather, add, relu, LayerNorm, weight, scatter, and their backward); these do
// each group in one pass over the edges. Both are differentiable (custom autograd functions)
// and handle float and double tensors on the CPU (see FusedEdgeKernelsApply); the reference
// composition of LibTorch operators stays in InteractionBlock for other devices and for tests.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace flowdesign::simulator::learned {

// Whether the fused kernels handle this tensor (CPU, float or double).
bool FusedEdgeKernelsApply(const torch::Tensor& t);
// Whether the kernels were compiled to run on LibTorch's intra-op threads (at::parallel_for is a
// header template: without the OpenMP flags of LibTorch's own build it runs on one thread).
bool FusedEdgeKernelsUseIntraOpThreads();

// Whether any defined tensor of `tensors` requires a gradient.
bool AnyRequiresGrad(const std::vector<torch::Tensor>& tensors);

// The kernels index raw memory: an index out of range must be an error, not a stray write.
// Requires a 1-d int64 `index` with values in [0, nodes); `what` names it in the message.
void CheckNodeIndices(const torch::Tensor& index, int64_t nodes, const char* what);

// relu(a + projected[senders, 0:H] + projected[receivers, H:2H]) for a [E, H] and
// projected [N, 2H]; differentiable in a and projected.
torch::Tensor GatherAddRelu(const torch::Tensor& a, const torch::Tensor& projected, const torch::Tensor& senders,
                            const torch::Tensor& receivers);

// With u = LayerNorm(y) * gamma + beta per row of y [E, L]: returns {e + u, [nodes, L] sum over
// the edges of weights * u into their receivers}. weights [E, 1] may be undefined (all 1).
// Differentiable in y, gamma, beta, e and weights.
std::pair<torch::Tensor, torch::Tensor> NormResidualAggregate(const torch::Tensor& y, const torch::Tensor& gamma,
                                                              const torch::Tensor& beta, double eps,
                                                              const torch::Tensor& e, const torch::Tensor& weights,
                                                              const torch::Tensor& receivers, int64_t nodes);

}  // namespace flowdesign::simulator::learned
