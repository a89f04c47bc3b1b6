// Objective terms against hand-computed values on a few particles, smooth vs exact, the tensor
// signed distance vs tasks::Region, gradients vs central finite differences, and the errors.
#include "tests/torch_catch.h"

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "objectives/objective.h"
#include "objectives/region_field.h"
#include "objectives/terms.h"
#include "tasks/task.h"

namespace flowdesign::objectives {
namespace {

using tasks::ObjectiveKind;
using tasks::ObjectiveTerm;
using tasks::Region;
using tasks::Vec2;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double DegToRad(double deg) { return deg * tasks::kPi / 180.0; }

Region Cup() {  // box [0, 1] x [0, 1]
  Region region;
  region.name = "cup";
  region.shape = tasks::RegionShape::kBox;
  region.box = {{0.0, 0.0}, {1.0, 1.0}};
  return region;
}

Region Pit() {  // triangle (2, 0), (3, 0), (2.5, 1)
  Region region;
  region.name = "pit";
  region.shape = tasks::RegionShape::kPolygon;
  region.polygon = {{2.0, 0.0}, {3.0, 0.0}, {2.5, 1.0}};
  return region;
}

Region Ell() {  // non-convex L, clockwise
  Region region;
  region.name = "ell";
  region.shape = tasks::RegionShape::kPolygon;
  region.polygon = {{0.0, 0.0}, {0.0, 2.0}, {1.0, 2.0}, {1.0, 1.0}, {2.0, 1.0}, {2.0, 0.0}};
  return region;
}

ObjectiveTerm Term(ObjectiveKind kind, const std::string& region, double weight, int last_frames = 1) {
  ObjectiveTerm term;
  term.kind = kind;
  term.region = region;
  term.weight = weight;
  term.last_frames = last_frames;
  return term;
}

tasks::Task MakeTask(std::vector<ObjectiveTerm> terms) {
  tasks::Task task;
  task.name = "objective_test";
  task.regions = {Cup(), Pit()};
  task.objective = std::move(terms);
  task.horizon.frames = 4;
  task.horizon.frame_dt_s = 0.01;
  return task;
}

// Tools: a ramp (3 parameters), a 3-segment chain, a 1-segment chain: 7 parameters.
std::vector<tasks::Tool> MakeTools() {
  tasks::Tool ramp;
  ramp.name = "ramp";
  ramp.kind = tasks::ToolKind::kRamp;
  tasks::Tool chain;
  chain.name = "chain";
  chain.kind = tasks::ToolKind::kChain;
  chain.chain.segments = 3;
  tasks::Tool stub;
  stub.name = "stub";
  stub.kind = tasks::ToolKind::kChain;
  stub.chain.segments = 1;
  return {ramp, chain, stub};
}

// [F, N, 2] double from frames of points.
torch::Tensor Positions(const std::vector<std::vector<Vec2>>& frames) {
  std::vector<double> xy;
  for (const auto& frame : frames) {
    for (const Vec2& p : frame) {
      xy.push_back(p.x);
      xy.push_back(p.y);
    }
  }
  return torch::tensor(xy, torch::TensorOptions().dtype(torch::kFloat64))
      .reshape({static_cast<int64_t>(frames.size()), static_cast<int64_t>(frames[0].size()), 2});
}

// p0, p1 inside the cup, p2 inside the pit, p3 outside both.
const std::vector<Vec2> kFour = {{0.5, 0.5}, {0.25, 0.9}, {2.5, 0.3}, {1.5, 0.5}};

TEST_CASE("tensor signed distance matches tasks::Region in double", "[objectives][region]") {
  const std::vector<Vec2> probes = {
      {0.5, 0.5},  {0.1, 0.5},  {0.5, 0.95}, {1.5, 0.5},   {2.0, 3.0},  {-3.0, -4.0},  // box: in, out, corner
      {1.0, 0.5},  {1.0, 1.0},  {2.5, 0.3},  {2.5, 1.0},   {3.5, -0.5}, {2.6, 0.1},   // edges, vertices
      {0.5, 1.5},  {1.5, 1.5},  {1.2, 0.8},  {0.9, 1.1},   {2.5, 2.5},  {-0.5, 1.0}};
  std::vector<std::vector<Vec2>> one = {probes};
  const torch::Tensor points = Positions(one)[0];  // [n, 2]
  for (const Region& region : {Cup(), Pit(), Ell()}) {
    const torch::Tensor sd = RegionSignedDistance(region, points);
    REQUIRE(sd.dim() == 1);
    REQUIRE(sd.size(0) == static_cast<int64_t>(probes.size()));
    for (size_t i = 0; i < probes.size(); ++i) {
      INFO(region.name << " at (" << probes[i].x << ", " << probes[i].y << ")");
      CHECK(sd[static_cast<int64_t>(i)].item<double>() == Approx(region.SignedDistance(probes[i])).margin(1e-12));
    }
  }
  // Hand-computed: box centre, outside corner (3-4-5), triangle outside its left edge.
  CHECK(BoxSignedDistance(Cup().box, points)[0].item<double>() == Approx(-0.5).margin(1e-12));
  CHECK(BoxSignedDistance(Cup().box, points)[5].item<double>() == Approx(5.0).margin(1e-12));
  CHECK(PolygonSignedDistance(Pit().polygon, points)[3].item<double>() ==
        Approx(1.5 / std::sqrt(5.0)).margin(1e-12));

  // Many random points, any leading shape, containment mask too.
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> coordinate(-1.0, 4.0);
  std::vector<std::vector<Vec2>> cloud(3, std::vector<Vec2>(200));
  for (auto& frame : cloud) {
    for (Vec2& p : frame) p = {coordinate(rng), coordinate(rng)};
  }
  const torch::Tensor many = Positions(cloud);  // [3, 200, 2]
  for (const Region& region : {Cup(), Pit(), Ell()}) {
    const torch::Tensor sd = RegionSignedDistance(region, many);
    REQUIRE(sd.dim() == 2);
    REQUIRE(sd.size(0) == 3);
    REQUIRE(sd.size(1) == 200);
    const torch::Tensor sd_float = RegionSignedDistance(region, many.to(torch::kFloat32));
    REQUIRE(sd_float.scalar_type() == torch::kFloat32);
    double worst = 0.0, worst_float = 0.0;
    int contain_mismatch = 0;
    torch::Tensor contains;
    if (region.shape == tasks::RegionShape::kPolygon) contains = PolygonContainsMask(region.polygon, many);
    for (int f = 0; f < 3; ++f) {
      for (int i = 0; i < 200; ++i) {
        const double expected = region.SignedDistance(cloud[f][i]);
        worst = std::max(worst, std::abs(sd[f][i].item<double>() - expected));
        worst_float = std::max(worst_float, std::abs(sd_float[f][i].item<double>() - expected));
        if (contains.defined() && contains[f][i].item<bool>() != region.Contains(cloud[f][i])) ++contain_mismatch;
      }
    }
    INFO(region.name);
    CHECK(worst < 1e-12);
    CHECK(worst_float < 1e-5);
    CHECK(contain_mismatch == 0);
  }
}

TEST_CASE("each exact term matches a hand-computed value on four particles", "[objectives][exact]") {
  const FrameData frames = PrepareFrameData(Positions({kFour}), {});
  CHECK(ExactFractionInside(frames, Cup(), 1) == Approx(0.5).margin(1e-15));
  CHECK(ExactFractionInside(frames, Pit(), 1) == Approx(0.25).margin(1e-15));
  // Distances to the cup: 0, 0, 1.5, 0.5.
  CHECK(ExactDistanceToRegion(frames, Cup(), 1) == Approx(0.5).margin(1e-15));
  // Distances to the pit: vertex (2, 0) from p0; the left edge's line 2x - y - 4 = 0 from p1
  // (4.4 / sqrt(5)) and p3 (1.5 / sqrt(5)); 0 for p2.
  const double to_pit = (std::sqrt(2.5) + 4.4 / std::sqrt(5.0) + 1.5 / std::sqrt(5.0)) / 4.0;
  CHECK(ExactDistanceToRegion(frames, Pit(), 1) == Approx(to_pit).margin(1e-12));

  // The objective: -1 * 0.5 + 0.5 * 0.25 + 0.1 * 0.5.
  const Objective objective(MakeTask({Term(ObjectiveKind::kFractionInside, "cup", 1.0),
                                      Term(ObjectiveKind::kKeepOut, "pit", 0.5),
                                      Term(ObjectiveKind::kDistanceToRegion, "cup", 0.1)}));
  CHECK(objective.Exact(Positions({kFour}), {}, {}) == Approx(-0.5 + 0.125 + 0.05).margin(1e-15));
}

TEST_CASE("each smooth term matches a hand-computed value", "[objectives][smooth]") {
  const double t = 0.1;
  const FrameTensors frames = PrepareFrameTensors(Positions({kFour}), {});
  // Signed distances to the cup: -0.5, -0.1, 1.5, 0.5.
  const double fraction = (Sigmoid(5.0) + Sigmoid(1.0) + Sigmoid(-15.0) + Sigmoid(-5.0)) / 4.0;
  CHECK(SmoothFractionInside(frames, Cup(), 1, t).item<double>() == Approx(fraction).margin(1e-12));
  auto softplus = [&](double sd) { return t * std::log1p(std::exp(sd / t)); };
  const double distance = (softplus(-0.5) + softplus(-0.1) + softplus(1.5) + softplus(0.5)) / 4.0;
  CHECK(SmoothDistanceToRegion(frames, Cup(), 1, t).item<double>() == Approx(distance).margin(1e-9));

  ObjectiveOptions options;
  options.temperature_m = t;
  const Objective objective(MakeTask({Term(ObjectiveKind::kFractionInside, "cup", 2.0)}), options);
  const torch::Tensor value = objective.Smooth(Positions({kFour}), {}, torch::Tensor());
  CHECK(value.dim() == 0);
  CHECK(value.scalar_type() == torch::kFloat64);
  CHECK(value.item<double>() == Approx(-2.0 * fraction).margin(1e-12));
  // Float positions give a float objective close to the double one.
  const torch::Tensor value_float = objective.Smooth(Positions({kFour}).to(torch::kFloat32), {}, torch::Tensor());
  CHECK(value_float.scalar_type() == torch::kFloat32);
  CHECK(value_float.item<double>() == Approx(-2.0 * fraction).margin(1e-6));
}

TEST_CASE("region terms average over the last frames", "[objectives][frames]") {
  // Frame 0: none in the cup; frame 1: one; frame 2: two; frame 3: three.
  const std::vector<Vec2> out = {{1.5, 0.5}, {1.6, 0.5}, {1.7, 0.5}, {1.8, 0.5}};
  std::vector<std::vector<Vec2>> frames(4, out);
  frames[1][0] = {0.5, 0.5};
  frames[2][0] = {0.5, 0.5};
  frames[2][1] = {0.4, 0.4};
  frames[3] = {{0.5, 0.5}, {0.4, 0.4}, {0.3, 0.3}, {1.8, 0.5}};
  const torch::Tensor positions = Positions(frames);
  const FrameData data = PrepareFrameData(positions, {});
  CHECK(ExactFractionInside(data, Cup(), 1) == Approx(0.75));
  CHECK(ExactFractionInside(data, Cup(), 2) == Approx((0.5 + 0.75) / 2.0));
  CHECK(ExactFractionInside(data, Cup(), 4) == Approx((0.0 + 0.25 + 0.5 + 0.75) / 4.0));
  const FrameTensors tensors = PrepareFrameTensors(positions, {});
  CHECK(SmoothFractionInside(tensors, Cup(), 2, 1e-6).item<double>() == Approx((0.5 + 0.75) / 2.0).margin(1e-9));
  // Distances of the last frame: 0, 0, 0, 0.8; the frame before: 0, 0, 0.7, 0.8.
  CHECK(ExactDistanceToRegion(data, Cup(), 2) == Approx((0.2 + 0.375) / 2.0));

  CHECK_THROWS_AS(ExactFractionInside(data, Cup(), 5), std::invalid_argument);
  CHECK_THROWS_AS(SmoothFractionInside(tensors, Cup(), 0, 0.01), std::invalid_argument);
}

TEST_CASE("particles count only from their birth frame", "[objectives][birth]") {
  // Particle 3 is emitted at frame 2 (NaN placeholders before), particle 2 at frame 1.
  std::vector<std::vector<Vec2>> frames(3, kFour);
  frames[0][2] = {kNaN, kNaN};
  frames[0][3] = {kNaN, kNaN};
  frames[1][3] = {kNaN, kNaN};
  frames[2][3] = {0.7, 0.7};  // born inside the cup
  const std::vector<int> birth = {0, 0, 1, 2};
  const torch::Tensor positions = Positions(frames);
  const FrameData data = PrepareFrameData(positions, birth);
  // Frame 0: 2 of 2 in the cup; frame 1: 2 of 3; frame 2: 3 of 4.
  CHECK(ExactFractionInside(data, Cup(), 1) == Approx(0.75));
  CHECK(ExactFractionInside(data, Cup(), 2) == Approx((2.0 / 3.0 + 0.75) / 2.0));
  CHECK(ExactFractionInside(data, Cup(), 3) == Approx((1.0 + 2.0 / 3.0 + 0.75) / 3.0));
  CHECK(ExactDistanceToRegion(data, Cup(), 2) == Approx((1.5 / 3.0 + 1.5 / 4.0) / 2.0));

  ObjectiveOptions options;
  options.temperature_m = 1e-6;
  const Objective objective(MakeTask({Term(ObjectiveKind::kFractionInside, "cup", 1.0, 3)}), options);
  CHECK(objective.Exact(positions, birth, {}) == Approx(-(1.0 + 2.0 / 3.0 + 0.75) / 3.0));
  torch::Tensor leaf = positions.clone().requires_grad_(true);
  const torch::Tensor value = objective.Smooth(leaf, birth, torch::Tensor());
  CHECK(value.item<double>() == Approx(-(1.0 + 2.0 / 3.0 + 0.75) / 3.0).margin(1e-9));
  value.backward();
  CHECK(torch::isfinite(leaf.grad()).all().item<bool>());  // placeholders never reach the gradient

  // Frames with no particle alive are left out of the average.
  const std::vector<int> late = {1, 1, 1, 2};
  const FrameData late_data = PrepareFrameData(positions, late);
  CHECK(ExactFractionInside(late_data, Cup(), 3) == Approx((2.0 / 3.0 + 0.75) / 2.0));
  CHECK(SmoothFractionInside(PrepareFrameTensors(positions, late), Cup(), 3, 1e-6).item<double>() ==
        Approx((2.0 / 3.0 + 0.75) / 2.0).margin(1e-9));
  const std::vector<int> never = {5, 5, 5, 5};
  CHECK(ExactFractionInside(PrepareFrameData(positions, never), Cup(), 3) == 0.0);
  CHECK(SmoothFractionInside(PrepareFrameTensors(positions, never), Cup(), 3, 0.01).item<double>() == 0.0);

  CHECK_THROWS_AS(PrepareFrameData(positions, {0, 0, 1}), std::invalid_argument);
  CHECK_THROWS_AS(PrepareFrameTensors(positions, {0, 0, -1, 2}), std::invalid_argument);
}

TEST_CASE("smooth terms approach the exact ones as the temperature goes to 0", "[objectives][smooth]") {
  std::vector<std::vector<Vec2>> frames = {kFour, kFour};
  frames[1] = {{0.99, 0.5}, {1.02, 0.5}, {2.5, 0.99}, {2.0, 0.01}};  // near, not on, the boundaries
  const torch::Tensor positions = Positions(frames);
  ObjectiveOptions options;
  options.temperature_m = 1e-6;
  const Objective objective(MakeTask({Term(ObjectiveKind::kFractionInside, "cup", 1.0, 2),
                                      Term(ObjectiveKind::kKeepOut, "pit", 1.0, 2),
                                      Term(ObjectiveKind::kDistanceToRegion, "cup", 1.0, 2),
                                      Term(ObjectiveKind::kDistanceToRegion, "pit", 1.0, 1)}),
                            options);
  const std::vector<TermReport> report = objective.Report(positions, {}, {});
  REQUIRE(report.size() == 4);
  for (const TermReport& term : report) {
    INFO(term.name);
    CHECK(std::abs(term.smooth_value - term.exact_value) < 1e-6);
  }
  CHECK(report[0].exact_value == Approx((0.5 + 0.25) / 2.0));
  CHECK(report[1].exact_value == Approx((0.25 + 0.25) / 2.0));  // (2.0, 0.01) is outside the pit
  CHECK(objective.Smooth(positions, {}, torch::Tensor()).item<double>() ==
        Approx(objective.Exact(positions, {}, {})).margin(4e-6));

  // At the default temperature they differ, but not by much.
  const Objective warm(MakeTask({Term(ObjectiveKind::kFractionInside, "cup", 1.0)}));
  CHECK(warm.Options().temperature_m == 0.005);
  const TermReport near = warm.Report(positions, {}, {})[0];
  CHECK(near.smooth_value != Approx(near.exact_value).margin(1e-3));
  CHECK(std::abs(near.smooth_value - near.exact_value) < 0.2);
}

TEST_CASE("smoothness is the mean squared bend of the chains", "[objectives][smoothness]") {
  const std::vector<tasks::Tool> tools = MakeTools();
  // ramp x, y, angle; chain 10, 20, -30 degrees; stub 45 degrees.
  const std::vector<double> parameters = {0.5, 0.5, 30.0, 10.0, 20.0, -30.0, 45.0};
  const double expected = (std::pow(DegToRad(20.0), 2) + std::pow(DegToRad(-30.0), 2)) / 2.0;
  CHECK(SmoothnessJointCount(tools) == 2);
  CHECK(ChainSmoothness(tools, parameters) == Approx(expected).margin(1e-15));
  const torch::Tensor tensor = torch::tensor(parameters, torch::TensorOptions().dtype(torch::kFloat64));
  CHECK(ChainSmoothness(tools, tensor).item<double>() == Approx(expected).margin(1e-15));
  CHECK(ChainSmoothness({tools[0], tools[2]}, std::vector<double>{0.5, 0.5, 30.0, 45.0}) == 0.0);  // no joints
  CHECK_THROWS_AS(ChainSmoothness(tools, std::vector<double>{1.0, 2.0}), std::invalid_argument);
  std::vector<double> bad = parameters;
  bad[4] = kNaN;
  CHECK_THROWS_AS(ChainSmoothness(tools, bad), std::invalid_argument);

  tasks::Task task = MakeTask({Term(ObjectiveKind::kSmoothness, "", 0.01)});
  task.tools = tools;
  const Objective objective(task);
  CHECK(objective.UsesParameters());
  CHECK(objective.ParameterCount() == 7);
  CHECK(objective.Exact(Positions({kFour}), {}, parameters) == Approx(0.01 * expected).margin(1e-15));
  CHECK(objective.Smooth(Positions({kFour}), {}, tensor).item<double>() == Approx(0.01 * expected).margin(1e-15));
  CHECK_THROWS_AS(objective.Smooth(Positions({kFour}), {}, torch::Tensor()), std::invalid_argument);
  CHECK_THROWS_AS(objective.Exact(Positions({kFour}), {}, {}), std::invalid_argument);
}

TEST_CASE("the smooth objective's gradient matches central finite differences", "[objectives][gradient]") {
  // Near the boundaries so every term has a visible gradient; particle 3 is born at frame 1.
  std::vector<std::vector<Vec2>> frames = {
      {{0.95, 0.5}, {0.5, 1.03}, {2.3, 0.45}, {kNaN, kNaN}},
      {{1.04, 0.97}, {0.97, 0.2}, {2.62, 0.5}, {2.5, -0.03}},
      {{1.02, 1.03}, {0.1, 0.95}, {1.97, 0.1}, {2.5, 0.05}}};
  const torch::Tensor positions = Positions(frames);
  const std::vector<int> birth = {0, 0, 0, 1};
  tasks::Task task = MakeTask({Term(ObjectiveKind::kFractionInside, "cup", 1.0, 3),
                               Term(ObjectiveKind::kKeepOut, "pit", 0.5, 2),
                               Term(ObjectiveKind::kDistanceToRegion, "cup", 2.0, 2),
                               Term(ObjectiveKind::kDistanceToRegion, "pit", 0.3, 1),
                               Term(ObjectiveKind::kSmoothness, "", 0.2)});
  task.tools = MakeTools();
  ObjectiveOptions options;
  options.temperature_m = 0.05;
  const Objective objective(task, options);
  const torch::Tensor parameters =
      torch::tensor(std::vector<double>{0.5, 0.5, 30.0, 10.0, 20.0, -30.0, 45.0},
                    torch::TensorOptions().dtype(torch::kFloat64));

  torch::Tensor x = positions.clone().requires_grad_(true);
  torch::Tensor q = parameters.clone().requires_grad_(true);
  objective.Smooth(x, birth, q).backward();
  const torch::Tensor dx = x.grad(), dq = q.grad();
  REQUIRE(torch::isfinite(dx).all().item<bool>());
  CHECK(dx.abs().sum().item<double>() > 0.0);

  torch::NoGradGuard no_grad;
  auto value = [&](const torch::Tensor& p, const torch::Tensor& theta) {
    return objective.Smooth(p, birth, theta).item<double>();
  };
  const double h = 1e-6;
  int compared = 0;
  for (int64_t f = 0; f < positions.size(0); ++f) {
    for (int64_t i = 0; i < positions.size(1); ++i) {
      if (f < birth[i]) {
        CHECK(dx[f][i].abs().sum().item<double>() == 0.0);  // placeholders get no gradient
        continue;
      }
      for (int64_t c = 0; c < 2; ++c) {
        torch::Tensor plus = positions.clone(), minus = positions.clone();
        plus[f][i][c] += h;
        minus[f][i][c] -= h;
        const double numeric = (value(plus, parameters) - value(minus, parameters)) / (2 * h);
        const double analytic = dx[f][i][c].item<double>();
        INFO("frame " << f << " particle " << i << " axis " << c << ": analytic " << analytic << ", numeric "
                      << numeric);
        CHECK(std::abs(analytic - numeric) <= 1e-6 * std::max(1.0, std::abs(numeric)));
        ++compared;
      }
    }
  }
  CHECK(compared == 22);
  for (int64_t k = 0; k < parameters.size(0); ++k) {
    torch::Tensor plus = parameters.clone(), minus = parameters.clone();
    plus[k] += h;
    minus[k] -= h;
    const double numeric = (value(positions, plus) - value(positions, minus)) / (2 * h);
    const double analytic = dq[k].item<double>();
    INFO("parameter " << k << ": analytic " << analytic << ", numeric " << numeric);
    CHECK(std::abs(analytic - numeric) <= 1e-7 * std::max(1.0, std::abs(numeric)));
  }
  CHECK(dq[0].item<double>() == 0.0);  // ramp parameters and the first joint do not enter
  CHECK(dq[3].item<double>() == 0.0);
  CHECK(dq[4].item<double>() == Approx(0.2 * DegToRad(20.0) * (tasks::kPi / 180.0)));  // 0.2 * 2 a / 2 * da/ddeg
}

TEST_CASE("non-finite positions of alive particles raise, placeholders do not", "[objectives][errors]") {
  const Objective objective(MakeTask({Term(ObjectiveKind::kFractionInside, "cup", 1.0, 2)}));
  std::vector<std::vector<Vec2>> frames = {kFour, kFour};
  frames[1][2] = {kNaN, 0.5};
  const torch::Tensor positions = Positions(frames);
  for (int path = 0; path < 2; ++path) {
    try {
      if (path == 0) {
        objective.Exact(positions, {}, {});
      } else {
        objective.Smooth(positions.to(torch::kFloat32), {}, torch::Tensor());
      }
      FAIL("expected std::runtime_error");
    } catch (const std::runtime_error& e) {
      const std::string message = e.what();
      INFO(message);
      CHECK(message.find("particle 2 at frame 1") != std::string::npos);
      CHECK(message.find("not finite") != std::string::npos);
    }
  }
  frames[1][2] = {0.5, std::numeric_limits<double>::infinity()};
  CHECK_THROWS_AS(objective.Report(Positions(frames), {}, {}), std::runtime_error);
  // Not yet born: the NaN is a placeholder.
  frames[0][2] = {kNaN, kNaN};
  frames[1][2] = {0.5, 0.5};
  CHECK_NOTHROW(objective.Exact(Positions(frames), {0, 0, 1, 0}, {}));
  CHECK_NOTHROW(objective.Smooth(Positions(frames), {0, 0, 1, 0}, torch::Tensor()));
}

TEST_CASE("weights and signs: fraction_inside lowers the objective, keep_out raises it", "[objectives][signs]") {
  std::vector<std::vector<Vec2>> frames = {kFour};
  const torch::Tensor two_in = Positions(frames);
  frames[0][3] = {0.8, 0.2};  // a third particle into the cup
  const torch::Tensor three_in = Positions(frames);

  const Objective maximize(MakeTask({Term(ObjectiveKind::kFractionInside, "cup", 3.0)}));
  CHECK(maximize.Exact(three_in, {}, {}) < maximize.Exact(two_in, {}, {}));
  CHECK(maximize.Smooth(three_in, {}, {}).item<double>() < maximize.Smooth(two_in, {}, {}).item<double>());
  CHECK(maximize.Exact(three_in, {}, {}) == Approx(-3.0 * 0.75));

  const Objective avoid(MakeTask({Term(ObjectiveKind::kKeepOut, "cup", 3.0)}));
  CHECK(avoid.Exact(three_in, {}, {}) > avoid.Exact(two_in, {}, {}));
  CHECK(avoid.Exact(three_in, {}, {}) == Approx(3.0 * 0.75));

  const Objective zero(MakeTask({Term(ObjectiveKind::kFractionInside, "cup", 0.0)}));
  CHECK(zero.Exact(three_in, {}, {}) == 0.0);

  const Objective mixed(MakeTask({Term(ObjectiveKind::kFractionInside, "cup", 1.0),
                                  Term(ObjectiveKind::kDistanceToRegion, "pit", 0.5)}));
  const std::vector<TermReport> report = mixed.Report(three_in, {}, {});
  REQUIRE(report.size() == 2);
  CHECK(report[0].name == "fraction_inside(cup)");
  CHECK(report[0].sign == -1.0);
  CHECK(report[0].exact_value == Approx(0.75));
  CHECK(report[0].exact_contribution == Approx(-0.75));
  CHECK(report[1].name == "distance_to_region(pit)");
  CHECK(report[1].sign == 1.0);
  CHECK(report[1].exact_contribution == Approx(0.5 * report[1].exact_value));
  CHECK(report[0].exact_contribution + report[1].exact_contribution ==
        Approx(mixed.Exact(three_in, {}, {})));
  CHECK(report[0].smooth_contribution + report[1].smooth_contribution ==
        Approx(mixed.Smooth(three_in, {}, {}).item<double>()));
  const std::string table = FormatReport(report);
  CHECK(table.find("fraction_inside(cup)") != std::string::npos);
  CHECK(table.find("total") != std::string::npos);
}

TEST_CASE("construction validates options and terms; Describe lists the terms", "[objectives][errors]") {
  ObjectiveOptions cold;
  cold.temperature_m = 0.0;
  const tasks::Task task = MakeTask({Term(ObjectiveKind::kFractionInside, "cup", 1.0, 3),
                                     Term(ObjectiveKind::kKeepOut, "pit", 0.5),
                                     Term(ObjectiveKind::kSmoothness, "", 0.01)});
  try {
    Objective objective(task, cold);
    FAIL("expected std::invalid_argument");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("temperature_m") != std::string::npos);
  }
  cold.temperature_m = kNaN;
  CHECK_THROWS_AS(Objective(task, cold), std::invalid_argument);
  try {
    Objective objective(MakeTask({Term(ObjectiveKind::kFractionInside, "cup", 1.0),
                                  Term(ObjectiveKind::kKeepOut, "lake", 1.0)}));
    FAIL("expected std::invalid_argument");
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    CHECK(message.find("objective[1]") != std::string::npos);
    CHECK(message.find("'lake'") != std::string::npos);
  }
  CHECK_THROWS_AS(Objective(MakeTask({Term(ObjectiveKind::kKeepOut, "pit", -1.0)})), std::invalid_argument);

  const Objective objective(task);
  CHECK(objective.TermCount() == 3);
  CHECK(objective.Describe() ==
        "-1 * fraction_inside(cup) [box], mean over the last 3 frames (fraction)\n"
        "+0.5 * keep_out(pit) [polygon, 3 vertices], last frame (fraction)\n"
        "+0.01 * smoothness, mean squared bend over 0 chain joints (rad^2)\n");
  // last_frames beyond the positions' frames is a usage error, not a silent clamp.
  CHECK_THROWS_AS(objective.Exact(Positions({kFour}), {}, {}), std::invalid_argument);
}

}  // namespace
}  // namespace flowdesign::objectives
