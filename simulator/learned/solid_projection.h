// The post-step projection of fluid particles out of solids. On the CPU it is one loop over
// particles and capsules with its own backward pass (one autograd node); elsewhere, and as the
// reference in tests, the same arithmetic in LibTorch operators, which spent most of a step's
// projection time dispatching a few dozen operators over [n, K] tensors.
#pragma once

#include <torch/torch.h>

namespace flowdesign::simulator::learned {

// Moves points [n, 2] out of the capsules [K, 5] (ax, ay, bx, by, radius) to their surface:
// along the deepest capsule's normal, or, for a point whose step from `previous` [n, 2] crossed
// a capsule's core segment (it went through a thin solid), back onto the side it came from.
// Points outside every capsule that crossed none are unchanged. Differentiable with respect to
// all three inputs (which capsule a point goes to is treated as constant).
torch::Tensor ProjectOutOfSolids(const torch::Tensor& points, const torch::Tensor& previous,
                                 const torch::Tensor& capsules);

// The same in LibTorch operators: any device and floating dtype.
torch::Tensor ProjectOutOfSolidsReference(const torch::Tensor& points, const torch::Tensor& previous,
                                          const torch::Tensor& capsules);

}  // namespace flowdesign::simulator::learned
