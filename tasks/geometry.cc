#include "tasks/geometry.h"

#include <algorithm>
#include <limits>

namespace flowdesign::tasks {

double SignedDistanceToBox(const Box& box, Vec2 p) {
  const Vec2 center = 0.5 * (box.min + box.max);
  const Vec2 half = 0.5 * (box.max - box.min);
  const double dx = std::abs(p.x - center.x) - half.x;
  const double dy = std::abs(p.y - center.y) - half.y;
  const double outside = Norm({std::max(dx, 0.0), std::max(dy, 0.0)});
  const double inside = std::min(std::max(dx, dy), 0.0);
  return outside + inside;
}

Vec2 ClosestPointOnSegment(Vec2 a, Vec2 b, Vec2 p) {
  const Vec2 ab = b - a;
  const double len2 = Dot(ab, ab);
  const double t = len2 > 0.0 ? std::clamp(Dot(p - a, ab) / len2, 0.0, 1.0) : 0.0;
  return a + t * ab;
}

double SignedDistanceToCapsule(const Capsule& c, Vec2 p, Vec2* normal) {
  const Vec2 q = ClosestPointOnSegment(c.a, c.b, p);
  const Vec2 d = p - q;
  const double dist = Norm(d);
  if (normal != nullptr) {
    if (dist > 1e-12) {
      *normal = (1.0 / dist) * d;
    } else {  // on the core segment: pick the segment's left normal
      const Vec2 ab = c.b - c.a;
      const double len = Norm(ab);
      *normal = len > 0.0 ? Vec2{-ab.y / len, ab.x / len} : Vec2{0.0, 1.0};
    }
  }
  return dist - c.radius;
}

double PolygonArea(const std::vector<Vec2>& polygon) {
  double twice = 0.0;
  for (size_t i = 0; i < polygon.size(); ++i) {
    twice += Cross(polygon[i], polygon[(i + 1) % polygon.size()]);
  }
  return 0.5 * std::abs(twice);
}

bool PolygonContains(const std::vector<Vec2>& polygon, Vec2 p) {
  bool inside = false;  // even-odd rule
  for (size_t i = 0, j = polygon.size() - 1; i < polygon.size(); j = i++) {
    const Vec2 a = polygon[i];
    const Vec2 b = polygon[j];
    if ((a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x) {
      inside = !inside;
    }
  }
  return inside;
}

double SignedDistanceToPolygon(const std::vector<Vec2>& polygon, Vec2 p) {
  double best = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < polygon.size(); ++i) {
    const Vec2 q = ClosestPointOnSegment(polygon[i], polygon[(i + 1) % polygon.size()], p);
    best = std::min(best, Norm(p - q));
  }
  return PolygonContains(polygon, p) ? -best : best;
}

std::vector<Capsule> PolylineCapsules(const std::vector<Vec2>& points, double thickness) {
  std::vector<Capsule> capsules;
  for (size_t i = 0; i + 1 < points.size(); ++i) {
    capsules.push_back({points[i], points[i + 1], 0.5 * thickness});
  }
  return capsules;
}

}  // namespace flowdesign::tasks
