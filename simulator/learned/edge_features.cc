#include "simulator/learned/edge_features.h"

#include <algorithm>
#include <cmath>

#include <ATen/Parallel.h>

namespace flowdesign::simulator::learned {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kEdgeGrain = 4096;

// The epsilon keeps the gradient of the norm finite for coincident particles.
template <typename T>
T Length(T dx, T dy) {
  return std::sqrt(dx * dx + dy * dy + T(1e-12));
}

// u = 0 at the radius, 1 a fade width inside it; smoothstep keeps the weight C1.
template <typename T>
T FadeArgument(T distance, T fade) {
  return std::clamp((T(1) - distance) / fade, T(0), T(1));
}

template <typename T>
void Forward(const T* x, const int64_t* s, const int64_t* r, int64_t edges, T inverse_radius, T fade, T* inputs,
             T* weights) {
  at::parallel_for(0, edges, kEdgeGrain, [&](int64_t e0, int64_t e1) {
    for (int64_t e = e0; e < e1; ++e) {
      const T dx = (x[2 * s[e]] - x[2 * r[e]]) * inverse_radius;
      const T dy = (x[2 * s[e] + 1] - x[2 * r[e] + 1]) * inverse_radius;
      const T distance = Length(dx, dy);
      inputs[3 * e] = dx;
      inputs[3 * e + 1] = dy;
      inputs[3 * e + 2] = distance;
      if (weights) {
        const T u = FadeArgument(distance, fade);
        weights[e] = u * u * (T(3) - T(2) * u);
      }
    }
  });
}

// Serial, so every position's gradient sums its edges in edge order.
template <typename T>
void Backward(const T* inputs, const int64_t* s, const int64_t* r, int64_t edges, T inverse_radius, T fade,
              const T* grad_inputs, const T* grad_weights, T* grad_x) {
  for (int64_t e = 0; e < edges; ++e) {
    const T dx = inputs[3 * e], dy = inputs[3 * e + 1], distance = inputs[3 * e + 2];
    T grad_distance = grad_inputs ? grad_inputs[3 * e + 2] : T(0);
    if (grad_weights) {
      const T argument = (T(1) - distance) / fade;
      if (argument >= T(0) && argument <= T(1)) {  // as LibTorch's clamp
        grad_distance += grad_weights[e] * T(6) * argument * (T(1) - argument) * (-T(1) / fade);
      }
    }
    T gx = grad_distance * dx / distance, gy = grad_distance * dy / distance;
    if (grad_inputs) {
      gx += grad_inputs[3 * e];
      gy += grad_inputs[3 * e + 1];
    }
    gx *= inverse_radius;
    gy *= inverse_radius;
    grad_x[2 * s[e]] += gx;
    grad_x[2 * s[e] + 1] += gy;
    grad_x[2 * r[e]] -= gx;
    grad_x[2 * r[e] + 1] -= gy;
  }
}

struct EdgeFeatureFunction : public torch::autograd::Function<EdgeFeatureFunction> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& positions, const torch::Tensor& senders,
                               const torch::Tensor& receivers, double radius, double fade) {
    const torch::Tensor x = positions.contiguous(), s = senders.contiguous(), r = receivers.contiguous();
    const int64_t edges = s.numel();
    torch::Tensor inputs = torch::empty({edges, 3}, x.options());
    torch::Tensor weights = fade > 0.0 ? torch::empty({edges, 1}, x.options()) : torch::empty({0}, x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "EdgeFeatures", [&] {
      Forward(x.data_ptr<scalar_t>(), s.data_ptr<int64_t>(), r.data_ptr<int64_t>(), edges,
              static_cast<scalar_t>(1.0 / radius), static_cast<scalar_t>(fade), inputs.data_ptr<scalar_t>(),
              fade > 0.0 ? weights.data_ptr<scalar_t>() : nullptr);
    });
    ctx->save_for_backward({inputs, s, r});
    ctx->saved_data["nodes"] = x.size(0);
    ctx->saved_data["radius"] = radius;
    ctx->saved_data["fade"] = fade;
    if (fade <= 0.0) ctx->mark_non_differentiable({weights});
    return {inputs, weights};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &inputs = saved[0], &s = saved[1], &r = saved[2];
    const double radius = ctx->saved_data["radius"].toDouble(), fade = ctx->saved_data["fade"].toDouble();
    // Either output may be unused downstream: its gradient is then undefined.
    const torch::Tensor grad_inputs = grad_outputs[0].defined() ? grad_outputs[0].contiguous() : torch::Tensor();
    const torch::Tensor grad_weights =
        fade > 0.0 && grad_outputs[1].defined() ? grad_outputs[1].contiguous() : torch::Tensor();
    torch::Tensor grad_x = torch::zeros({ctx->saved_data["nodes"].toInt(), 2}, inputs.options());
    AT_DISPATCH_FLOATING_TYPES(inputs.scalar_type(), "EdgeFeaturesBackward", [&] {
      Backward(inputs.data_ptr<scalar_t>(), s.data_ptr<int64_t>(), r.data_ptr<int64_t>(), s.numel(),
               static_cast<scalar_t>(1.0 / radius), static_cast<scalar_t>(fade),
               grad_inputs.defined() ? grad_inputs.data_ptr<scalar_t>() : nullptr,
               grad_weights.defined() ? grad_weights.data_ptr<scalar_t>() : nullptr, grad_x.data_ptr<scalar_t>());
    });
    return {grad_x, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

bool KernelApplies(const torch::Tensor& positions, const torch::Tensor& senders, const torch::Tensor& receivers) {
  const auto type = positions.scalar_type();
  return positions.device().is_cpu() && (type == torch::kFloat || type == torch::kDouble) && positions.dim() == 2 &&
         positions.size(1) == 2 && senders.device().is_cpu() && receivers.device().is_cpu() &&
         senders.scalar_type() == torch::kInt64 && receivers.scalar_type() == torch::kInt64 &&
         senders.numel() == receivers.numel();
}

}  // namespace

EdgeFeatureTensors EdgeFeaturesReference(const torch::Tensor& positions, const torch::Tensor& senders,
                                         const torch::Tensor& receivers, double radius, double fade) {
  const torch::Tensor displacement =
      (positions.index_select(0, senders) - positions.index_select(0, receivers)) / radius;
  // The epsilon keeps the gradient of the norm finite for coincident particles.
  const torch::Tensor distance = (displacement.pow(2).sum(1, true) + 1e-12).sqrt();
  EdgeFeatureTensors features;
  features.inputs = torch::cat({displacement, distance}, 1);
  if (fade > 0.0) {
    // u = 0 at the radius, 1 a fade width inside it; smoothstep keeps the weight C1.
    const torch::Tensor u = ((1.0 - distance) / fade).clamp(0.0, 1.0);
    features.weights = u * u * (3.0 - 2.0 * u);
  }
  return features;
}

EdgeFeatureTensors EdgeFeatures(const torch::Tensor& positions, const torch::Tensor& senders,
                                const torch::Tensor& receivers, double radius, double fade) {
  if (!KernelApplies(positions, senders, receivers)) {
    return EdgeFeaturesReference(positions, senders, receivers, radius, fade);
  }
  const variable_list out = EdgeFeatureFunction::apply(positions, senders, receivers, radius, fade);
  return {out[0], fade > 0.0 ? out[1] : torch::Tensor()};
}

}  // namespace flowdesign::simulator::learned
