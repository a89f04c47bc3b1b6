// Data recipes: JSON round trip, errors, and the scenes of design tasks they may mix in.
#include <algorithm>
#include <random>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "simulator/data_generation/generate.h"
#include "simulator/data_generation/recipe.h"
#include "simulator/data_layout.h"
#include "simulator/trajectory.h"
#include "simulator/data_generation/scene_sampler.h"
#include "tasks/file_util.h"
#include "tasks/task_io.h"
#include "tasks/tool_geometry.h"
#include "tests/test_support.h"

namespace flowdesign::simulator::data {
namespace {

using Catch::Matchers::Contains;
using nlohmann::json;

json TaskSceneRecipe(double fraction, double spread) {
  return {{"seed", 3},
          {"frames", 40},
          {"task_scenes",
           {{"files", {testing::SourcePath("tasks/contain.json")}}, {"fraction", fraction}, {"spread", spread}}}};
}

// Whether a scene is the contain task's: one 8-segment chain anchored at (0.35, 0.45) (its block
// may lose the particles a bent chain cuts through).
bool IsContainScene(const Scene& scene) {
  return scene.solids.size() == 8 && scene.solids[0].a.x == 0.35 && scene.solids[0].a.y == 0.45;
}

TEST_CASE("a recipe with task scenes round-trips through JSON and loads its tasks", "[data]") {
  const Recipe recipe = RecipeFromJson(TaskSceneRecipe(0.25, 0.4), "r.json");
  REQUIRE(recipe.task_scenes.size() == 1);
  CHECK(recipe.task_scenes[0].name == "contain");
  const Recipe again = RecipeFromJson(RecipeToJson(recipe), "again.json");
  CHECK(again.task_scene_files == recipe.task_scene_files);
  CHECK(again.task_scene_fraction == 0.25);
  CHECK(again.task_scene_spread == 0.4);
  CHECK(RecipeFromJson(json::object(), "empty.json").task_scenes.empty());
}

TEST_CASE("bad task scenes are errors naming the recipe and the field", "[data]") {
  const auto error = [](const json& patch) {
    json recipe = TaskSceneRecipe(0.5, 0.5);
    recipe.merge_patch(patch);
    try {
      RecipeFromJson(recipe, "r.json");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error({{"task_scenes", {{"fraction", 1.5}}}}) == "r.json: task_scenes.fraction: must be in [0, 1]");
  CHECK(error({{"task_scenes", {{"spread", -0.1}}}}) == "r.json: task_scenes.spread: must be in [0, 1]");
  CHECK(error({{"task_scenes", {{"files", json::array()}}}}) ==
        "r.json: task_scenes.files: a fraction > 0 needs at least one task file");
  CHECK_THAT(error({{"task_scenes", {{"files", {"no/such/task.json"}}}}}),
             Contains("r.json: task_scenes.files:") && Contains("no/such/task.json"));
  CHECK_THAT(error({{"particle_spacing", 0.02}}),
             Contains("its domain, particle spacing, frame dt or gravity differ from the recipe's"));
  CHECK(error({{"task_scenes", {{"depth", 1}}}}) == "r.json: task_scenes.depth: unknown field");
}

TEST_CASE("a recipe's ground-truth physics round-trips, is validated and reaches the ground truth", "[data]") {
  const Recipe viscous = RecipeFromJson({{"shear_viscosity", 0.005}, {"soft_solid_boundary", true}}, "r.json");
  CHECK(viscous.physics.shear_viscosity_m2ps == 0.005);
  CHECK(viscous.physics.soft_solid_boundary);
  const Recipe again = RecipeFromJson(RecipeToJson(viscous), "again.json");
  CHECK(again.physics.shear_viscosity_m2ps == 0.005);
  CHECK(again.physics.soft_solid_boundary);
  CHECK(RecipeFromJson(json::object(), "empty.json").physics.shear_viscosity_m2ps == 0.0);
  CHECK(!RecipeFromJson(json::object(), "empty.json").physics.soft_solid_boundary);
  REQUIRE_THROWS_WITH(RecipeFromJson({{"shear_viscosity", -1e-3}}, "r.json"),
                      "r.json: shear_viscosity: must be finite and >= 0 (m^2/s)");
  REQUIRE_THROWS_WITH(RecipeFromJson({{"soft_solid_boundary", 1}}, "r.json"),
                      Contains("r.json: soft_solid_boundary: has the wrong type"));

  // The same scenes with other physics: the first frames agree, later ones do not.
  Recipe recipe;
  recipe.train = recipe.valid = recipe.test = 1;
  recipe.frames = 80;  // long enough to land: a block in free fall has no strain to damp
  recipe.max_particles = 200;
  const std::string dir = testing::OutputDir("recipe_physics");
  GenerateData(recipe, dir + "/water", {});
  for (const GroundTruthPhysics physics : {GroundTruthPhysics{0.05, false}, GroundTruthPhysics{0.0, true}}) {
    recipe.physics = physics;
    const std::string other = dir + (physics.soft_solid_boundary ? "/soft" : "/viscous");
    GenerateData(recipe, other, {});
    double largest_difference = 0.0;
    for (const std::string& split : kDataSplits) {  // the solid boundary shows only where water meets a solid
      const Trajectory a = LoadTrajectory(TrajectoryDirectory(dir + "/water", split, 0));
      const Trajectory b = LoadTrajectory(TrajectoryDirectory(other, split, 0));
      REQUIRE(a.particle_count == b.particle_count);
      CHECK(b.mpm_physics.shear_viscosity_m2ps == physics.shear_viscosity_m2ps);  // recorded with the data
      CHECK(b.mpm_physics.soft_solid_boundary == physics.soft_solid_boundary);
      CHECK(Norm(a.Position(0, 0) - b.Position(0, 0)) == 0.0);
      for (int p = 0; p < a.particle_count; ++p) {
        largest_difference = std::max(largest_difference, Norm(a.Position(recipe.frames, p) - b.Position(recipe.frames, p)));
      }
    }
    INFO(other);
    CHECK(largest_difference > 1e-4);
  }
  // Older data folders lack the fields; regenerating into one (with the defaults) still matches.
  nlohmann::json stored = nlohmann::json::parse(tasks::ReadFile(dir + "/water/recipe.json"));
  stored.erase("shear_viscosity");
  stored.erase("soft_solid_boundary");
  tasks::WriteFileAtomically(dir + "/water/recipe.json", stored.dump(2));
  recipe.physics = {};
  CHECK_NOTHROW(GenerateData(recipe, dir + "/water", {}));
  recipe.physics.shear_viscosity_m2ps = 0.01;
  CHECK_THROWS_WITH(GenerateData(recipe, dir + "/water", {}), Contains("holds data from a different recipe"));
  recipe.physics = {0.0, true};
  CHECK_THROWS_WITH(GenerateData(recipe, dir + "/water", {}), Contains("holds data from a different recipe"));
}

TEST_CASE("task scenes are the task's scene with a random design, as often as the recipe says", "[data]") {
  const Recipe recipe = RecipeFromJson(TaskSceneRecipe(0.5, 0.5), "r.json");
  const tasks::Task& task = recipe.task_scenes[0];
  std::mt19937_64 rng(11);
  int task_scenes = 0, differ_from_neutral = 0;
  const Scene neutral = BuildScene(task, tasks::InitialParameters(task));
  for (int k = 0; k < 200; ++k) {
    const Scene scene = SampleScene(recipe, rng);
    if (!IsContainScene(scene)) continue;
    ++task_scenes;
    CHECK(scene.frames == 40);  // the recipe's length, not the task's horizon
    CHECK(scene.fluid_positions.size() <= neutral.fluid_positions.size());
    if (scene.solids.back().b.x != neutral.solids.back().b.x) ++differ_from_neutral;
  }
  CHECK(task_scenes > 70);
  CHECK(task_scenes < 130);
  CHECK(differ_from_neutral == task_scenes);

  // With spread 0 a task scene is the task's own design.
  const Recipe fixed = RecipeFromJson(TaskSceneRecipe(1.0, 0.0), "r.json");
  const Scene scene = SampleScene(fixed, rng);
  REQUIRE(scene.solids.size() == neutral.solids.size());
  for (size_t i = 0; i < scene.solids.size(); ++i) {
    CHECK(scene.solids[i].a.x == neutral.solids[i].a.x);
    CHECK(scene.solids[i].b.y == neutral.solids[i].b.y);
  }
}

// A recipe whose only task scenes are one saved design of the contain task: its chain bent into
// a cup (first joint -40 degrees, the others +12).
// `test` names the calling test's own folder for the design file: ctest runs test cases in
// parallel processes, and OutputDir empties a folder that another may be reading.
json DesignSceneRecipe(double design_spread, const std::string& test) {
  const std::string task_file = testing::SourcePath("tasks/contain.json");
  const tasks::Task task = tasks::LoadTask(task_file);
  std::vector<double> cup(task.tools[0].ParameterCount(), 12.0);
  cup[0] = -40.0;
  const std::string design_file = testing::OutputDir("recipe_design_scenes_" + test) + "/cup.json";
  tasks::SaveDesign(task, {task.name, cup}, design_file);
  return {{"seed", 3},
          {"frames", 40},
          {"task_scenes",
           {{"fraction", 1.0},
            {"designs", {{{"task", task_file}, {"design", design_file}}}},
            {"design_spread", design_spread}}}};
}

TEST_CASE("design scenes are drawn around the saved design, as far as design_spread says", "[data]") {
  const Recipe recipe = RecipeFromJson(DesignSceneRecipe(0.0, "drawn"), "r.json");
  REQUIRE(recipe.task_scenes.size() == 1);
  REQUIRE(recipe.task_scene_centers[0].size() == 8);
  CHECK(recipe.task_scene_centers[0][0] == -40.0);
  CHECK(recipe.task_scene_centers[0][7] == 12.0);
  const Recipe again = RecipeFromJson(RecipeToJson(recipe), "again.json");
  REQUIRE(again.task_scene_designs.size() == 1);
  CHECK(again.task_scene_designs[0].design_file == recipe.task_scene_designs[0].design_file);
  CHECK(again.task_scene_centers == recipe.task_scene_centers);

  // Spread 0: every scene is the saved design exactly; spread 0.2: near it, never the neutral chain.
  const tasks::Task& task = recipe.task_scenes[0];
  const Scene cup = BuildScene(task, recipe.task_scene_centers[0]);
  const Scene neutral = BuildScene(task, tasks::InitialParameters(task));
  std::mt19937_64 rng(4);
  for (int k = 0; k < 3; ++k) {
    const Scene scene = SampleScene(recipe, rng);
    REQUIRE(scene.solids.size() == cup.solids.size());
    CHECK(scene.solids.back().b.x == cup.solids.back().b.x);
    CHECK(scene.solids.back().b.y == cup.solids.back().b.y);
  }
  const Recipe near = RecipeFromJson(DesignSceneRecipe(0.2, "drawn"), "r.json");
  for (int k = 0; k < 10; ++k) {
    const Scene scene = SampleScene(near, rng);
    REQUIRE(scene.solids.size() == cup.solids.size());
    // Each joint moves at most 0.2 x 120 degrees; the tip stays far from the straight chain's.
    const double tip_moved = std::hypot(scene.solids.back().b.x - cup.solids.back().b.x,
                                        scene.solids.back().b.y - cup.solids.back().b.y);
    CHECK(tip_moved > 0.0);
    CHECK(std::abs(scene.solids.back().b.x - neutral.solids.back().b.x) > 0.05);
  }
}

TEST_CASE("bad design scenes are errors naming the recipe and the entry", "[data]") {
  const auto error = [](json recipe) {
    try {
      RecipeFromJson(recipe, "r.json");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  json recipe = DesignSceneRecipe(0.1, "bad");
  recipe["task_scenes"]["design_spread"] = 1.5;
  CHECK(error(recipe) == "r.json: task_scenes.design_spread: must be in [0, 1]");
  recipe = DesignSceneRecipe(0.1, "bad");
  recipe["task_scenes"]["designs"][0].erase("design");
  CHECK(error(recipe) == "r.json: task_scenes.designs[0]: must be {\"task\": TASK_FILE, \"design\": DESIGN_FILE}");
  recipe = DesignSceneRecipe(0.1, "bad");
  recipe["task_scenes"]["designs"][0]["design"] = "no/such/design.json";
  CHECK_THAT(error(recipe), Contains("r.json: task_scenes.designs[0]:") && Contains("no/such/design.json"));
  // A design of another task (a 16-joint chain) does not fit the 8-joint contain task.
  const tasks::Task other = tasks::LoadTask(testing::SourcePath("tasks/contain_16.json"));
  const std::string other_file = testing::OutputDir("recipe_design_scenes_other") + "/other.json";
  tasks::SaveDesign(other, {other.name, tasks::InitialParameters(other)}, other_file);
  recipe = DesignSceneRecipe(0.1, "bad");
  recipe["task_scenes"]["designs"][0]["design"] = other_file;
  CHECK_THAT(error(recipe), Contains("r.json: task_scenes.designs[0]:") && Contains("other.json"));
}

TEST_CASE("a recipe without task scenes draws the same scenes whatever task files it lists", "[data]") {
  json with_files = TaskSceneRecipe(0.0, 0.5);
  json without = with_files;
  without.erase("task_scenes");
  std::mt19937_64 a(5), b(5);
  for (int k = 0; k < 5; ++k) {
    const Scene one = SampleScene(RecipeFromJson(with_files, "a.json"), a);
    const Scene two = SampleScene(RecipeFromJson(without, "b.json"), b);
    REQUIRE(one.fluid_positions.size() == two.fluid_positions.size());
    REQUIRE(one.solids.size() == two.solids.size());
    CHECK(one.fluid_positions.back().y == two.fluid_positions.back().y);
  }
  CHECK(a() == b());
}

}  // namespace
}  // namespace flowdesign::simulator::data
