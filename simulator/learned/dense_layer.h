// A linear layer (optionally followed by ReLU) with its own AVX2 matrix kernel for the network's
// narrow shapes. The network's layers multiply ~10^4 rows by a 64 x 64 weight; OpenBLAS packs and
// blocks for large squares, and ran these at 33-56 GFLOP/s per core on an AVX2 EPYC where a
// register-blocked 6 x 16 kernel, with the whole weight in L1, runs at ~80 (see
// docs/learned-simulator.md). The kernel also folds the bias and the ReLU into its stores, which
// saves two passes over the output. Differentiable in the input, weight and bias; the backward
// pass uses the same kernel, and the weight gradient sums fixed blocks of rows in a fixed order,
// so results do not depend on the number of threads.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace flowdesign::simulator::learned {

// Whether DenseLayer runs its own kernel for input x and a weight with `outputs` rows: a CPU
// float tensor, an output width that is a multiple of 16, and a CPU with AVX2 and FMA. Otherwise
// DenseLayer is LibTorch's linear (+ relu).
bool DenseKernelApplies(const torch::Tensor& x, int64_t outputs);

// relu(x weight^T + bias) when `relu`, else x weight^T + bias, for x [M, K], weight [N, K] and
// bias [N] (or undefined: no bias).
torch::Tensor DenseLayer(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, bool relu);

// relu(x weight^T + bias + projected[senders, 0:H] + projected[receivers, H:2H]) with H the
// weight's rows: the factorized first layer of an edge MLP and GatherAddRelu (edge_kernels.h) in
// one pass, bit for bit what those two compute one after the other. Not differentiable: for
// forward passes without autograd (a rollout's forward pass), where DenseKernelApplies(x, H).
torch::Tensor DenseGatherAddRelu(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                 const torch::Tensor& projected, const torch::Tensor& senders,
                                 const torch::Tensor& receivers);

// The checks of the kernels that fold the edge MLP's first layer and the node parts into one pass
// (DenseGatherAddRelu, DenseEdgeBlock), naming `what` in the messages: the dense kernel applies,
// CPU float parameters, projected [nodes, 2 x hidden], one sender and receiver per row, in range.
// Unless `differentiable`, also that no input needs a gradient under autograd.
void CheckFirstEdgeLayerInputs(const char* what, const torch::Tensor& x, int64_t hidden,
                               const std::vector<torch::Tensor>& parameters, const torch::Tensor& projected,
                               const torch::Tensor& senders, const torch::Tensor& receivers, bool differentiable);

}  // namespace flowdesign::simulator::learned
