// A small design task and a "ballistic" learned simulator for design tests: its decoder is zero,
// so every fluid particle falls with the data's mean acceleration (gravity) and is projected
// out of the tools. Deterministic, cheap and physically meaningful enough for a cup to hold
// water, without training anything.
#pragma once

#include <memory>

#include "simulator/learned/learned_simulator.h"
#include "tasks/task.h"
#include "tests/simulator/learned_test_support.h"

namespace flowdesign::design::testing {

inline tasks::Task SmallContainTask() {
  tasks::Task task;
  task.name = "small_contain";
  task.domain.min = {0.0, 0.0};
  task.domain.max = {0.6, 0.6};
  task.particle_spacing_m = 0.01;
  task.blocks.push_back({{{0.26, 0.40}, {0.34, 0.46}}, {0.0, 0.0}});  // 8 x 6 particles
  tasks::Tool cup;
  cup.name = "cup";
  cup.kind = tasks::ToolKind::kChain;
  cup.thickness_m = 0.015;
  cup.chain.anchor = {0.2, 0.3};
  cup.chain.segments = 4;
  cup.chain.segment_length_m = 0.05;
  cup.chain.angle_min_deg.assign(4, -80.0);
  cup.chain.angle_max_deg.assign(4, 80.0);
  cup.chain.initial_angle_deg = {30.0, 0.0, 0.0, 0.0};  // tilted: the water slides off
  task.tools.push_back(cup);
  tasks::Region goal;
  goal.name = "goal";
  goal.box = {{0.2, 0.22}, {0.4, 0.42}};
  task.regions.push_back(goal);
  tasks::ObjectiveTerm inside;
  inside.region = "goal";
  inside.last_frames = 2;
  task.objective.push_back(inside);
  tasks::ObjectiveTerm distance;  // continuous, so every design gets a useful gradient
  distance.kind = tasks::ObjectiveKind::kDistanceToRegion;
  distance.region = "goal";
  distance.weight = 10.0;
  distance.last_frames = 2;
  task.objective.push_back(distance);
  task.horizon.frames = 60;
  task.horizon.frame_dt_s = 0.005;
  task.optimizer.iterations = 6;
  task.optimizer.population = 6;
  return task;
}

inline std::unique_ptr<simulator::learned::LearnedSimulator> BallisticSimulator() {
  simulator::learned::ModelConfig config;
  config.latent_size = 8;
  config.mlp_hidden_size = 8;
  config.mlp_hidden_layers = 1;
  config.message_passing_steps = 1;
  config.history = 2;
  config.frame_dt_s = 0.005;
  simulator::learned::Normalization n;
  n.velocity_std = {0.005, 0.005};
  n.acceleration_mean = {0.0, -9.81 * 0.005 * 0.005};
  n.acceleration_std = {0.0005, 0.0005};
  auto simulator = std::make_unique<simulator::learned::LearnedSimulator>(config, n);
  simulator::learned::testing::ZeroDecoder(*simulator);
  return simulator;
}

}  // namespace flowdesign::design::testing
