// `flowdesign evaluate-model`: accuracy of a learned simulator on held-out trajectories.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "simulator/learned/learned_simulator.h"
#include "simulator/training/dataset.h"
#include "simulator/trajectory.h"

namespace flowdesign::simulator::training {

struct EvaluationOptions {
  std::vector<int> horizons{25, 50, 100};  // rollout steps at which errors are reported (plus the end)
  int one_step_stride = 5;                 // one-step MSE on every k-th frame
  double smoothing_spacings = 4.0;         // Gaussian width of the one-step error's smooth part
};

struct HorizonError {
  int steps = 0;  // -1: the end of each trajectory
  double mean_error_spacings = 0.0;    // mean over trajectories of the mean particle error
  double median_error_spacings = 0.0;  // median over trajectories
  double frozen_error_spacings = 0.0;  // the same for fluid left where it starts (baseline)
  double chamfer_spacings = 0.0;       // permutation-free: mean symmetric nearest-neighbour distance
  // Clumping: the fraction of fluid particles with another closer than half a spacing.
  double crowded_learned = 0.0;
  double crowded_truth = 0.0;
  std::vector<double> trajectory_errors_spacings;  // each trajectory's mean particle error, in data order
};

struct EvaluationReport {
  int trajectories = 0;
  double one_step_mse = 0.0;  // normalized acceleration, fluid particles, no input noise
  // The one-step position error in spacings (rms per axis); the part shared by all of a frame's
  // fluid (its mean); and the smooth part of the rest: each particle's error averaged over its
  // neighbours with Gaussian weights (EvaluationOptions::smoothing_spacings), next to the same for
  // the rest shuffled among the particles (what white errors would give). Errors that neighbours
  // share move the fluid as a whole and cost most over a rollout (ground_truth_sensitivity
  // --smooth-kick).
  double one_step_rms_spacings = 0.0;
  double one_step_bulk_rms_spacings = 0.0;
  double one_step_smooth_rms_spacings = 0.0;
  double one_step_shuffled_smooth_rms_spacings = 0.0;
  // A model with a volume state: the one-step MSE of J's change (normalized); else negative.
  double one_step_volume_mse = -1.0;
  std::vector<HorizonError> horizons;
  nlohmann::json ToJson() const;
  std::string Table() const;
};

EvaluationReport EvaluateModel(learned::LearnedSimulator& simulator, const Dataset& data,
                               const EvaluationOptions& options);

// The learned rollout of one data trajectory from frame 0 (as a design rolls out), with the
// data's geometry, as a Trajectory aligned with the data.
Trajectory LearnedRolloutOfData(learned::LearnedSimulator& simulator, const Trajectory& data);

// A horizon's name in tables ("25", "end" for steps -1) and in evaluation.json (25 or "end").
std::string HorizonName(int steps);
nlohmann::json HorizonJson(int steps);

// The median of `values` (0 for none): the typical error over trajectories, robust to a few
// scenes that splash apart.
double Median(std::vector<double> values);

}  // namespace flowdesign::simulator::training
