// Plain geometry and tool geometry against hand-computed values.
#include <cmath>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "tasks/geometry.h"
#include "tasks/task.h"
#include "tasks/tool_geometry.h"

namespace flowdesign::tasks {
namespace {

constexpr double kTol = 1e-12;

TEST_CASE("signed distance to a box is exact inside, outside and at corners", "[geometry]") {
  const Box box{{0.0, 0.0}, {2.0, 1.0}};
  CHECK(SignedDistanceToBox(box, {1.0, 0.5}) == Approx(-0.5).margin(kTol));   // centre
  CHECK(SignedDistanceToBox(box, {1.0, 0.25}) == Approx(-0.25).margin(kTol)); // nearer bottom
  CHECK(SignedDistanceToBox(box, {0.1, 0.5}) == Approx(-0.1).margin(kTol));   // nearer left
  CHECK(SignedDistanceToBox(box, {3.0, 0.5}) == Approx(1.0).margin(kTol));    // right of it
  CHECK(SignedDistanceToBox(box, {3.0, 2.0}) == Approx(std::sqrt(2.0)).margin(kTol));  // corner
  CHECK(SignedDistanceToBox(box, {-3.0, -4.0}) == Approx(5.0).margin(kTol));  // 3-4-5 corner
  CHECK(SignedDistanceToBox(box, {2.0, 0.5}) == Approx(0.0).margin(kTol));    // on the edge
}

TEST_CASE("signed distance to a capsule and its normal", "[geometry]") {
  const Capsule capsule{{0.0, 0.0}, {2.0, 0.0}, 0.5};
  Vec2 normal;
  CHECK(SignedDistanceToCapsule(capsule, {1.0, 1.0}, &normal) == Approx(0.5).margin(kTol));
  CHECK(normal.x == Approx(0.0).margin(kTol));
  CHECK(normal.y == Approx(1.0).margin(kTol));

  CHECK(SignedDistanceToCapsule(capsule, {3.0, 0.0}, &normal) == Approx(0.5).margin(kTol));
  CHECK(normal.x == Approx(1.0).margin(kTol));  // past the end cap

  CHECK(SignedDistanceToCapsule(capsule, {-1.0, -1.0}, &normal) ==
        Approx(std::sqrt(2.0) - 0.5).margin(kTol));
  CHECK(normal.x == Approx(-std::sqrt(0.5)).margin(kTol));
  CHECK(normal.y == Approx(-std::sqrt(0.5)).margin(kTol));

  CHECK(SignedDistanceToCapsule(capsule, {1.0, 0.2}) == Approx(-0.3).margin(kTol));
  // On the core segment the normal is the segment's left normal.
  CHECK(SignedDistanceToCapsule(capsule, {1.0, 0.0}, &normal) == Approx(-0.5).margin(kTol));
  CHECK(normal.x == Approx(0.0).margin(kTol));
  CHECK(normal.y == Approx(1.0).margin(kTol));
}

TEST_CASE("closest point on a segment clamps to the ends", "[geometry]") {
  const Vec2 q = ClosestPointOnSegment({0.0, 0.0}, {4.0, 0.0}, {1.5, 3.0});
  CHECK(q.x == Approx(1.5));
  CHECK(q.y == Approx(0.0).margin(kTol));
  CHECK(ClosestPointOnSegment({0.0, 0.0}, {4.0, 0.0}, {-2.0, 1.0}).x == Approx(0.0).margin(kTol));
  CHECK(ClosestPointOnSegment({0.0, 0.0}, {4.0, 0.0}, {9.0, 1.0}).x == Approx(4.0));
  // A degenerate segment is a point.
  CHECK(ClosestPointOnSegment({1.0, 1.0}, {1.0, 1.0}, {5.0, 5.0}).x == Approx(1.0));
}

TEST_CASE("polygon area, containment and signed distance", "[geometry]") {
  const std::vector<Vec2> square{{0, 0}, {1, 0}, {1, 1}, {0, 1}};
  const std::vector<Vec2> square_cw{{0, 0}, {0, 1}, {1, 1}, {1, 0}};
  const std::vector<Vec2> triangle{{0, 0}, {4, 0}, {0, 3}};
  CHECK(PolygonArea(square) == Approx(1.0));
  CHECK(PolygonArea(square_cw) == Approx(1.0));  // orientation does not matter
  CHECK(PolygonArea(triangle) == Approx(6.0));
  CHECK(PolygonArea({{0, 0}, {1, 1}, {2, 2}}) == Approx(0.0).margin(kTol));  // collinear

  CHECK(PolygonContains(triangle, {1.0, 1.0}));
  CHECK_FALSE(PolygonContains(triangle, {3.0, 3.0}));
  CHECK_FALSE(PolygonContains(triangle, {-0.1, 1.0}));
  CHECK(PolygonContains(square_cw, {0.5, 0.5}));

  CHECK(SignedDistanceToPolygon(square, {0.5, 0.5}) == Approx(-0.5));
  CHECK(SignedDistanceToPolygon(square, {0.5, 0.1}) == Approx(-0.1));
  CHECK(SignedDistanceToPolygon(square, {2.0, 0.5}) == Approx(1.0));
  CHECK(SignedDistanceToPolygon(square, {2.0, 2.0}) == Approx(std::sqrt(2.0)));
  // Distance to the hypotenuse 3x + 4y = 12 from (4, 3): |12 + 12 - 12| / 5.
  CHECK(SignedDistanceToPolygon(triangle, {4.0, 3.0}) == Approx(12.0 / 5.0));
}

TEST_CASE("regions dispatch on their shape", "[geometry]") {
  Region box_region;
  box_region.shape = RegionShape::kBox;
  box_region.box = {{0.0, 0.0}, {2.0, 1.0}};
  CHECK(box_region.Area() == Approx(2.0));
  CHECK(box_region.Contains({1.0, 0.5}));
  CHECK_FALSE(box_region.Contains({2.5, 0.5}));
  CHECK(box_region.SignedDistance({1.0, 0.5}) == Approx(-0.5));

  Region triangle_region;
  triangle_region.shape = RegionShape::kPolygon;
  triangle_region.polygon = {{0, 0}, {4, 0}, {0, 3}};
  CHECK(triangle_region.Area() == Approx(6.0));
  CHECK(triangle_region.Contains({1.0, 1.0}));
  CHECK(triangle_region.SignedDistance({-1.0, 0.0}) == Approx(1.0));
}

TEST_CASE("polyline capsules: one per segment, radius half the thickness", "[geometry]") {
  const auto capsules = PolylineCapsules({{0, 0}, {1, 0}, {1, 1}}, 0.2);
  REQUIRE(capsules.size() == 2);
  CHECK(capsules[1].a.x == Approx(1.0));
  CHECK(capsules[1].b.y == Approx(1.0));
  CHECK(capsules[0].radius == Approx(0.1));
  CHECK(PolylineCapsules({{0, 0}}, 0.2).empty());
}

Tool TwoSegmentChain() {
  Tool tool;
  tool.name = "arm";
  tool.kind = ToolKind::kChain;
  tool.thickness_m = 0.1;
  tool.chain.anchor = {1.0, 1.0};
  tool.chain.segments = 2;
  tool.chain.segment_length_m = 1.0;
  tool.chain.angle_min_deg = {-90.0, -90.0};
  tool.chain.angle_max_deg = {90.0, 90.0};
  tool.chain.initial_angle_deg = {0.0, 0.0};
  return tool;
}

Tool Ramp() {
  Tool tool;
  tool.name = "ramp";
  tool.kind = ToolKind::kRamp;
  tool.thickness_m = 0.02;
  tool.ramp.length_m = 2.0;
  tool.ramp.center_bounds = {{0.0, 0.0}, {1.0, 1.0}};
  tool.ramp.angle_min_deg = -45.0;
  tool.ramp.angle_max_deg = 45.0;
  tool.ramp.initial_center = {0.5, 0.5};
  return tool;
}

TEST_CASE("chain points accumulate joint angles", "[geometry]") {
  const Tool tool = TwoSegmentChain();
  {
    const auto points = ChainPoints(tool.chain, {90.0, -90.0});  // up, then right
    REQUIRE(points.size() == 3);
    CHECK(points[0].x == Approx(1.0));
    CHECK(points[0].y == Approx(1.0));
    CHECK(points[1].x == Approx(1.0));
    CHECK(points[1].y == Approx(2.0));
    CHECK(points[2].x == Approx(2.0));
    CHECK(points[2].y == Approx(2.0));
  }
  {
    const auto points = ChainPoints(tool.chain, {30.0, 60.0});  // 30 deg, then straight up
    CHECK(points[1].x == Approx(1.0 + std::sqrt(3.0) / 2.0));
    CHECK(points[1].y == Approx(1.5));
    CHECK(points[2].x == Approx(1.0 + std::sqrt(3.0) / 2.0));
    CHECK(points[2].y == Approx(2.5));
  }
  const auto capsules = ToolCapsules(tool, {0.0, 0.0});
  REQUIRE(capsules.size() == 2);
  CHECK(capsules[1].b.x == Approx(3.0));
  CHECK(capsules[1].radius == Approx(0.05));
  CHECK_THROWS_AS(ToolCapsules(tool, {0.0}), std::invalid_argument);
}

TEST_CASE("solid displacement is the farthest any capsule end travels", "[geometry]") {
  Task task;
  task.tools = {TwoSegmentChain(), Ramp()};
  const std::vector<double> start{0, 0, 0.5, 0.5, 0};
  CHECK(SolidDisplacement(task, start, start) == 0.0);
  // Turning the chain's root by 90 degrees swings its tip (2 m out) through a quarter circle.
  CHECK(SolidDisplacement(task, start, {90, 0, 0.5, 0.5, 0}) == Approx(2.0 * std::sqrt(2.0)));
  // The last joint moves only the last segment's end (1 m out).
  CHECK(SolidDisplacement(task, start, {0, 90, 0.5, 0.5, 0}) == Approx(std::sqrt(2.0)));
  // Shifting the ramp moves both its ends by the shift.
  CHECK(SolidDisplacement(task, start, {0, 0, 0.5, 0.8, 0}) == Approx(0.3));
}

TEST_CASE("a ramp is one capsule centred on its centre parameter", "[geometry]") {
  const auto capsules = ToolCapsules(Ramp(), {0.5, 0.25, 90.0});
  REQUIRE(capsules.size() == 1);
  CHECK(capsules[0].a.x == Approx(0.5));
  CHECK(capsules[0].a.y == Approx(-0.75));
  CHECK(capsules[0].b.y == Approx(1.25));
  CHECK(capsules[0].radius == Approx(0.01));
}

TEST_CASE("parameters split per tool and reject the wrong count", "[geometry]") {
  Task task;
  task.tools = {TwoSegmentChain(), Ramp()};
  CHECK(task.ParameterCount() == 5);
  const auto split = SplitParameters(task, {1, 2, 3, 4, 5});
  REQUIRE(split.size() == 2);
  CHECK(split[0] == std::vector<double>{1, 2});
  CHECK(split[1] == std::vector<double>{3, 4, 5});
  const std::vector<double> too_few{1, 2, 3, 4};
  const std::vector<double> too_many{1, 2, 3, 4, 5, 6};
  CHECK_THROWS_AS(SplitParameters(task, too_few), std::invalid_argument);
  CHECK_THROWS_WITH(SplitParameters(task, too_many), "expected 5 design parameters, got 6");
  CHECK(InitialParameters(task) == std::vector<double>{0, 0, 0.5, 0.5, 0});
  CHECK(SolidCapsules(task, InitialParameters(task)).size() == 3);
}

TEST_CASE("block particles sit on the spacing grid", "[geometry]") {
  WaterBlock block;
  block.box = {{0.4, 0.6}, {0.6, 0.8}};  // 0.2 x 0.2 but neither difference is exactly 0.2
  CHECK(CountBlockParticles(block, 0.01) == 400);
  block.box = {{0.0, 0.0}, {0.3, 0.1}};  // 0.3 / 0.1 is 2.9999999999999996 in doubles
  CHECK(CountBlockParticles(block, 0.1) == 3);
  block.box = {{0.0, 0.0}, {0.35, 0.1}};
  CHECK(CountBlockParticles(block, 0.1) == 3);
  const auto positions = BlockParticlePositions(block, 0.1);
  REQUIRE(positions.size() == 3);
  CHECK(positions[0].x == Approx(0.05));
  CHECK(positions[0].y == Approx(0.05));
  CHECK(positions[2].x == Approx(0.25));
  block.box = {{0.0, 0.0}, {0.05, 1.0}};
  CHECK(CountBlockParticles(block, 0.1) == 0);
}

}  // namespace
}  // namespace flowdesign::tasks
