// `flowdesign generate`: training, validation and test trajectories from the ground truth.
// Layout of DATA_DIR:
//   recipe.json                 the recipe (with every default filled in)
//   normalization.json          velocity / acceleration mean and std over the training split
//   statistics.json             motion per frame (in particle spacings), particle counts
//   {train,valid,test}/NNNNN/   one trajectory each (see simulator/trajectory.h)
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "simulator/data_generation/recipe.h"
#include "simulator/data_layout.h"
#include "simulator/learned/normalization.h"
#include "simulator/trajectory.h"

namespace flowdesign::simulator::data {

struct GenerateOptions {
  int threads = 0;  // 0 = all cores
  std::function<void(int done, int total)> progress;
};

// Generates every missing trajectory (existing complete ones are kept, so a killed run resumes),
// then writes the statistics. Deterministic: trajectory i of a split depends only on the recipe.
void GenerateData(const Recipe& recipe, const std::string& out_dir, const GenerateOptions& options);

// The generator seed of trajectory `index` of split `split` (0 train, 1 valid, 2 test): the scene
// is SampleScene(recipe, rng) with rng seeded by it.
uint64_t TrajectorySeed(uint64_t recipe_seed, size_t split, int index);

// Velocity and acceleration statistics (per frame, dt folded to 1) over fluid particles.
learned::Normalization ComputeNormalization(const std::vector<Trajectory>& trajectories);
// Per-frame displacement in particle spacings: median, 99th percentile, max, and the fraction of
// particle-frames that move more than `radius_spacings`.
nlohmann::json MotionStatistics(const std::vector<Trajectory>& trajectories, double radius_spacings);

}  // namespace flowdesign::simulator::data
