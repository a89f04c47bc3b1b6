#include "objectives/region_field.h"

#include <stdexcept>
#include <string>

namespace flowdesign::objectives {
namespace {

using tasks::Vec2;

void CheckPoints(const torch::Tensor& points, const char* function) {
  if (!points.defined() || points.dim() < 1 || points.size(-1) != 2) {
    throw std::invalid_argument(std::string(function) + ": points must have shape [..., 2]" +
                                (points.defined() ? " (got " + std::to_string(points.dim()) + " dims, last " +
                                                        (points.dim() > 0 ? std::to_string(points.size(-1)) : "-") + ")"
                                                  : " (got an undefined tensor)"));
  }
  if (!points.is_floating_point()) {
    throw std::invalid_argument(std::string(function) + ": points must be float or double");
  }
}

torch::TensorOptions SameKind(const torch::Tensor& t) {
  return torch::TensorOptions().dtype(t.scalar_type()).device(t.device());
}

// sqrt(x^2 + y^2) whose gradient is 0 (not NaN) where x = y = 0.
torch::Tensor SafeHypot(const torch::Tensor& x, const torch::Tensor& y) {
  const torch::Tensor r2 = x * x + y * y;
  const torch::Tensor positive = r2 > 0;
  return torch::where(positive, torch::sqrt(torch::where(positive, r2, torch::ones_like(r2))),
                      torch::zeros_like(r2));
}

// Vertices [E, 2] in the dtype and device of `like`.
torch::Tensor VertexTensor(const std::vector<Vec2>& polygon, const torch::Tensor& like) {
  std::vector<double> xy;
  xy.reserve(polygon.size() * 2);
  for (const Vec2& v : polygon) {
    xy.push_back(v.x);
    xy.push_back(v.y);
  }
  return torch::tensor(xy, torch::TensorOptions().dtype(torch::kFloat64))
      .reshape({static_cast<int64_t>(polygon.size()), 2})
      .to(SameKind(like));
}

void CheckPolygon(const std::vector<Vec2>& polygon, const char* function) {
  if (polygon.size() < 3) {
    throw std::invalid_argument(std::string(function) + ": a polygon needs at least 3 vertices (got " +
                                std::to_string(polygon.size()) + ")");
  }
}

// The leading shape of points [..., 2].
std::vector<int64_t> LeadingShape(const torch::Tensor& points) {
  const auto sizes = points.sizes();
  return std::vector<int64_t>(sizes.begin(), sizes.end() - 1);
}

// Even-odd containment of flat points [n, 2] -> bool [n], exactly as tasks::PolygonContains:
// edge (a = v[i], b = v[i - 1]) is crossed when (a.y > p.y) != (b.y > p.y) and
// p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x.
torch::Tensor ContainsFlat(const torch::Tensor& vertices, const torch::Tensor& flat) {
  const torch::Tensor a = vertices;                      // [E, 2]
  const torch::Tensor b = torch::roll(vertices, 1, 0);   // previous vertex
  const torch::Tensor ax = a.select(1, 0), ay = a.select(1, 1);
  const torch::Tensor bx = b.select(1, 0), by = b.select(1, 1);
  const torch::Tensor px = flat.select(1, 0).unsqueeze(1);  // [n, 1]
  const torch::Tensor py = flat.select(1, 1).unsqueeze(1);
  const torch::Tensor straddles = torch::logical_xor(ay > py, by > py);  // [n, E]
  // Horizontal edges give inf or NaN here; they never straddle, so the value is not used.
  const torch::Tensor crossing_x = (bx - ax) * (py - ay) / (by - ay) + ax;
  const torch::Tensor crossed = torch::logical_and(straddles, px < crossing_x);
  return torch::remainder(crossed.sum(1), 2) == 1;
}

}  // namespace

torch::Tensor BoxSignedDistance(const tasks::Box& box, const torch::Tensor& points) {
  CheckPoints(points, "BoxSignedDistance");
  const Vec2 center = 0.5 * (box.min + box.max);
  const Vec2 half = 0.5 * (box.max - box.min);
  const torch::Tensor dx = (points.select(-1, 0) - center.x).abs() - half.x;
  const torch::Tensor dy = (points.select(-1, 1) - center.y).abs() - half.y;
  const torch::Tensor outside = SafeHypot(dx.clamp_min(0.0), dy.clamp_min(0.0));
  const torch::Tensor inside = torch::maximum(dx, dy).clamp_max(0.0);
  return outside + inside;
}

torch::Tensor PolygonSignedDistance(const std::vector<Vec2>& polygon, const torch::Tensor& points) {
  CheckPoints(points, "PolygonSignedDistance");
  CheckPolygon(polygon, "PolygonSignedDistance");
  const torch::Tensor flat = points.reshape({-1, 2});
  const torch::Tensor a = VertexTensor(polygon, points);  // [E, 2], edge i runs v[i] -> v[i + 1]
  const torch::Tensor ab = torch::roll(a, -1, 0) - a;
  const torch::Tensor len2 = (ab * ab).sum(1);            // [E]
  const torch::Tensor proper = len2 > 0;
  const torch::Tensor p = flat.unsqueeze(1);              // [n, 1, 2]
  const torch::Tensor ap = p - a;                         // [n, E, 2]
  // t = clamp(dot(p - a, ab) / |ab|^2, 0, 1); 0 for a degenerate edge, as in ClosestPointOnSegment.
  const torch::Tensor t = torch::where(proper, (ap * ab).sum(2) / torch::where(proper, len2, torch::ones_like(len2)),
                                       torch::zeros_like(len2))
                              .clamp(0.0, 1.0);
  const torch::Tensor d = ap - t.unsqueeze(2) * ab;       // p - closest point
  const torch::Tensor distance = std::get<0>(SafeHypot(d.select(2, 0), d.select(2, 1)).min(1));  // [n]
  const torch::Tensor inside = ContainsFlat(a, flat.detach());
  const torch::Tensor sd = torch::where(inside, -distance, distance);
  return sd.reshape(LeadingShape(points));
}

torch::Tensor PolygonContainsMask(const std::vector<Vec2>& polygon, const torch::Tensor& points) {
  CheckPoints(points, "PolygonContainsMask");
  CheckPolygon(polygon, "PolygonContainsMask");
  const torch::Tensor flat = points.detach().reshape({-1, 2});
  return ContainsFlat(VertexTensor(polygon, points), flat).reshape(LeadingShape(points));
}

torch::Tensor RegionSignedDistance(const tasks::Region& region, const torch::Tensor& points) {
  return region.shape == tasks::RegionShape::kBox ? BoxSignedDistance(region.box, points)
                                                  : PolygonSignedDistance(region.polygon, points);
}

}  // namespace flowdesign::objectives
