// Normalization statistics of the training data, in metres per frame (velocity) and metres per
// frame^2 (acceleration): dt is folded to 1 as in GNS.
#pragma once

#include <array>

#include <nlohmann/json.hpp>

namespace flowdesign::simulator::learned {

struct Normalization {
  std::array<double, 2> velocity_mean{0.0, 0.0};
  std::array<double, 2> velocity_std{1.0, 1.0};
  std::array<double, 2> acceleration_mean{0.0, 0.0};
  std::array<double, 2> acceleration_std{1.0, 1.0};
};

inline nlohmann::json NormalizationToJson(const Normalization& n) {
  return {{"velocity_mean", n.velocity_mean},
          {"velocity_std", n.velocity_std},
          {"acceleration_mean", n.acceleration_mean},
          {"acceleration_std", n.acceleration_std}};
}

inline Normalization NormalizationFromJson(const nlohmann::json& j) {
  Normalization n;
  n.velocity_mean = j.at("velocity_mean").get<std::array<double, 2>>();
  n.velocity_std = j.at("velocity_std").get<std::array<double, 2>>();
  n.acceleration_mean = j.at("acceleration_mean").get<std::array<double, 2>>();
  n.acceleration_std = j.at("acceleration_std").get<std::array<double, 2>>();
  return n;
}

}  // namespace flowdesign::simulator::learned
