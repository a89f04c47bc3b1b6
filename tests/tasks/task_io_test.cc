// Task and design files: every rejection names the file, the JSON path and the reason; what is
// written reads back identically.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tasks/task_io.h"
#include "tests/test_support.h"

namespace flowdesign::tasks {
namespace {

using nlohmann::json;

// A valid task that uses every feature of the format once, with no field at its default.
const json& BaseTask() {
  static const json base = json::parse(R"({
    "format_version": 1,
    "name": "base",
    "description": "every feature once",
    "domain": {"dimensions": 2, "min": [0, 0], "max": [2, 1]},
    "gravity": [0.5, -9.81],
    "particle_spacing": 0.02,
    "fluid": {
      "blocks": [{"min": [0.2, 0.5], "max": [0.4, 0.9], "velocity": [1, 0]}],
      "emitters": [{"position": [0.1, 0.8], "width": 0.1, "velocity": [2, 0],
                    "start": 0.05, "stop": 0.25}]
    },
    "walls": [{"points": [[0, 0.1], [2, 0.1]], "thickness": 0.02}],
    "tools": [
      {"name": "cup", "type": "chain", "anchor": [0.6, 0.4], "segments": 3,
       "segment_length": 0.1, "thickness": 0.015,
       "angle_min": [-90, -80, -70], "angle_max": 90, "initial_angles": [10, -20, 30]},
      {"name": "ramp", "type": "ramp", "length": 0.3, "thickness": 0.01,
       "center_min": [1.0, 0.3], "center_max": [1.5, 0.3], "angle_min": -45, "angle_max": 45,
       "initial_center": [1.2, 0.3], "initial_angle": 5}
    ],
    "regions": [{"name": "goal", "box": {"min": [1.6, 0.1], "max": [1.9, 0.4]}},
                {"name": "pit", "polygon": [[0.8, 0.1], [1.0, 0.1], [0.9, 0.3]]}],
    "objective": [{"term": "fraction_inside", "region": "goal", "weight": 2.0, "last_frames": 5},
                  {"term": "keep_out", "region": "pit", "weight": 0.5},
                  {"term": "distance_to_region", "region": "goal", "weight": 0.1},
                  {"term": "smoothness", "weight": 0.01}],
    "horizon": {"frames": 150, "frame_dt": 0.0025},
    "seed": 7,
    "optimizer": {"name": "cem", "iterations": 30, "learning_rate": 0.1, "learning_rate_decay": 0.98,
                  "restart_patience": 5, "max_step": 0.015, "max_step_adapt": 4,
                  "restart_draws": 6, "restart_spread": 0.2, "backtrack": true, "population": 12, "elite_fraction": 0.5, "starts": 2}
  })");
  return base;
}

// JSON Patch (RFC 6902) operations for mutating the base task.
json Replace(const std::string& path, const json& value) {
  return {{"op", "replace"}, {"path", path}, {"value", value}};
}
json Add(const std::string& path, const json& value) {
  return {{"op", "add"}, {"path", path}, {"value", value}};
}
json Remove(const std::string& path) { return {{"op", "remove"}, {"path", path}}; }

// The message ParseTask gives for the base task with `ops` applied ("no error" if it loads).
std::string ErrorOf(const std::vector<json>& ops) {
  const json task = BaseTask().patch(json(ops));
  try {
    ParseTask(task, "bad.json");
  } catch (const TaskError& e) {
    return e.what();
  }
  return "no error";
}

struct BadCase {
  std::vector<json> ops;
  std::string message;
};

void CheckCases(const std::vector<BadCase>& cases) {
  for (const BadCase& c : cases) {
    INFO("patch: " << json(c.ops).dump());
    CHECK(ErrorOf(c.ops) == c.message);
  }
}

void CheckSame(Vec2 a, Vec2 b) {
  CHECK(a.x == b.x);
  CHECK(a.y == b.y);
}

void CheckSame(const Box& a, const Box& b) {
  CheckSame(a.min, b.min);
  CheckSame(a.max, b.max);
}

void CheckSame(const std::vector<Vec2>& a, const std::vector<Vec2>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CheckSame(a[i], b[i]);
}

// Field-by-field equality of two tasks.
void CheckSameTask(const Task& a, const Task& b) {
  CHECK(a.format_version == b.format_version);
  CHECK(a.name == b.name);
  CHECK(a.description == b.description);
  CHECK(a.domain.dimensions == b.domain.dimensions);
  CheckSame(Box{a.domain.min, a.domain.max}, Box{b.domain.min, b.domain.max});
  CheckSame(a.gravity, b.gravity);
  CHECK(a.particle_spacing_m == b.particle_spacing_m);
  REQUIRE(a.blocks.size() == b.blocks.size());
  for (size_t i = 0; i < a.blocks.size(); ++i) {
    CheckSame(a.blocks[i].box, b.blocks[i].box);
    CheckSame(a.blocks[i].velocity, b.blocks[i].velocity);
  }
  REQUIRE(a.emitters.size() == b.emitters.size());
  for (size_t i = 0; i < a.emitters.size(); ++i) {
    const Emitter& x = a.emitters[i];
    const Emitter& y = b.emitters[i];
    CheckSame(x.position, y.position);
    CheckSame(x.velocity, y.velocity);
    CHECK(x.width_m == y.width_m);
    CHECK(x.start_s == y.start_s);
    CHECK(x.stop_s == y.stop_s);
  }
  REQUIRE(a.walls.size() == b.walls.size());
  for (size_t i = 0; i < a.walls.size(); ++i) {
    CheckSame(a.walls[i].points, b.walls[i].points);
    CHECK(a.walls[i].thickness_m == b.walls[i].thickness_m);
  }
  REQUIRE(a.tools.size() == b.tools.size());
  for (size_t i = 0; i < a.tools.size(); ++i) {
    const Tool& x = a.tools[i];
    const Tool& y = b.tools[i];
    CHECK(x.name == y.name);
    CHECK(x.kind == y.kind);
    CHECK(x.thickness_m == y.thickness_m);
    CheckSame(x.chain.anchor, y.chain.anchor);
    CHECK(x.chain.segments == y.chain.segments);
    CHECK(x.chain.segment_length_m == y.chain.segment_length_m);
    CHECK(x.chain.angle_min_deg == y.chain.angle_min_deg);
    CHECK(x.chain.angle_max_deg == y.chain.angle_max_deg);
    CHECK(x.chain.initial_angle_deg == y.chain.initial_angle_deg);
    CHECK(x.ramp.length_m == y.ramp.length_m);
    CheckSame(x.ramp.center_bounds, y.ramp.center_bounds);
    CHECK(x.ramp.angle_min_deg == y.ramp.angle_min_deg);
    CHECK(x.ramp.angle_max_deg == y.ramp.angle_max_deg);
    CheckSame(x.ramp.initial_center, y.ramp.initial_center);
    CHECK(x.ramp.initial_angle_deg == y.ramp.initial_angle_deg);
  }
  REQUIRE(a.regions.size() == b.regions.size());
  for (size_t i = 0; i < a.regions.size(); ++i) {
    CHECK(a.regions[i].name == b.regions[i].name);
    CHECK(a.regions[i].shape == b.regions[i].shape);
    CheckSame(a.regions[i].box, b.regions[i].box);
    CheckSame(a.regions[i].polygon, b.regions[i].polygon);
  }
  REQUIRE(a.objective.size() == b.objective.size());
  for (size_t i = 0; i < a.objective.size(); ++i) {
    CHECK(a.objective[i].kind == b.objective[i].kind);
    CHECK(a.objective[i].region == b.objective[i].region);
    CHECK(a.objective[i].weight == b.objective[i].weight);
    CHECK(a.objective[i].last_frames == b.objective[i].last_frames);
  }
  CHECK(a.horizon.frames == b.horizon.frames);
  CHECK(a.horizon.frame_dt_s == b.horizon.frame_dt_s);
  CHECK(a.seed == b.seed);
  CHECK(a.optimizer.kind == b.optimizer.kind);
  CHECK(a.optimizer.iterations == b.optimizer.iterations);
  CHECK(a.optimizer.learning_rate == b.optimizer.learning_rate);
  CHECK(a.optimizer.learning_rate_decay == b.optimizer.learning_rate_decay);
  CHECK(a.optimizer.restart_patience == b.optimizer.restart_patience);
  CHECK(a.optimizer.max_step_m == b.optimizer.max_step_m);
  CHECK(a.optimizer.max_step_adapt == b.optimizer.max_step_adapt);
  CHECK(a.optimizer.restart_draws == b.optimizer.restart_draws);
  CHECK(a.optimizer.restart_spread == b.optimizer.restart_spread);
  CHECK(a.optimizer.backtrack == b.optimizer.backtrack);
  CHECK(a.optimizer.population == b.optimizer.population);
  CHECK(a.optimizer.elite_fraction == b.optimizer.elite_fraction);
  CHECK(a.optimizer.starts == b.optimizer.starts);
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

std::string LoadError(const std::string& path) {
  try {
    LoadTask(path);
  } catch (const TaskError& e) {
    return e.what();
  }
  return "no error";
}

TEST_CASE("the base task parses into the data model", "[task_io]") {
  const Task task = ParseTask(BaseTask(), "base.json");
  CHECK(task.name == "base");
  CHECK(task.domain.max.x == 2.0);
  CHECK(task.gravity.x == 0.5);
  REQUIRE(task.tools.size() == 2);
  CHECK(task.tools[0].kind == ToolKind::kChain);
  CHECK(task.tools[0].chain.angle_min_deg == std::vector<double>{-90, -80, -70});
  CHECK(task.tools[0].chain.angle_max_deg == std::vector<double>{90, 90, 90});  // broadcast
  CHECK(task.tools[1].kind == ToolKind::kRamp);
  CHECK(task.tools[1].ramp.center_bounds.max.x == 1.5);
  CHECK(task.ParameterCount() == 6);
  REQUIRE(task.regions.size() == 2);
  CHECK(task.regions[1].shape == RegionShape::kPolygon);
  REQUIRE(task.objective.size() == 4);
  CHECK(task.objective[1].kind == ObjectiveKind::kKeepOut);
  CHECK(task.objective[3].kind == ObjectiveKind::kSmoothness);
  CHECK(task.objective[3].region.empty());
  CHECK(task.emitters[0].start_s == 0.05);
  CHECK(task.horizon.frame_dt_s == 0.0025);
  CHECK(task.optimizer.kind == OptimizerKind::kCem);
  CHECK(task.optimizer.max_step_m == 0.015);
  CHECK(task.optimizer.max_step_adapt == 4.0);
  CHECK(task.optimizer.restart_draws == 6);
  CHECK(task.optimizer.restart_spread == 0.2);
  CHECK(task.optimizer.backtrack);
  CHECK(task.seed == 7);
}

TEST_CASE("optional fields take their documented defaults", "[task_io]") {
  const json task_json = BaseTask().patch(json::array(
      {Remove("/description"), Remove("/gravity"), Remove("/seed"), Remove("/optimizer"),
       Remove("/fluid/blocks/0/velocity"), Remove("/fluid/emitters/0/start"),
       Remove("/tools/0/initial_angles"), Remove("/tools/1/initial_center"),
       Remove("/tools/1/initial_angle"), Remove("/objective/0/weight"),
       Remove("/objective/0/last_frames"), Remove("/walls")}));
  const Task task = ParseTask(task_json, "defaults.json");
  CHECK(task.description.empty());
  CHECK(task.gravity.y == -9.81);
  CHECK(task.seed == 0);
  CHECK(task.optimizer.kind == OptimizerKind::kAdam);
  CHECK(task.optimizer.iterations == 100);
  CHECK(task.optimizer.max_step_adapt == 1.0);
  CHECK(task.optimizer.restart_draws == 0);
  CHECK(task.optimizer.restart_spread == 0.3);
  CHECK_FALSE(task.optimizer.backtrack);
  CHECK(task.blocks[0].velocity.x == 0.0);
  CHECK(task.emitters[0].start_s == 0.0);
  CHECK(task.tools[0].chain.initial_angle_deg == std::vector<double>{0, 0, 0});
  CHECK(task.tools[1].ramp.initial_center.x == 1.25);  // centre of the bounds
  CHECK(task.tools[1].ramp.initial_angle_deg == 0.0);
  CHECK(task.objective[0].weight == 1.0);
  CHECK(task.objective[0].last_frames == 1);
  CHECK(task.walls.empty());
  // Written back, every field is explicit and reads back the same.
  CheckSameTask(ParseTask(TaskToJson(task), "again.json"), task);
}

TEST_CASE("malformed tasks: root, version, names and domain", "[task_io]") {
  CHECK_THROWS_WITH(ParseTask(json::array(), "bad.json"), "bad.json: must be an object");
  const double inf = std::numeric_limits<double>::infinity();
  CheckCases({
      {{Add("/colour", "blue")}, "bad.json: unknown field 'colour'"},
      {{Replace("/format_version", 2)},
       "bad.json: format_version: unsupported format_version 2 (this build reads 1)"},
      {{Remove("/format_version")}, "bad.json: missing required field 'format_version'"},
      {{Remove("/name")}, "bad.json: missing required field 'name'"},
      {{Replace("/name", "")}, "bad.json: name: must not be empty"},
      {{Replace("/name", 3)}, "bad.json: name: must be a string"},
      {{Replace("/domain/dimensions", 3)},
       "bad.json: domain.dimensions: only 2D tasks are supported (got 3)"},
      {{Replace("/domain/max", {2, 0})},
       "bad.json: domain: max must be > min in both axes (got min [0, 0], max [2, 0])"},
      {{Replace("/domain/min", {0})}, "bad.json: domain.min: must be an array of 2 numbers"},
      {{Add("/domain/size", 1)}, "bad.json: domain: unknown field 'size'"},
      {{Replace("/domain", 1)}, "bad.json: domain: must be an object"},
      {{Replace("/gravity/1", "down")}, "bad.json: gravity: must be an array of 2 numbers"},
      {{Replace("/particle_spacing", 0)}, "bad.json: particle_spacing: must be > 0 (got 0)"},
      {{Replace("/particle_spacing", 0.2)},
       "bad.json: particle_spacing: must be <= 1/10 of the smaller domain extent, 0.1 (got 0.2)"},
      {{Replace("/particle_spacing", "0.01")}, "bad.json: particle_spacing: must be a number"},
      {{Replace("/particle_spacing", inf)},
       "bad.json: particle_spacing: must be a finite number (got inf)"},
      {{Replace("/seed", -1)}, "bad.json: seed: must be >= 0 (got -1)"},
      {{Replace("/seed", 1.5)}, "bad.json: seed: must be an integer"},
  });
}

TEST_CASE("malformed tasks: fluid and walls", "[task_io]") {
  CheckCases({
      {{Replace("/fluid/blocks/0/max", {0.4, 1.2})},
       "bad.json: fluid.blocks[0]: must lie inside the domain [0, 0] to [2, 1] "
       "(got [0.2, 0.5] to [0.4, 1.2])"},
      {{Replace("/fluid/blocks/0/max", {0.1, 0.9})},
       "bad.json: fluid.blocks[0]: max must be > min in both axes "
       "(got min [0.2, 0.5], max [0.1, 0.9])"},
      {{Add("/fluid/blocks/0/speed", 1)}, "bad.json: fluid.blocks[0]: unknown field 'speed'"},
      {{Replace("/fluid/blocks/0/max", {0.21, 0.9})},
       "bad.json: fluid.blocks[0]: holds no particles at particle_spacing 0.02 "
       "(width and height must be >= the spacing)"},
      {{Remove("/fluid/blocks"), Replace("/fluid/emitters", json::array())},
       "bad.json: fluid: needs at least one block or emitter"},
      {{Replace("/fluid/blocks", json::object())}, "bad.json: fluid.blocks: must be an array"},
      {{Replace("/fluid/emitters/0/position", {2.5, 0.5})},
       "bad.json: fluid.emitters[0].position: must lie inside the domain [0, 0] to [2, 1] "
       "(got [2.5, 0.5])"},
      {{Replace("/fluid/emitters/0/velocity", {0, 0})},
       "bad.json: fluid.emitters[0].velocity: must be non-zero"},
      {{Replace("/fluid/emitters/0/stop", 0.01)},
       "bad.json: fluid.emitters[0].stop: must be >= start 0.05 (got 0.01)"},
      {{Replace("/fluid/emitters/0/width", 0)},
       "bad.json: fluid.emitters[0].width: must be > 0 (got 0)"},
      {{Replace("/fluid/emitters/0/start", -1)},
       "bad.json: fluid.emitters[0].start: must be >= 0 (got -1)"},
      {{Remove("/fluid/emitters/0/stop")},
       "bad.json: fluid.emitters[0]: missing required field 'stop'"},
      {{Replace("/walls/0/points", json::array({{0, 0.1}}))},
       "bad.json: walls[0].points: must have at least 2 points (got 1)"},
      {{Replace("/walls/0/points/1", {2, "x"})},
       "bad.json: walls[0].points[1]: must be an array of 2 numbers"},
      {{Replace("/walls/0/thickness", -0.01)},
       "bad.json: walls[0].thickness: must be > 0 (got -0.01)"},
  });
}

TEST_CASE("malformed tasks: tools", "[task_io]") {
  const double inf = std::numeric_limits<double>::infinity();
  CheckCases({
      {{Replace("/tools/0/segments", 0)}, "bad.json: tools[0].segments: must be >= 1 (got 0)"},
      {{Replace("/tools/0/segments", 1001)},
       "bad.json: tools[0].segments: must be <= 1000 (got 1001)"},
      {{Replace("/tools/0/segments", 2.5)}, "bad.json: tools[0].segments: must be an integer"},
      {{Remove("/tools/0/segments")}, "bad.json: tools[0]: missing required field 'segments'"},
      {{Replace("/tools/0/type", "spring")},
       "bad.json: tools[0].type: unknown tool type 'spring' (expected one of: chain, ramp)"},
      {{Replace("/tools/0/segment_length", -0.1)},
       "bad.json: tools[0].segment_length: must be > 0 (got -0.1)"},
      {{Replace("/tools/0/thickness", 0)}, "bad.json: tools[0].thickness: must be > 0 (got 0)"},
      {{Replace("/tools/0/angle_min", {-90, -80})},
       "bad.json: tools[0].angle_min: must have 3 values, one per segment (got 2)"},
      {{Replace("/tools/0/angle_min/1", 95)},
       "bad.json: tools[0].angle_min[1]: must be <= angle_max (got 95 > 90)"},
      {{Replace("/tools/0/angle_max", "90")},
       "bad.json: tools[0].angle_max: must be a number or an array of 3 numbers (one per "
       "segment)"},
      {{Replace("/tools/0/initial_angles/2", 100)},
       "bad.json: tools[0].initial_angles[2]: must be within [-70, 90] (got 100)"},
      {{Replace("/tools/0/angle_min", 10), Remove("/tools/0/initial_angles")},
       "bad.json: tools[0]: initial_angles defaults to 0, outside [10, 90] for segment 0; give "
       "initial_angles"},
      {{Replace("/tools/0/anchor", {-0.1, 0.4})},
       "bad.json: tools[0].anchor: must lie inside the domain [0, 0] to [2, 1] (got [-0.1, 0.4])"},
      {{Replace("/tools/0/anchor/0", inf)},
       "bad.json: tools[0].anchor[0]: must be a finite number (got inf)"},
      {{Add("/tools/1/segments", 3)}, "bad.json: tools[1]: unknown field 'segments'"},
      {{Replace("/tools/1/center_max", {0.9, 0.3})},
       "bad.json: tools[1]: center_max must be >= center_min in both axes "
       "(got center_min [1, 0.3], center_max [0.9, 0.3])"},
      {{Replace("/tools/1/center_max", {2.5, 0.3})},
       "bad.json: tools[1].center_max: must lie inside the domain [0, 0] to [2, 1] "
       "(got [2.5, 0.3])"},
      {{Replace("/tools/1/angle_min", 50)},
       "bad.json: tools[1].angle_min: must be <= angle_max (got 50 > 45)"},
      {{Replace("/tools/1/initial_center", {1.2, 0.35})},
       "bad.json: tools[1].initial_center: must lie within center_min..center_max "
       "[1, 0.3] to [1.5, 0.3] (got [1.2, 0.35])"},
      {{Replace("/tools/1/initial_angle", 60)},
       "bad.json: tools[1].initial_angle: must be within [-45, 45] (got 60)"},
      {{Replace("/tools/1/name", "cup")}, "bad.json: tools[1].name: duplicate tool name 'cup'"},
  });
}

TEST_CASE("malformed tasks: regions, objective, horizon and optimizer", "[task_io]") {
  CheckCases({
      {{Replace("/regions/1/polygon", json::array({{0, 0}, {1, 1}}))},
       "bad.json: regions[1].polygon: must have at least 3 points (got 2)"},
      {{Replace("/regions/1/polygon", json::array({{0, 0}, {1, 1}, {2, 2}}))},
       "bad.json: regions[1].polygon: must enclose a non-zero area"},
      {{Replace("/regions/0/box/max", {1.9, 0.1})},
       "bad.json: regions[0].box: max must be > min in both axes "
       "(got min [1.6, 0.1], max [1.9, 0.1])"},
      {{Add("/regions/0/polygon", json::array({{0, 0}, {1, 0}, {0, 1}}))},
       "bad.json: regions[0]: needs exactly one of 'box' or 'polygon'"},
      {{Remove("/regions/1/polygon")},
       "bad.json: regions[1]: needs exactly one of 'box' or 'polygon'"},
      {{Replace("/regions/1/name", "goal")},
       "bad.json: regions[1].name: duplicate region name 'goal'"},
      {{Replace("/objective/0/region", "goal2")},
       "bad.json: objective[0].region: unknown region 'goal2' (regions: goal, pit)"},
      {{Add("/objective/3/region", "goal")},
       "bad.json: objective[3].region: not allowed for term 'smoothness'"},
      {{Remove("/objective/1/region")}, "bad.json: objective[1]: missing required field 'region'"},
      {{Replace("/objective", json::array())},
       "bad.json: objective: must have at least 1 term (got 0)"},
      {{Replace("/objective/0/weight", -1)},
       "bad.json: objective[0].weight: must be >= 0 (got -1)"},
      {{Replace("/objective/0/last_frames", 151)},
       "bad.json: objective[0].last_frames: must be <= 150 (got 151)"},
      {{Replace("/objective/0/last_frames", 0)},
       "bad.json: objective[0].last_frames: must be >= 1 (got 0)"},
      {{Replace("/objective/0/term", "maximize")},
       "bad.json: objective[0].term: unknown objective term 'maximize' (expected one of: "
       "fraction_inside, distance_to_region, keep_out, smoothness)"},
      {{Replace("/horizon/frames", 0)}, "bad.json: horizon.frames: must be >= 1 (got 0)"},
      {{Replace("/horizon/frames", 100001)},
       "bad.json: horizon.frames: must be <= 100000 (got 100001)"},
      {{Replace("/horizon/frame_dt", 0)}, "bad.json: horizon.frame_dt: must be > 0 (got 0)"},
      {{Replace("/horizon/frame_dt", 1.5)},
       "bad.json: horizon.frame_dt: must be <= 1 (got 1.5)"},
      {{Remove("/horizon")}, "bad.json: missing required field 'horizon'"},
      {{Replace("/optimizer/name", "sgd")},
       "bad.json: optimizer.name: unknown optimizer 'sgd' (expected one of: adam, lbfgs, cem, "
       "random)"},
      {{Replace("/optimizer/elite_fraction", 0)},
       "bad.json: optimizer.elite_fraction: must be > 0 (got 0)"},
      {{Replace("/optimizer/elite_fraction", 1.5)},
       "bad.json: optimizer.elite_fraction: must be <= 1 (got 1.5)"},
      {{Replace("/optimizer/population", 1)},
       "bad.json: optimizer.population: must be >= 2 (got 1)"},
      {{Replace("/optimizer/starts", 0)}, "bad.json: optimizer.starts: must be >= 1 (got 0)"},
      {{Replace("/optimizer/iterations", 0)},
       "bad.json: optimizer.iterations: must be >= 1 (got 0)"},
      {{Replace("/optimizer/learning_rate", 0)},
       "bad.json: optimizer.learning_rate: must be > 0 (got 0)"},
      {{Replace("/optimizer/learning_rate_decay", 0)},
       "bad.json: optimizer.learning_rate_decay: must be > 0 (got 0)"},
      {{Replace("/optimizer/learning_rate_decay", 1.5)},
       "bad.json: optimizer.learning_rate_decay: must be <= 1 (got 1.5)"},
      {{Replace("/optimizer/restart_patience", -1)},
       "bad.json: optimizer.restart_patience: must be >= 0 (got -1)"},
      {{Replace("/optimizer/max_step", -0.01)},
       "bad.json: optimizer.max_step: must be >= 0 (got -0.01)"},
      {{Replace("/optimizer/max_step_adapt", 0.5)},
       "bad.json: optimizer.max_step_adapt: must be >= 1 (got 0.5)"},
      {{Replace("/optimizer/max_step", 0)},
       "bad.json: optimizer.max_step_adapt: needs max_step > 0 (an adaptive limit starts from max_step)"},
      {{Replace("/optimizer/restart_draws", -2)},
       "bad.json: optimizer.restart_draws: must be >= 0 (got -2)"},
      {{Replace("/optimizer/restart_patience", 0)},
       "bad.json: optimizer.restart_draws: needs restart_patience > 0 (the draws are tried at a restart)"},
      {{Replace("/optimizer/backtrack", 1)},
       "bad.json: optimizer.backtrack: must be true or false"},
      {{Replace("/optimizer/restart_spread", 0)},
       "bad.json: optimizer.restart_spread: must be > 0 (got 0)"},
      {{Replace("/optimizer/restart_spread", 2)},
       "bad.json: optimizer.restart_spread: must be <= 1 (got 2)"},
      {{Replace("/optimizer/restart_patience", 2.5)},
       "bad.json: optimizer.restart_patience: must be an integer"},
      {{Add("/optimizer/momentum", 0.9)}, "bad.json: optimizer: unknown field 'momentum'"},
  });
}

TEST_CASE("files that cannot be read or are not JSON", "[task_io]") {
  const std::string dir = testing::OutputDir("task_io_bad_files");
  const std::string missing = dir + "/missing.json";
  CHECK(LoadError(missing) == missing + ": cannot open (No such file or directory)");

  const std::string truncated = dir + "/truncated.json";
  WriteText(truncated, "{\"format_version\": 1, \"name\": ");
  CHECK_THAT(LoadError(truncated),
             Catch::StartsWith(truncated + ": not valid JSON: parse error at line 1, column"));

  const std::string overflow = dir + "/overflow.json";
  WriteText(overflow, "{\"format_version\": 1, \"particle_spacing\": 1e999}");
  CHECK(LoadError(overflow) == overflow + ": not valid JSON: number overflow parsing '1e999'");

  const std::string wrong_field = dir + "/wrong_field.json";
  WriteText(wrong_field, BaseTask().patch(json::array({Replace("/tools/0/segments", 0)})).dump());
  CHECK(LoadError(wrong_field) == wrong_field + ": tools[0].segments: must be >= 1 (got 0)");
}

TEST_CASE("a task survives TaskToJson and a save/load round trip unchanged", "[task_io]") {
  const Task task = ParseTask(BaseTask(), "base.json");
  CheckSameTask(ParseTask(TaskToJson(task), "memory"), task);

  const json written = TaskToJson(task);
  CHECK(written.at("tools").at(0).at("angle_max") == json({90.0, 90.0, 90.0}));  // per segment

  const std::string path = testing::OutputDir("task_io_round_trip") + "/task.json";
  SaveTask(task, path);
  CheckSameTask(LoadTask(path), task);
  // Saving is deterministic: a second save writes the same bytes.
  const std::string again = path + ".again";
  SaveTask(LoadTask(path), again);
  std::ifstream first(path), second(again);
  const std::string first_text((std::istreambuf_iterator<char>(first)), {});
  const std::string second_text((std::istreambuf_iterator<char>(second)), {});
  CHECK(first_text == second_text);
  CHECK(first_text.rfind("{\n  \"format_version\": 1,\n  \"name\": \"base\"", 0) == 0);
}

TEST_CASE("saving an invalid task writes nothing", "[task_io]") {
  Task task = ParseTask(BaseTask(), "base.json");
  task.horizon.frames = 0;
  const std::string path = testing::OutputDir("task_io_invalid_save") + "/task.json";
  CHECK_THROWS_WITH(SaveTask(task, path), path + ": horizon.frames: must be >= 1 (got 0)");
  CHECK_FALSE(std::ifstream(path).good());
}

TEST_CASE("the built-in Contain task loads", "[task_io]") {
  const Task task = LoadTask(testing::SourcePath("tasks/contain.json"));
  CHECK(task.name == "contain");
  REQUIRE(task.tools.size() == 1);
  CHECK(task.tools[0].name == "cup");
  CHECK(task.tools[0].chain.segments == 8);
  CHECK(task.ParameterCount() == 8);
  REQUIRE(task.blocks.size() == 1);
  // Sizes in the published range of the 2D fluid tasks: 100-1000 particles, 50-300 frames.
  const int particles = CountBlockParticles(task.blocks[0], task.particle_spacing_m);
  CHECK(particles >= 100);
  CHECK(particles <= 1000);
  REQUIRE(task.FindRegion("cup") != nullptr);
  CHECK(task.horizon.frames >= 50);
  CHECK(task.horizon.frames <= 300);
  CHECK(task.optimizer.kind == OptimizerKind::kAdam);
}

std::string DesignError(const json& design, const Task& task) {
  try {
    ParseDesign(design, task, "d.json");
  } catch (const TaskError& e) {
    return e.what();
  }
  return "no error";
}

TEST_CASE("designs round-trip and are checked against the task", "[task_io]") {
  const Task task = ParseTask(BaseTask(), "base.json");
  const Design design{"base", {10, -20, 30, 1.2, 0.3, 5}};
  const std::string path = testing::OutputDir("task_io_design") + "/design.json";
  SaveDesign(task, design, path);
  const Design loaded = LoadDesign(path, task);
  CHECK(loaded.task_name == "base");
  CHECK(loaded.parameters == design.parameters);

  const json good = DesignToJson(task, design);
  CHECK(good.at("tools").at(1).at("name") == "ramp");
  auto with = [&](const std::vector<json>& ops) { return good.patch(json(ops)); };
  CHECK(DesignError(good, task) == "no error");
  CHECK(DesignError(with({Replace("/tools/0/parameters", {10, -20})}), task) ==
        "d.json: tools[0].parameters: must have 3 values for chain tool 'cup' (got 2)");
  CHECK(DesignError(with({Replace("/tools/0/parameters/2", 95)}), task) ==
        "d.json: tools[0].parameters[2]: must be within [-70, 90] (got 95)");
  CHECK(DesignError(with({Replace("/tools/1/parameters/0", 1.6)}), task) ==
        "d.json: tools[1].parameters[0]: must be within [1, 1.5] (got 1.6)");
  CHECK(DesignError(with({Replace("/tools/1/parameters/1",
                                  std::numeric_limits<double>::infinity())}),
                    task) == "d.json: tools[1].parameters[1]: must be a finite number (got inf)");
  CHECK(DesignError(with({Replace("/tools/1/name", "slide")}), task) ==
        "d.json: tools[1].name: unknown tool 'slide' (task 'base' has: cup, ramp)");
  CHECK(DesignError(with({Replace("/tools/0/name", "ramp")}), task) ==
        "d.json: tools[0].name: expected tool 'cup' here (tools are listed in task order), got "
        "'ramp'");
  CHECK(DesignError(with({Remove("/tools/1")}), task) == "d.json: tools: missing tool 'ramp'");
  CHECK(DesignError(with({Add("/tools/-", good.at("tools").at(0))}), task) ==
        "d.json: tools[2].name: tool 'cup' is listed more than once");
  CHECK(DesignError(with({Replace("/task", "other")}), task) ==
        "d.json: task: design is for task 'other', not 'base'");
  CHECK(DesignError(with({Replace("/format_version", 3)}), task) ==
        "d.json: format_version: unsupported format_version 3 (this build reads 1)");
  CHECK(DesignError(with({Add("/score", 1)}), task) == "d.json: unknown field 'score'");

  const std::string missing = testing::OutputDir("task_io_design_missing") + "/none.json";
  CHECK_THROWS_WITH(LoadDesign(missing, task),
                    missing + ": cannot open (No such file or directory)");
}

}  // namespace
}  // namespace flowdesign::tasks
