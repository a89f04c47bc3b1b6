// The graph's edge inputs from the particles' last positions: the sender's offset from the
// receiver over the connectivity radius, its length, and (with an edge fade) the message weight
// that falls smoothly to 0 at the radius. On the CPU one loop with its own backward pass (one
// autograd node): LibTorch's gathers back-propagate through index_add_, which on a few
// thousand two-float rows took more time than the loop takes for everything.
#pragma once

#include <torch/torch.h>

namespace flowdesign::simulator::learned {

struct EdgeFeatureTensors {
  torch::Tensor inputs;   // [E, 3]: (x_s - x_r) / R, |x_s - x_r| / R
  torch::Tensor weights;  // [E, 1] smoothstep fade, or undefined when fade == 0
};

// positions [N, 2]; senders, receivers int64 [E]; fade: the fade width in units of R (0: off).
EdgeFeatureTensors EdgeFeatures(const torch::Tensor& positions, const torch::Tensor& senders,
                                const torch::Tensor& receivers, double radius, double fade);

// The same in LibTorch operators: any device and floating dtype.
EdgeFeatureTensors EdgeFeaturesReference(const torch::Tensor& positions, const torch::Tensor& senders,
                                         const torch::Tensor& receivers, double radius, double fade);

}  // namespace flowdesign::simulator::learned
