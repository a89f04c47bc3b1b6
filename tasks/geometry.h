// Plain 2D geometry shared by every stage: points, boxes, capsules (thick segments), polygons.
// Double precision; the differentiable versions live next to their users.
#pragma once

#include <cmath>
#include <vector>

namespace flowdesign::tasks {

struct Vec2 {
  double x = 0.0;
  double y = 0.0;
};

inline Vec2 operator+(Vec2 a, Vec2 b) { return {a.x + b.x, a.y + b.y}; }
inline Vec2 operator-(Vec2 a, Vec2 b) { return {a.x - b.x, a.y - b.y}; }
inline Vec2 operator*(double s, Vec2 a) { return {s * a.x, s * a.y}; }
inline double Dot(Vec2 a, Vec2 b) { return a.x * b.x + a.y * b.y; }
inline double Cross(Vec2 a, Vec2 b) { return a.x * b.y - a.y * b.x; }
inline double Norm(Vec2 a) { return std::sqrt(Dot(a, a)); }
inline bool IsFinite(Vec2 a) { return std::isfinite(a.x) && std::isfinite(a.y); }

// Axis-aligned box [min, max].
struct Box {
  Vec2 min;
  Vec2 max;
  double Width() const { return max.x - min.x; }
  double Height() const { return max.y - min.y; }
  bool Contains(Vec2 p) const {
    return p.x >= min.x && p.x <= max.x && p.y >= min.y && p.y <= max.y;
  }
};

// Signed distance to a box: negative inside.
double SignedDistanceToBox(const Box& box, Vec2 p);

// A segment [a, b] swept by a disc of `radius`: the shape of every wall piece and tool segment.
struct Capsule {
  Vec2 a;
  Vec2 b;
  double radius = 0.0;
};

// Closest point to p on segment [a, b].
Vec2 ClosestPointOnSegment(Vec2 a, Vec2 b, Vec2 p);
// Signed distance to a capsule (negative inside); `normal` (if given) gets the outward unit normal.
double SignedDistanceToCapsule(const Capsule& c, Vec2 p, Vec2* normal = nullptr);

// Polygons are closed implicitly (last point joins the first); orientation is free.
double PolygonArea(const std::vector<Vec2>& polygon);  // absolute area
bool PolygonContains(const std::vector<Vec2>& polygon, Vec2 p);
double SignedDistanceToPolygon(const std::vector<Vec2>& polygon, Vec2 p);

// Capsules covering a polyline with the given thickness (one per segment).
std::vector<Capsule> PolylineCapsules(const std::vector<Vec2>& points, double thickness);

inline constexpr double kPi = 3.14159265358979323846;
inline double DegToRad(double deg) { return deg * kPi / 180.0; }

}  // namespace flowdesign::tasks
