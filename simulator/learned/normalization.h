// Normalization statistics of the training data, in metres per frame (velocity) and metres per
// frame^2 (acceleration): dt is folded to 1 as in GNS. Data with the ground truth's state, and
// models with a volume state, also have the statistics of J and of its change per frame.
#pragma once

#include <array>

#include <nlohmann/json.hpp>

namespace flowdesign::simulator::learned {

struct Normalization {
  std::array<double, 2> velocity_mean{0.0, 0.0};
  std::array<double, 2> velocity_std{1.0, 1.0};
  std::array<double, 2> acceleration_mean{0.0, 0.0};
  std::array<double, 2> acceleration_std{1.0, 1.0};
  bool has_volume = false;
  double volume_mean = 0.0, volume_std = 1.0;                // J of fluid particles
  double volume_change_mean = 0.0, volume_change_std = 1.0;  // J's change per frame
};

inline nlohmann::json NormalizationToJson(const Normalization& n) {
  nlohmann::json j{{"velocity_mean", n.velocity_mean},
                   {"velocity_std", n.velocity_std},
                   {"acceleration_mean", n.acceleration_mean},
                   {"acceleration_std", n.acceleration_std}};
  if (n.has_volume) {
    j["volume_mean"] = n.volume_mean;
    j["volume_std"] = n.volume_std;
    j["volume_change_mean"] = n.volume_change_mean;
    j["volume_change_std"] = n.volume_change_std;
  }
  return j;
}

inline Normalization NormalizationFromJson(const nlohmann::json& j) {
  Normalization n;
  n.velocity_mean = j.at("velocity_mean").get<std::array<double, 2>>();
  n.velocity_std = j.at("velocity_std").get<std::array<double, 2>>();
  n.acceleration_mean = j.at("acceleration_mean").get<std::array<double, 2>>();
  n.acceleration_std = j.at("acceleration_std").get<std::array<double, 2>>();
  if (j.contains("volume_std")) {
    n.has_volume = true;
    n.volume_mean = j.at("volume_mean").get<double>();
    n.volume_std = j.at("volume_std").get<double>();
    n.volume_change_mean = j.at("volume_change_mean").get<double>();
    n.volume_change_std = j.at("volume_change_std").get<double>();
  }
  return n;
}

}  // namespace flowdesign::simulator::learned
