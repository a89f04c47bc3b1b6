// Small learned-simulator set-ups shared by tests: a tiny network and a small scene.
#pragma once

#include "simulator/learned/learned_simulator.h"
#include "simulator/scene.h"

namespace flowdesign::simulator::learned::testing {

inline ModelConfig TinyConfig() {
  ModelConfig config;
  config.latent_size = 16;
  config.mlp_hidden_size = 16;
  config.mlp_hidden_layers = 1;
  config.message_passing_steps = 2;
  config.history = 3;
  config.particle_spacing_m = 0.01;
  config.frame_dt_s = 0.005;
  return config;
}

// Statistics of the right magnitude for water at spacing 0.01 and frame dt 0.005.
inline Normalization TypicalNormalization() {
  Normalization n;
  n.velocity_mean = {0.0, -0.003};
  n.velocity_std = {0.003, 0.004};
  n.acceleration_mean = {0.0, -0.00025};
  n.acceleration_std = {0.0004, 0.0005};
  n.has_volume = true;  // read by models with a volume state only
  n.volume_mean = 0.9996;
  n.volume_std = 0.005;
  n.volume_change_mean = 0.0;
  n.volume_change_std = 0.0026;
  return n;
}

// Zeroes the network's decoder: it then predicts the normalized acceleration 0 everywhere (the
// mean acceleration), so particles move ballistically and scenes keep their graphs.
inline void ZeroDecoder(LearnedSimulator& simulator) {
  torch::NoGradGuard no_grad;
  for (const auto& item : simulator.Network()->named_parameters()) {
    if (item.key().rfind("decoder.", 0) == 0) item.value().zero_();
  }
}

// Adds a block of columns x rows fluid particles, 1 cm apart, the first at `corner`, all at
// `velocity`.
inline void AddFluidBlock(Scene& scene, Vec2 corner, int columns, int rows, Vec2 velocity) {
  for (int j = 0; j < rows; ++j) {
    for (int i = 0; i < columns; ++i) {
      scene.fluid_positions.push_back({corner.x + 0.01 * i, corner.y + 0.01 * j});
      scene.fluid_velocities.push_back(velocity);
    }
  }
}

// 36 fluid particles falling onto a tilted segment in a small box.
inline Scene SmallScene(int frames) {
  Scene scene;
  scene.domain = {{0.0, 0.0}, {0.3, 0.3}};
  scene.gravity = {0.0, -9.81};
  scene.particle_spacing_m = 0.01;
  scene.frame_dt_s = 0.005;
  scene.frames = frames;
  AddFluidBlock(scene, {0.12, 0.12}, 6, 6, {0.0, -0.5});
  scene.solids.push_back({{0.08, 0.10}, {0.22, 0.07}, 0.0075});
  return scene;
}

}  // namespace flowdesign::simulator::learned::testing
