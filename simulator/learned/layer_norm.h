// LayerNorm over the rows of a float matrix on the CPU, one autograd node: the edge encoder's
// LayerNorm over ~10^4 rows of 64 took ~7% of a forward step in LibTorch's kernel, which also
// back-propagates through a generic path. Rows go through the AVX2 row kernels the edge block
// uses; the parameters' gradients are summed over fixed blocks of rows in block order, so
// results do not depend on the thread count.
#pragma once

#include <torch/torch.h>

namespace flowdesign::simulator::learned {

// Whether RowLayerNorm applies: CPU float [rows, L] with L divisible by 8, float gamma and beta
// of L, a CPU with AVX2 and FMA.
bool RowLayerNormApplies(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& beta);

// (x - mean) / sqrt(var + eps) * gamma + beta per row, as torch::layer_norm over the last
// dimension; differentiable in x, gamma and beta.
torch::Tensor RowLayerNorm(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& beta, double eps);

}  // namespace flowdesign::simulator::learned
