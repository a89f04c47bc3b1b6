// Data recipes: JSON round trip, errors, and the scenes of design tasks they may mix in.
#include <random>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "simulator/data_generation/recipe.h"
#include "simulator/data_generation/scene_sampler.h"
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
