#include "simulator/learned/model_config.h"

#include <cmath>
#include <stdexcept>

#include "simulator/learned/json_fields.h"

namespace flowdesign::simulator::learned {
namespace {

template <typename T>
void Require(bool ok, const char* field, T value, const char* rule) {
  if (!ok) {
    throw std::invalid_argument(std::string("model config: ") + field + ": " + rule + " (got " +
                                std::to_string(value) + ")");
  }
}

}  // namespace

void ValidateModelConfig(const ModelConfig& c) {
  Require(c.latent_size >= 1 && c.latent_size <= 4096, "latent_size", c.latent_size, "must be in [1, 4096]");
  Require(c.mlp_hidden_size >= 1 && c.mlp_hidden_size <= 4096, "mlp_hidden_size", c.mlp_hidden_size, "must be in [1, 4096]");
  Require(c.mlp_hidden_layers >= 0 && c.mlp_hidden_layers <= 8, "mlp_hidden_layers", c.mlp_hidden_layers, "must be in [0, 8]");
  Require(c.message_passing_steps >= 0 && c.message_passing_steps <= 32, "message_passing_steps", c.message_passing_steps, "must be in [0, 32]");
  Require(c.history >= 1 && c.history <= 16, "history", c.history, "must be in [1, 16]");
  Require(c.connectivity_radius_spacings > 0.5 && c.connectivity_radius_spacings <= 10, "connectivity_radius_spacings", c.connectivity_radius_spacings, "must be in (0.5, 10]");
  Require(c.edge_fade_spacings >= 0 && c.edge_fade_spacings < c.connectivity_radius_spacings, "edge_fade_spacings",
          c.edge_fade_spacings, "must be in [0, connectivity_radius_spacings)");
  Require(c.density_projection_iterations >= 0 && c.density_projection_iterations <= 20, "density_projection_iterations",
          c.density_projection_iterations, "must be in [0, 20]");
  Require(c.density_kernel_spacings >= 1.0 && c.density_kernel_spacings <= 4.0, "density_kernel_spacings",
          c.density_kernel_spacings, "must be in [1, 4]");
  Require(c.particle_spacing_m > 0, "particle_spacing_m", c.particle_spacing_m, "must be > 0");
  Require(c.frame_dt_s > 0, "frame_dt_s", c.frame_dt_s, "must be > 0");
  Require(c.physics.shear_viscosity_m2ps >= 0 && std::isfinite(c.physics.shear_viscosity_m2ps), "shear_viscosity_m2ps",
          c.physics.shear_viscosity_m2ps, "must be finite and >= 0");
}

nlohmann::json ModelConfigToJson(const ModelConfig& c) {
  return {{"latent_size", c.latent_size},
          {"mlp_hidden_size", c.mlp_hidden_size},
          {"mlp_hidden_layers", c.mlp_hidden_layers},
          {"message_passing_steps", c.message_passing_steps},
          {"history", c.history},
          {"global_latent", c.global_latent},
          {"volume_state", c.volume_state},
          {"connectivity_radius_spacings", c.connectivity_radius_spacings},
          {"edge_fade_spacings", c.edge_fade_spacings},
          {"density_projection_iterations", c.density_projection_iterations},
          {"density_kernel_spacings", c.density_kernel_spacings},
          {"particle_spacing_m", c.particle_spacing_m},
          {"frame_dt_s", c.frame_dt_s},
          {"gravity_y", c.gravity_y},
          {"shear_viscosity_m2ps", c.physics.shear_viscosity_m2ps},
          {"soft_solid_boundary", c.physics.soft_solid_boundary}};
}

ModelConfig ModelConfigFromJson(const nlohmann::json& json, const std::string& source) {
  const nlohmann::json merged = MergeWithDefaults(json, ModelConfigToJson(ModelConfig{}), source);
  ModelConfig c;
  c.latent_size = merged.at("latent_size").get<int>();
  c.mlp_hidden_size = merged.at("mlp_hidden_size").get<int>();
  c.mlp_hidden_layers = merged.at("mlp_hidden_layers").get<int>();
  c.message_passing_steps = merged.at("message_passing_steps").get<int>();
  c.history = merged.at("history").get<int>();
  c.global_latent = merged.at("global_latent").get<bool>();
  c.volume_state = merged.at("volume_state").get<bool>();
  c.connectivity_radius_spacings = merged.at("connectivity_radius_spacings").get<double>();
  c.edge_fade_spacings = merged.at("edge_fade_spacings").get<double>();
  c.density_projection_iterations = merged.at("density_projection_iterations").get<int>();
  c.density_kernel_spacings = merged.at("density_kernel_spacings").get<double>();
  c.particle_spacing_m = merged.at("particle_spacing_m").get<double>();
  c.frame_dt_s = merged.at("frame_dt_s").get<double>();
  c.gravity_y = merged.at("gravity_y").get<double>();
  c.physics.shear_viscosity_m2ps = merged.at("shear_viscosity_m2ps").get<double>();
  c.physics.soft_solid_boundary = merged.at("soft_solid_boundary").get<bool>();
  try {
    ValidateModelConfig(c);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(source + ": " + e.what());
  }
  return c;
}

int NodeInputSize(const ModelConfig& config) { return 2 * config.history + 4 + 2 + (config.volume_state ? 1 : 0); }

int NodeOutputSize(const ModelConfig& config) { return config.volume_state ? 3 : 2; }

}  // namespace flowdesign::simulator::learned
