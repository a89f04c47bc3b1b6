// A data recipe: everything that determines a training data set of the learned simulator.
// The recipe and its seed fully determine the data (same recipe -> same bytes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "simulator/ground_truth_physics.h"
#include "tasks/geometry.h"
#include "tasks/task.h"

namespace flowdesign::simulator::data {

struct Range {
  double min = 0.0;
  double max = 0.0;
};

struct Recipe {
  uint64_t seed = 1;
  int train = 400;  // trajectories per split
  int valid = 16;
  int test = 16;
  tasks::Box domain{{0.0, 0.0}, {1.0, 1.0}};
  double gravity_y = -9.81;
  double particle_spacing_m = 0.01;
  double frame_dt_s = 0.005;
  int frames = 150;
  // The ground truth's physics (shear viscosity, solid boundary).
  GroundTruthPhysics physics;
  // Record MPM's whole particle state per frame (mpm_state.npy, 4.5x the positions' size), so
  // that training can restart the ground truth from states a learned rollout reached
  // (pushforward_restart_targets).
  bool record_mpm_state = false;
  Range blocks{1, 2};                 // number of water blocks (integer range)
  Range block_size_m{0.06, 0.22};     // width and height of each block
  Range block_speed_mps{0.0, 0.6};    // initial speed, random direction
  Range obstacles{1, 4};              // number of obstacles (integer range)
  double tool_thickness_m = 0.015;
  // Relative weights of the obstacle kinds.
  double chain_weight = 3.0;  // chains of segments with random joint angles
  double cup_weight = 2.0;    // chains with constant bending: cups, spoons, arcs
  double ramp_weight = 2.0;   // single straight segments
  double wall_weight = 1.0;   // thick vertical or horizontal walls
  int max_particles = 1200;   // blocks are shrunk to stay below this
  // Scenes of design tasks, so that the model learns the scenes an optimizer rolls out: with
  // probability task_scene_fraction a scene is one of these task files (drawn uniformly), its
  // tools at the task's design with each parameter moved uniformly by up to u x
  // task_scene_spread of its range, u uniform in [0, 1] per scene (from the task's own design to
  // far from it). The tasks must share the recipe's domain, spacing, frame step and gravity.
  std::vector<std::string> task_scene_files;
  double task_scene_fraction = 0.0;
  double task_scene_spread = 0.5;
  // Designs an optimizer produced, so that the model also learns the scenes where a design
  // search ends (a cup full of water), which random designs rarely are: each {task file, design
  // file} pair is one more choice among the task scenes, its tools at that design with each
  // parameter moved by up to u x task_scene_design_spread of its range.
  struct DesignScene {
    std::string task_file, design_file;
  };
  std::vector<DesignScene> task_scene_designs;
  double task_scene_design_spread = 0.1;
  // Loaded (not part of the JSON): one entry per task file, then one per design scene, each with
  // the design its random designs are drawn around and how far.
  std::vector<tasks::Task> task_scenes;
  std::vector<std::vector<double>> task_scene_centers;
  std::vector<double> task_scene_spreads;
};

nlohmann::json RecipeToJson(const Recipe& recipe);
// Validates; errors name the source and the field.
Recipe RecipeFromJson(const nlohmann::json& json, const std::string& source);
Recipe LoadRecipe(const std::string& path);

}  // namespace flowdesign::simulator::data
