// Configuration of the learned simulator: network size, graph and inputs. A bigger model is a
// config change. Every field has a default here and is documented in docs/learned-simulator.md.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "simulator/ground_truth_physics.h"

namespace flowdesign::simulator::learned {

struct ModelConfig {
  int latent_size = 64;              // width of node and edge latents
  int mlp_hidden_size = 64;          // width of every MLP hidden layer
  int mlp_hidden_layers = 2;         // hidden layers per MLP
  int message_passing_steps = 5;     // unshared interaction blocks
  int history = 5;                   // C: number of past velocities fed to the network
  // Each interaction block's node update also sees the mean latent of its graph's fluid (a
  // graph-level input, Battaglia et al. 2018), so a particle far from an impact learns of it in
  // the same step: MPM's pressure crosses a splash in a frame or two, message passing reaches only
  // blocks x R. Off: the GNS network of Sanchez-Gonzalez et al.
  bool global_latent = false;
  // Each fluid particle also carries MPM's volume ratio J (its pressure, K (J - 1)) as a state:
  // the network reads J and predicts its change per frame next to the acceleration. J hardly
  // shows in the positions (docs/learned-simulator.md, "What the ground truth hides"); training
  // needs data with the ground truth's state (a recipe's record_mpm_state).
  bool volume_state = false;
  double connectivity_radius_spacings = 2.5;  // R in particle spacings
  // Width (spacings) of a band inside R over which an edge's messages fade smoothly to zero, so
  // that a neighbour entering the radius changes nothing abruptly and the rollout is continuous
  // in the obstacle positions (design gradients then agree with finite differences). 0: off.
  double edge_fade_spacings = 0.0;
  // Rollout-time correction against clumping (density_projection.h): Jacobi iterations of a
  // one-sided density constraint after every step, with this kernel radius. 0 iterations: off.
  int density_projection_iterations = 0;
  double density_kernel_spacings = 2.0;
  // Physical setup the model is trained for; a task must match it.
  double particle_spacing_m = 0.01;
  double frame_dt_s = 0.005;
  double gravity_y = -9.81;
  // The training data's ground-truth physics (its recipe's). Designs made with the model are
  // checked in MPM with the same physics.
  GroundTruthPhysics physics;
};

// Throws std::invalid_argument naming the field, the value and the rule.
void ValidateModelConfig(const ModelConfig& config);
nlohmann::json ModelConfigToJson(const ModelConfig& config);
// Unknown fields are rejected; missing fields keep their defaults.
ModelConfig ModelConfigFromJson(const nlohmann::json& json, const std::string& source);

// Node input width: 2 * history velocities + 4 wall distances + 2 type one-hots (+ J with a
// volume state).
int NodeInputSize(const ModelConfig& config);
// Network output width per node: the normalized acceleration (+ the normalized change of J).
int NodeOutputSize(const ModelConfig& config);
inline constexpr int kEdgeInputSize = 3;  // displacement / R and its norm

}  // namespace flowdesign::simulator::learned
