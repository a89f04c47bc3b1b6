#include "simulator/learned/solid_projection.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <ATen/Parallel.h>

namespace flowdesign::simulator::learned {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// z component of the 2D cross product, broadcast over leading dimensions.
torch::Tensor Cross(const torch::Tensor& u, const torch::Tensor& v) {
  return u.select(-1, 0) * v.select(-1, 1) - u.select(-1, 1) * v.select(-1, 0);
}

// Particles per task of the CPU loop (each tests every capsule).
constexpr int64_t kParticleGrain = 256;

template <typename T>
struct Vec {
  T x, y;
};
template <typename T>
Vec<T> operator-(Vec<T> u, Vec<T> v) { return {u.x - v.x, u.y - v.y}; }
template <typename T>
T Dot(Vec<T> u, Vec<T> v) { return u.x * v.x + u.y * v.y; }
template <typename T>
T CrossZ(Vec<T> u, Vec<T> v) { return u.x * v.y - u.y * v.x; }

// One capsule of a [K, 5] row: core segment a-b, radius.
template <typename T>
struct Capsule {
  Vec<T> a, b;
  T radius;
  explicit Capsule(const T* row) : a{row[0], row[1]}, b{row[2], row[3]}, radius(row[4]) {}
  Vec<T> Axis() const { return b - a; }
  T Length2() const { return std::max(Dot(Axis(), Axis()), T(1e-12)); }
  // The parameter of the point on the core nearest to p, before clamping to [0, 1].
  T Along(Vec<T> p) const { return Dot(p - a, Axis()) / Length2(); }
  Vec<T> Closest(Vec<T> p) const {
    const T t = std::clamp(Along(p), T(0), T(1));
    return {a.x + t * Axis().x, a.y + t * Axis().y};
  }
};

template <typename T>
T Norm(Vec<T> v) { return std::sqrt(Dot(v, v) + T(1e-12)); }

// Adds d/d(p, a, b) of <grad, Closest(p)> into grad_p and the capsule's gradient row.
template <typename T>
void ClosestBackward(const Capsule<T>& c, Vec<T> p, Vec<T> grad, Vec<T>* grad_p, T* grad_capsule) {
  const Vec<T> ab = c.Axis();
  const T raw_length2 = Dot(ab, ab), length2 = c.Length2();
  const T along = c.Along(p), t = std::clamp(along, T(0), T(1));
  Vec<T> grad_a = grad, grad_ab{t * grad.x, t * grad.y};
  const T grad_along = along >= T(0) && along <= T(1) ? Dot(grad, ab) : T(0);  // as LibTorch's clamp
  const T grad_numerator = grad_along / length2;
  const T grad_length2 = -grad_along * along / length2;
  const Vec<T> pa = p - c.a;
  grad_p->x += grad_numerator * ab.x;
  grad_p->y += grad_numerator * ab.y;
  grad_a.x -= grad_numerator * ab.x;
  grad_a.y -= grad_numerator * ab.y;
  grad_ab.x += grad_numerator * pa.x;
  grad_ab.y += grad_numerator * pa.y;
  if (raw_length2 >= T(1e-12)) {
    grad_ab.x += T(2) * grad_length2 * ab.x;
    grad_ab.y += T(2) * grad_length2 * ab.y;
  }
  grad_capsule[0] += grad_a.x - grad_ab.x;
  grad_capsule[1] += grad_a.y - grad_ab.y;
  grad_capsule[2] += grad_ab.x;
  grad_capsule[3] += grad_ab.y;
}

// For each point: the capsule it goes to (-1: none) and whether it crossed that capsule's core;
// writes the projected points.
template <typename T>
void ProjectForward(const T* points, const T* previous, const T* capsules, int64_t n, int64_t count, T* out,
                    int64_t* nearest, uint8_t* crossed) {
  at::parallel_for(0, n, kParticleGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const Vec<T> p{points[2 * i], points[2 * i + 1]}, q{previous[2 * i], previous[2 * i + 1]};
      const Vec<T> step = p - q;
      // Crossed capsules come first, then the deepest penetration (the first of equals).
      T best = std::numeric_limits<T>::infinity();
      int64_t chosen = -1;
      bool chosen_crossed = false;
      for (int64_t k = 0; k < count; ++k) {
        const Capsule<T> c(capsules + 5 * k);
        const T distance = Norm(p - c.Closest(p));
        const bool through = CrossZ(c.Axis(), q - c.a) * CrossZ(c.Axis(), p - c.a) < T(0) &&
                             CrossZ(step, c.a - q) * CrossZ(step, c.b - q) < T(0);
        const T depth = through ? -distance - c.radius - T(1) : distance - c.radius;
        if (depth < best) {
          best = depth;
          chosen = k;
          chosen_crossed = through;
        }
      }
      const bool inside = chosen >= 0 && best < T(0);
      nearest[i] = inside ? chosen : -1;
      crossed[i] = inside && chosen_crossed;
      if (!inside) {
        out[2 * i] = p.x;
        out[2 * i + 1] = p.y;
        continue;
      }
      // A step that crossed a core segment went through a thin solid: whatever the nearest
      // surface now is, the particle goes back to the side it came from.
      const Capsule<T> c(capsules + 5 * chosen);
      const Vec<T> core = c.Closest(p);
      const Vec<T> offset = chosen_crossed ? q - c.Closest(q) : p - core;
      const T length = Norm(offset);
      out[2 * i] = core.x + c.radius * (offset.x / length);
      out[2 * i + 1] = core.y + c.radius * (offset.y / length);
    }
  });
}

// The backward pass; serial, so the capsules' gradient sums in particle order.
template <typename T>
void ProjectBackward(const T* points, const T* previous, const T* capsules, int64_t n, const int64_t* nearest,
                     const uint8_t* crossed, const T* grad_out, T* grad_points, T* grad_previous, T* grad_capsules) {
  for (int64_t i = 0; i < n; ++i) {
    const Vec<T> g{grad_out[2 * i], grad_out[2 * i + 1]};
    Vec<T> grad_p{T(0), T(0)}, grad_q{T(0), T(0)};
    if (nearest[i] < 0) {
      grad_p = g;
    } else {
      const Capsule<T> c(capsules + 5 * nearest[i]);
      T* grad_capsule = grad_capsules + 5 * nearest[i];
      const Vec<T> p{points[2 * i], points[2 * i + 1]}, q{previous[2 * i], previous[2 * i + 1]};
      // out = Closest(p) + radius * offset / |offset|, offset from p's or (crossed) q's closest point.
      const bool through = crossed[i] != 0;
      const Vec<T> from = through ? q : p;
      const Vec<T> offset = from - c.Closest(from);
      const T length = Norm(offset);
      grad_capsule[4] += (g.x * offset.x + g.y * offset.y) / length;
      const T along = Dot(g, offset) / (length * length * length);
      const Vec<T> grad_offset{c.radius * (g.x / length - along * offset.x),
                               c.radius * (g.y / length - along * offset.y)};
      Vec<T>* grad_from = through ? &grad_q : &grad_p;
      grad_from->x += grad_offset.x;
      grad_from->y += grad_offset.y;
      ClosestBackward(c, from, Vec<T>{-grad_offset.x, -grad_offset.y}, grad_from, grad_capsule);
      ClosestBackward(c, p, g, &grad_p, grad_capsule);
    }
    grad_points[2 * i] = grad_p.x;
    grad_points[2 * i + 1] = grad_p.y;
    if (grad_previous) {
      grad_previous[2 * i] = grad_q.x;
      grad_previous[2 * i + 1] = grad_q.y;
    }
  }
}

struct SolidProjectionFunction : public torch::autograd::Function<SolidProjectionFunction> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& points, const torch::Tensor& previous,
                               const torch::Tensor& capsules) {
    const torch::Tensor p = points.contiguous(), q = previous.contiguous(), c = capsules.contiguous();
    const int64_t n = p.size(0);
    torch::Tensor out = torch::empty_like(p);
    torch::Tensor nearest = torch::empty({n}, torch::kInt64);
    torch::Tensor crossed = torch::empty({n}, torch::kUInt8);
    AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "ProjectOutOfSolids", [&] {
      ProjectForward(p.data_ptr<scalar_t>(), q.data_ptr<scalar_t>(), c.data_ptr<scalar_t>(), n, c.size(0),
                     out.data_ptr<scalar_t>(), nearest.data_ptr<int64_t>(), crossed.data_ptr<uint8_t>());
    });
    ctx->save_for_backward({p, q, c, nearest, crossed});
    return {out};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &p = saved[0], &q = saved[1], &c = saved[2], &nearest = saved[3], &crossed = saved[4];
    const torch::Tensor grad_out = grad_outputs[0].contiguous();
    torch::Tensor grad_points = torch::empty_like(p);
    torch::Tensor grad_previous = ctx->needs_input_grad(1) ? torch::empty_like(q) : torch::Tensor();
    torch::Tensor grad_capsules = torch::zeros_like(c);
    AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "ProjectOutOfSolidsBackward", [&] {
      ProjectBackward(p.data_ptr<scalar_t>(), q.data_ptr<scalar_t>(), c.data_ptr<scalar_t>(), p.size(0),
                      nearest.data_ptr<int64_t>(), crossed.data_ptr<uint8_t>(), grad_out.data_ptr<scalar_t>(),
                      grad_points.data_ptr<scalar_t>(),
                      grad_previous.defined() ? grad_previous.data_ptr<scalar_t>() : nullptr,
                      grad_capsules.data_ptr<scalar_t>());
    });
    return {grad_points, grad_previous, ctx->needs_input_grad(2) ? grad_capsules : torch::Tensor()};
  }
};

bool SolidKernelApplies(const torch::Tensor& points, const torch::Tensor& previous, const torch::Tensor& capsules) {
  const auto type = points.scalar_type();
  auto cpu_of_type = [&](const torch::Tensor& t) { return t.device().is_cpu() && t.scalar_type() == type; };
  return (type == torch::kFloat || type == torch::kDouble) && cpu_of_type(points) && cpu_of_type(previous) &&
         cpu_of_type(capsules) && points.dim() == 2 && points.size(1) == 2 && previous.sizes() == points.sizes() &&
         capsules.dim() == 2 && capsules.size(1) == 5;
}

}  // namespace

torch::Tensor ProjectOutOfSolidsReference(const torch::Tensor& points, const torch::Tensor& previous,
                                          const torch::Tensor& capsules) {
  if (capsules.size(0) == 0 || points.size(0) == 0) return points;
  const torch::Tensor a = capsules.narrow(1, 0, 2).unsqueeze(0);       // [1, K, 2]
  const torch::Tensor b = capsules.narrow(1, 2, 2).unsqueeze(0);       // [1, K, 2]
  const torch::Tensor ab = b - a;                                      // [1, K, 2]
  const torch::Tensor radius = capsules.select(1, 4).unsqueeze(0);     // [1, K]
  const torch::Tensor length2 = ab.pow(2).sum(2).clamp_min(1e-12);     // [1, K]
  // The closest point to p [n, 1, 2] on each capsule's core segment, [n, K, 2].
  auto closest_on_core = [&](const torch::Tensor& p) {
    const torch::Tensor t = ((p - a) * ab).sum(2).div(length2).clamp(0.0, 1.0);  // [n, K]
    return a + t.unsqueeze(2) * ab;
  };
  const torch::Tensor p = points.unsqueeze(1), q = previous.unsqueeze(1);  // [n, 1, 2]
  const torch::Tensor core = closest_on_core(p);
  const torch::Tensor offset = p - core;                                 // [n, K, 2]
  const torch::Tensor distance = (offset.pow(2).sum(2) + 1e-12).sqrt();  // [n, K]
  const torch::Tensor previous_offset = q - closest_on_core(q);
  const torch::Tensor previous_distance = (previous_offset.pow(2).sum(2) + 1e-12).sqrt();
  // A step that crossed a core segment went through a thin solid: whatever the nearest surface
  // now is, the particle goes back to the side it came from.
  const torch::Tensor step = p - q;
  const torch::Tensor crossed =
      ((Cross(ab, q - a) * Cross(ab, p - a)) < 0) & ((Cross(step, a - q) * Cross(step, b - q)) < 0);  // [n, K]
  const torch::Tensor normal = torch::where(crossed.unsqueeze(2), previous_offset / previous_distance.unsqueeze(2),
                                            offset / distance.unsqueeze(2));  // [n, K, 2]
  // Crossed capsules come first, then the deepest penetration.
  const torch::Tensor depth_order = torch::where(crossed, -distance - radius - 1.0, distance - radius);
  const torch::Tensor nearest = std::get<1>(depth_order.min(1, /*keepdim=*/true));  // [n, 1]
  const torch::Tensor inside = depth_order.gather(1, nearest) < 0;                     // [n, 1]
  const torch::Tensor surface = core + radius.unsqueeze(2) * normal;                   // [n, K, 2]
  const torch::Tensor projected = surface.gather(1, nearest.unsqueeze(2).expand({-1, 1, 2})).squeeze(1);
  return torch::where(inside, projected, points);
}

torch::Tensor ProjectOutOfSolids(const torch::Tensor& points, const torch::Tensor& previous,
                                 const torch::Tensor& capsules) {
  if (capsules.size(0) == 0 || points.size(0) == 0) return points;
  if (!SolidKernelApplies(points, previous, capsules)) return ProjectOutOfSolidsReference(points, previous, capsules);
  return SolidProjectionFunction::apply(points, previous, capsules)[0];
}

}  // namespace flowdesign::simulator::learned
