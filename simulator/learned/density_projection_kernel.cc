#include "simulator/learned/density_projection_kernel.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "simulator/learned/radius_graph.h"

namespace flowdesign::simulator::learned {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr double kPi = 3.14159265358979323846;

// One iteration over one set of pairs, in the reference's order of operations. Forward() keeps
// every intermediate that Backward() needs; a backward pass runs Forward() again on the same
// positions and pairs (a few thousand pairs: far cheaper than keeping the state per step).
template <typename T>
struct Iteration {
  const T* fluid = nullptr;      // [n, 2]
  const T* obstacles = nullptr;  // [m, 2]
  int64_t n = 0;
  const int64_t* pair_i = nullptr;
  const int64_t* pair_j = nullptr;
  int64_t pairs = 0;
  DensityConstants c;

  // Per pair: the offset p_i - p_j, its squared length and length, and the spiky gradient.
  std::vector<T> d, r2, r, g;
  // Per fluid particle: density / rest - 1, the constraint gradients' terms, lambda, the shift.
  std::vector<T> excess, own, others, denominator, lambda, shift, length;

  const T* Point(int64_t k) const { return k < n ? fluid + 2 * k : obstacles + 2 * (k - n); }

  void Forward(T* out) {
    const T h = static_cast<T>(c.h), rest = static_cast<T>(c.rest);
    d.assign(2 * pairs, T(0));
    r2.assign(pairs, T(0));
    r.assign(pairs, T(0));
    g.assign(2 * pairs, T(0));
    std::vector<T> density(n, T(0));
    own.assign(2 * n, T(0));
    others.assign(n, T(0));
    for (int64_t e = 0; e < pairs; ++e) {
      const int64_t i = pair_i[e], j = pair_j[e];
      const T* pi = Point(i);
      const T* pj = Point(j);
      d[2 * e] = pi[0] - pj[0];
      d[2 * e + 1] = pi[1] - pj[1];
      r2[e] = d[2 * e] * d[2 * e] + d[2 * e + 1] * d[2 * e + 1];
      r[e] = std::sqrt(r2[e] + T(1e-14));  // keeps the direction finite for coincident particles
      const T q = std::max(h - r[e], T(0));
      const T coefficient = static_cast<T>(c.spiky) * q * q / r[e];
      g[2 * e] = coefficient * d[2 * e];
      g[2 * e + 1] = coefficient * d[2 * e + 1];
      const T room = std::max(h * h - r2[e], T(0));
      density[i] += static_cast<T>(c.poly6) * room * room * room;
      own[2 * i] += g[2 * e];
      own[2 * i + 1] += g[2 * e + 1];
      if (j < n) others[i] += g[2 * e] * g[2 * e] + g[2 * e + 1] * g[2 * e + 1];
    }
    excess.assign(n, T(0));
    denominator.assign(n, T(0));
    lambda.assign(n, T(0));
    for (int64_t i = 0; i < n; ++i) {
      excess[i] = (static_cast<T>(c.self_density) + density[i]) / rest - T(1);
      own[2 * i] /= rest;
      own[2 * i + 1] /= rest;
      denominator[i] = own[2 * i] * own[2 * i] + own[2 * i + 1] * own[2 * i + 1] + others[i] / (rest * rest) +
                       static_cast<T>(c.epsilon);
      lambda[i] = -std::max(excess[i], T(0)) / denominator[i];
    }
    shift.assign(2 * n, T(0));
    for (int64_t e = 0; e < pairs; ++e) {
      const int64_t i = pair_i[e], j = pair_j[e];
      const T weight = lambda[i] + (j < n ? lambda[j] : lambda[i]);  // obstacles mirror lambda_i
      shift[2 * i] += weight * g[2 * e];
      shift[2 * i + 1] += weight * g[2 * e + 1];
    }
    length.assign(n, T(0));
    for (int64_t i = 0; i < n; ++i) {
      shift[2 * i] /= rest;
      shift[2 * i + 1] /= rest;
      length[i] = std::sqrt(shift[2 * i] * shift[2 * i] + shift[2 * i + 1] * shift[2 * i + 1] + T(1e-20));
      const T scale = std::min(static_cast<T>(c.max_shift) / length[i], T(1));
      out[2 * i] = fluid[2 * i] + shift[2 * i] * scale;
      out[2 * i + 1] = fluid[2 * i + 1] + shift[2 * i + 1] * scale;
    }
  }

  // grad_out [n, 2] -> adds into grad_fluid [n, 2] and grad_obstacles [m, 2] (either may be null).
  void Backward(const T* grad_out, T* grad_fluid, T* grad_obstacles) const {
    const T h = static_cast<T>(c.h), rest = static_cast<T>(c.rest), max_shift = static_cast<T>(c.max_shift);
    // d / d (the unnormalized shift sum), per fluid particle.
    std::vector<T> grad_sum(2 * n);
    for (int64_t i = 0; i < n; ++i) {
      const T ratio = max_shift / length[i];
      const T scale = std::min(ratio, T(1));
      T gx = grad_out[2 * i] * scale, gy = grad_out[2 * i + 1] * scale;
      if (ratio <= T(1)) {  // the clamp is off: the scale depends on the length
        const T grad_scale = grad_out[2 * i] * shift[2 * i] + grad_out[2 * i + 1] * shift[2 * i + 1];
        const T grad_length = -grad_scale * max_shift / (length[i] * length[i]);
        gx += grad_length * shift[2 * i] / length[i];
        gy += grad_length * shift[2 * i + 1] / length[i];
      }
      grad_sum[2 * i] = gx / rest;
      grad_sum[2 * i + 1] = gy / rest;
    }
    std::vector<T> grad_g(2 * pairs), grad_lambda(n, T(0));
    for (int64_t e = 0; e < pairs; ++e) {
      const int64_t i = pair_i[e], j = pair_j[e];
      const T weight = lambda[i] + (j < n ? lambda[j] : lambda[i]);
      grad_g[2 * e] = weight * grad_sum[2 * i];
      grad_g[2 * e + 1] = weight * grad_sum[2 * i + 1];
      const T grad_weight = grad_sum[2 * i] * g[2 * e] + grad_sum[2 * i + 1] * g[2 * e + 1];
      grad_lambda[i] += grad_weight;
      grad_lambda[j < n ? j : i] += grad_weight;
    }
    // d / d (raw density sum), d / d (raw own sum), d / d (raw others sum), per fluid particle.
    std::vector<T> grad_density(n), grad_own(2 * n), grad_others(n);
    for (int64_t i = 0; i < n; ++i) {
      const T constraint = std::max(excess[i], T(0));
      const T grad_constraint = -grad_lambda[i] / denominator[i];
      const T grad_denominator = grad_lambda[i] * constraint / (denominator[i] * denominator[i]);
      grad_density[i] = excess[i] >= T(0) ? grad_constraint / rest : T(0);
      grad_own[2 * i] = T(2) * own[2 * i] * grad_denominator / rest;
      grad_own[2 * i + 1] = T(2) * own[2 * i + 1] * grad_denominator / rest;
      grad_others[i] = grad_denominator / (rest * rest);
    }
    auto add_point = [&](int64_t k, T gx, T gy) {
      T* target = k < n ? grad_fluid + 2 * k : (grad_obstacles ? grad_obstacles + 2 * (k - n) : nullptr);
      if (!target) return;
      target[0] += gx;
      target[1] += gy;
    };
    for (int64_t e = 0; e < pairs; ++e) {
      const int64_t i = pair_i[e], j = pair_j[e];
      T ggx = grad_g[2 * e] + grad_own[2 * i], ggy = grad_g[2 * e + 1] + grad_own[2 * i + 1];
      if (j < n) {
        ggx += T(2) * g[2 * e] * grad_others[i];
        ggy += T(2) * g[2 * e + 1] * grad_others[i];
      }
      const T dx = d[2 * e], dy = d[2 * e + 1], re = r[e];
      const T room = std::max(h * h - r2[e], T(0));
      T grad_r2 = -grad_density[i] * static_cast<T>(c.poly6) * T(3) * room * room;
      // g = spiky q^2 d / r with q = max(h - r, 0): d/dr (q^2 / r) = -q (2 r + q) / r^2.
      const T q = std::max(h - re, T(0));
      const T coefficient = static_cast<T>(c.spiky) * q * q / re;
      const T grad_r = (ggx * dx + ggy * dy) * static_cast<T>(c.spiky) * (-q * (T(2) * re + q) / (re * re));
      grad_r2 += grad_r / (T(2) * re);
      const T gdx = coefficient * ggx + T(2) * grad_r2 * dx;
      const T gdy = coefficient * ggy + T(2) * grad_r2 * dy;
      add_point(i, gdx, gdy);
      add_point(j, -gdx, -gdy);
    }
    for (int64_t k = 0; k < 2 * n; ++k) grad_fluid[k] += grad_out[k];
  }
};

template <typename T>
Iteration<T> MakeIteration(const torch::Tensor& fluid, const torch::Tensor& obstacles, const DensityPairs& pairs,
                           const DensityConstants& c) {
  Iteration<T> iteration;
  iteration.fluid = fluid.data_ptr<T>();
  iteration.obstacles = obstacles.data_ptr<T>();
  iteration.n = fluid.size(0);
  iteration.pair_i = pairs.i.data_ptr<int64_t>();
  iteration.pair_j = pairs.j.data_ptr<int64_t>();
  iteration.pairs = pairs.i.numel();
  iteration.c = c;
  return iteration;
}

struct DensityIterationFunction : public torch::autograd::Function<DensityIterationFunction> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& fluid, const torch::Tensor& obstacles,
                               const DensityProjection& options) {
    const torch::Tensor x = fluid.contiguous(), fixed = obstacles.contiguous();
    const DensityConstants c = DensityConstantsFor(options);
    const DensityPairs pairs = PairsWithin(torch::cat({x, fixed}), x.size(0), c.h);
    torch::Tensor out = torch::empty_like(x);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "ProjectDensityIterationCpu", [&] {
      MakeIteration<scalar_t>(x, fixed, pairs, c).Forward(out.data_ptr<scalar_t>());
    });
    ctx->save_for_backward({x, fixed, pairs.i, pairs.j});
    for (const auto& [key, value] : {std::pair<const char*, double>{"h", c.h}, {"rest", c.rest}, {"poly6", c.poly6},
                                     {"self_density", c.self_density}, {"spiky", c.spiky},
                                     {"max_shift", c.max_shift}, {"epsilon", c.epsilon}}) {
      ctx->saved_data[key] = value;
    }
    return {out};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &x = saved[0], &fixed = saved[1];
    const DensityPairs pairs{saved[2], saved[3]};
    DensityConstants c;
    for (auto [key, value] : {std::pair<const char*, double*>{"h", &c.h}, {"rest", &c.rest}, {"poly6", &c.poly6},
                              {"self_density", &c.self_density}, {"spiky", &c.spiky}, {"max_shift", &c.max_shift},
                              {"epsilon", &c.epsilon}}) {
      *value = ctx->saved_data[key].toDouble();
    }
    const torch::Tensor grad_out = grad_outputs[0].contiguous();
    torch::Tensor grad_fluid = torch::zeros_like(x);
    torch::Tensor grad_obstacles = ctx->needs_input_grad(1) ? torch::zeros_like(fixed) : torch::Tensor();
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "ProjectDensityIterationCpuBackward", [&] {
      Iteration<scalar_t> iteration = MakeIteration<scalar_t>(x, fixed, pairs, c);
      std::vector<scalar_t> unused(2 * x.size(0));
      iteration.Forward(unused.data());
      iteration.Backward(grad_out.data_ptr<scalar_t>(), grad_fluid.data_ptr<scalar_t>(),
                         grad_obstacles.defined() ? grad_obstacles.data_ptr<scalar_t>() : nullptr);
    });
    return {grad_fluid, grad_obstacles, torch::Tensor()};
  }
};

}  // namespace

DensityPairs PairsWithin(const torch::Tensor& points, int64_t fluid, double h) {
  const torch::Tensor cpu = points.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  const int n = static_cast<int>(cpu.size(0));
  std::vector<uint8_t> receives(n, 0);
  std::fill(receives.begin(), receives.begin() + fluid, 1);
  EdgeList edges = RadiusGraph(cpu.data_ptr<float>(), n, receives, h);
  const auto options = torch::TensorOptions().dtype(torch::kInt64);
  const int64_t e = static_cast<int64_t>(edges.senders.size());
  return {torch::from_blob(edges.receivers.data(), {e}, options).clone().to(points.device()),
          torch::from_blob(edges.senders.data(), {e}, options).clone().to(points.device())};
}

DensityConstants DensityConstantsFor(const DensityProjection& options) {
  DensityConstants c;
  c.h = options.kernel_radius_spacings * options.spacing_m;
  c.rest = LatticeRestDensity(options);
  c.poly6 = 4.0 / (kPi * std::pow(c.h, 8));
  c.self_density = c.poly6 * std::pow(c.h, 6);  // the poly6 kernel at r = 0
  c.spiky = -30.0 / (kPi * std::pow(c.h, 5));
  c.max_shift = options.max_shift_spacings * options.spacing_m;
  // Regularizes lambda where the constraint gradient is tiny (PBF's relaxation epsilon), in the
  // constraint's own units: (1 / spacing)^2.
  c.epsilon = 1.0 / (options.spacing_m * options.spacing_m);
  return c;
}

bool DensityKernelApplies(const torch::Tensor& fluid, const torch::Tensor& obstacles) {
  const auto type = fluid.scalar_type();
  return fluid.device().is_cpu() && obstacles.device().is_cpu() && (type == torch::kFloat || type == torch::kDouble) &&
         obstacles.scalar_type() == type && fluid.dim() == 2 && fluid.size(1) == 2 && obstacles.dim() == 2 &&
         obstacles.size(1) == 2;
}

torch::Tensor ProjectDensityIterationCpu(const torch::Tensor& fluid, const torch::Tensor& obstacles,
                                         const DensityProjection& options) {
  TORCH_CHECK(DensityKernelApplies(fluid, obstacles),
              "ProjectDensityIterationCpu: CPU float or double [n, 2] fluid and obstacles of the same dtype expected");
  return DensityIterationFunction::apply(fluid, obstacles, options)[0];
}

}  // namespace flowdesign::simulator::learned
