#include "simulator/data_generation/recipe.h"

#include <cmath>
#include <stdexcept>

#include "tasks/file_util.h"
#include "tasks/task_io.h"
#include "tasks/tool_geometry.h"

namespace flowdesign::simulator::data {
namespace {

nlohmann::json RangeJson(Range r) { return nlohmann::json::array({r.min, r.max}); }

nlohmann::json DesignScenesJson(const std::vector<Recipe::DesignScene>& scenes) {
  nlohmann::json list = nlohmann::json::array();
  for (const Recipe::DesignScene& s : scenes) list.push_back({{"task", s.task_file}, {"design", s.design_file}});
  return list;
}

}  // namespace

nlohmann::json RecipeToJson(const Recipe& r) {
  return {{"format_version", 1},
          {"seed", r.seed},
          {"trajectories", {{"train", r.train}, {"valid", r.valid}, {"test", r.test}}},
          {"domain", {{"min", {r.domain.min.x, r.domain.min.y}}, {"max", {r.domain.max.x, r.domain.max.y}}}},
          {"gravity_y", r.gravity_y},
          {"particle_spacing", r.particle_spacing_m},
          {"frame_dt", r.frame_dt_s},
          {"frames", r.frames},
          {"shear_viscosity", r.physics.shear_viscosity_m2ps},
          {"soft_solid_boundary", r.physics.soft_solid_boundary},
          {"record_mpm_state", r.record_mpm_state},
          {"blocks", RangeJson(r.blocks)},
          {"block_size", RangeJson(r.block_size_m)},
          {"block_speed", RangeJson(r.block_speed_mps)},
          {"obstacles", RangeJson(r.obstacles)},
          {"tool_thickness", r.tool_thickness_m},
          {"obstacle_weights", {{"chain", r.chain_weight}, {"cup", r.cup_weight}, {"ramp", r.ramp_weight}, {"wall", r.wall_weight}}},
          {"max_particles", r.max_particles},
          {"task_scenes", {{"files", r.task_scene_files}, {"fraction", r.task_scene_fraction},
                           {"spread", r.task_scene_spread}, {"designs", DesignScenesJson(r.task_scene_designs)},
                           {"design_spread", r.task_scene_design_spread}}}};
}

Recipe RecipeFromJson(const nlohmann::json& json, const std::string& source) {
  const nlohmann::json defaults = RecipeToJson(Recipe{});
  auto fail = [&](const std::string& path, const std::string& reason) {
    return std::invalid_argument(source + ": " + path + ": " + reason);
  };
  if (!json.is_object()) throw std::invalid_argument(source + ": a recipe must be a JSON object");
  for (const auto& [key, value] : json.items()) {
    if (!defaults.contains(key)) throw fail(key, "unknown field");
    if (value.type() != defaults.at(key).type() &&
        !(value.is_number() && defaults.at(key).is_number())) {
      throw fail(key, "has the wrong type (expected like " + defaults.at(key).dump() + ")");
    }
    if (value.is_object()) {
      for (const auto& [sub, unused] : value.items()) {
        if (!defaults.at(key).contains(sub)) throw fail(key + "." + sub, "unknown field");
      }
    }
  }
  nlohmann::json merged = defaults;
  merged.merge_patch(json);
  if (merged.at("format_version") != 1) throw fail("format_version", "must be 1");
  Recipe r;
  try {
    r.seed = merged.at("seed").get<uint64_t>();
    r.train = merged.at("trajectories").at("train").get<int>();
    r.valid = merged.at("trajectories").at("valid").get<int>();
    r.test = merged.at("trajectories").at("test").get<int>();
    r.domain = {{merged["domain"]["min"][0].get<double>(), merged["domain"]["min"][1].get<double>()},
                {merged["domain"]["max"][0].get<double>(), merged["domain"]["max"][1].get<double>()}};
    r.gravity_y = merged.at("gravity_y").get<double>();
    r.particle_spacing_m = merged.at("particle_spacing").get<double>();
    r.frame_dt_s = merged.at("frame_dt").get<double>();
    r.frames = merged.at("frames").get<int>();
    r.physics.shear_viscosity_m2ps = merged.at("shear_viscosity").get<double>();
    r.physics.soft_solid_boundary = merged.at("soft_solid_boundary").get<bool>();
    r.record_mpm_state = merged.at("record_mpm_state").get<bool>();
    auto range = [&](const char* key) {
      const auto& v = merged.at(key);
      if (!v.is_array() || v.size() != 2) throw fail(key, "must be [min, max]");
      Range out{v[0].get<double>(), v[1].get<double>()};
      if (!(out.min <= out.max)) throw fail(key, "min must be <= max");
      return out;
    };
    r.blocks = range("blocks");
    r.block_size_m = range("block_size");
    r.block_speed_mps = range("block_speed");
    r.obstacles = range("obstacles");
    r.tool_thickness_m = merged.at("tool_thickness").get<double>();
    r.chain_weight = merged["obstacle_weights"]["chain"].get<double>();
    r.cup_weight = merged["obstacle_weights"]["cup"].get<double>();
    r.ramp_weight = merged["obstacle_weights"]["ramp"].get<double>();
    r.wall_weight = merged["obstacle_weights"]["wall"].get<double>();
    r.max_particles = merged.at("max_particles").get<int>();
    r.task_scene_files = merged["task_scenes"]["files"].get<std::vector<std::string>>();
    r.task_scene_fraction = merged["task_scenes"]["fraction"].get<double>();
    r.task_scene_spread = merged["task_scenes"]["spread"].get<double>();
    r.task_scene_design_spread = merged["task_scenes"]["design_spread"].get<double>();
    const nlohmann::json& designs = merged["task_scenes"]["designs"];
    for (size_t i = 0; i < designs.size(); ++i) {
      const nlohmann::json& d = designs[i];
      if (!d.is_object() || d.size() != 2 || !d.contains("task") || !d.contains("design") ||
          !d["task"].is_string() || !d["design"].is_string()) {
        throw fail("task_scenes.designs[" + std::to_string(i) + "]",
                   "must be {\"task\": TASK_FILE, \"design\": DESIGN_FILE}");
      }
      r.task_scene_designs.push_back({d["task"].get<std::string>(), d["design"].get<std::string>()});
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(source + ": " + e.what());
  }
  if (r.train < 1 || r.valid < 1 || r.test < 1) throw fail("trajectories", "every split needs >= 1 trajectory");
  if (!(r.domain.max.x > r.domain.min.x && r.domain.max.y > r.domain.min.y)) throw fail("domain", "max must exceed min");
  if (!(r.particle_spacing_m > 0.0)) throw fail("particle_spacing", "must be > 0");
  if (!(r.frame_dt_s > 0.0)) throw fail("frame_dt", "must be > 0");
  if (r.frames < 10) throw fail("frames", "must be >= 10");
  if (!(r.physics.shear_viscosity_m2ps >= 0.0 && std::isfinite(r.physics.shear_viscosity_m2ps))) {
    throw fail("shear_viscosity", "must be finite and >= 0 (m^2/s)");
  }
  if (r.blocks.min < 1) throw fail("blocks", "need at least 1 block");
  if (r.block_size_m.min < 2 * r.particle_spacing_m) throw fail("block_size", "blocks must be >= 2 spacings wide");
  if (r.obstacles.min < 0) throw fail("obstacles", "must be >= 0");
  if (!(r.tool_thickness_m > 0.0)) throw fail("tool_thickness", "must be > 0");
  if (r.chain_weight < 0 || r.cup_weight < 0 || r.ramp_weight < 0 || r.wall_weight < 0 ||
      r.chain_weight + r.cup_weight + r.ramp_weight + r.wall_weight <= 0) {
    throw fail("obstacle_weights", "must be >= 0 with a positive sum");
  }
  if (r.max_particles < 10) throw fail("max_particles", "must be >= 10");
  if (!(r.task_scene_fraction >= 0.0 && r.task_scene_fraction <= 1.0)) {
    throw fail("task_scenes.fraction", "must be in [0, 1]");
  }
  if (!(r.task_scene_spread >= 0.0 && r.task_scene_spread <= 1.0)) throw fail("task_scenes.spread", "must be in [0, 1]");
  if (!(r.task_scene_design_spread >= 0.0 && r.task_scene_design_spread <= 1.0)) {
    throw fail("task_scenes.design_spread", "must be in [0, 1]");
  }
  if (r.task_scene_fraction > 0.0 && r.task_scene_files.empty() && r.task_scene_designs.empty()) {
    throw fail("task_scenes.files", "a fraction > 0 needs at least one task file");
  }
  // Loads a task scene's task, which must be simulated like the recipe's own scenes.
  const auto load_task = [&](const std::string& file, const std::string& field) {
    tasks::Task task;
    try {
      task = tasks::LoadTask(file);
    } catch (const std::exception& e) {
      throw fail(field, e.what());
    }
    const auto differs = [](double a, double b) { return std::abs(a - b) > 1e-9 * std::max(1.0, std::abs(b)); };
    if (differs(task.particle_spacing_m, r.particle_spacing_m) || differs(task.horizon.frame_dt_s, r.frame_dt_s) ||
        differs(task.gravity.y, r.gravity_y) || task.gravity.x != 0.0 || differs(task.domain.min.x, r.domain.min.x) ||
        differs(task.domain.min.y, r.domain.min.y) || differs(task.domain.max.x, r.domain.max.x) ||
        differs(task.domain.max.y, r.domain.max.y)) {
      throw fail(field, file + ": its domain, particle spacing, frame dt or gravity differ from the recipe's");
    }
    return task;
  };
  for (const std::string& file : r.task_scene_files) {
    r.task_scenes.push_back(load_task(file, "task_scenes.files"));
    r.task_scene_centers.push_back(tasks::InitialParameters(r.task_scenes.back()));
    r.task_scene_spreads.push_back(r.task_scene_spread);
  }
  for (size_t i = 0; i < r.task_scene_designs.size(); ++i) {
    const std::string field = "task_scenes.designs[" + std::to_string(i) + "]";
    r.task_scenes.push_back(load_task(r.task_scene_designs[i].task_file, field));
    try {
      r.task_scene_centers.push_back(tasks::LoadDesign(r.task_scene_designs[i].design_file, r.task_scenes.back()).parameters);
    } catch (const std::exception& e) {
      throw fail(field, e.what());
    }
    r.task_scene_spreads.push_back(r.task_scene_design_spread);
  }
  return r;
}

Recipe LoadRecipe(const std::string& path) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(tasks::ReadFile(path));
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(path + ": not valid JSON: " + e.what());
  }
  return RecipeFromJson(json, path);
}

}  // namespace flowdesign::simulator::data
