// Two learned simulators compared trajectory by trajectory on the same held-out data
// (`evaluate-model --baseline`): with 24 test scenes whose errors spread by 2-3x, a difference of
// medians says little; the per-scene differences and how many scenes got better say more.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "simulator/training/evaluation.h"

namespace flowdesign::simulator::training {

// This model's mean particle error minus the baseline's, over the trajectories, at one horizon.
struct PairedDifference {
  int steps = 0;                  // -1: the end of each trajectory
  double mean = 0.0;              // mean of the per-trajectory differences, in spacings
  double standard_error = 0.0;    // of that mean
  double median = 0.0;            // median of the differences
  int better = 0, worse = 0;      // trajectories whose error fell / rose (ties count in neither)
  double sign_test_p = 1.0;       // two-sided sign test: the chance of a split at least this lopsided
};

// The statistics of paired differences (one per scene or design, this minus the baseline); steps
// stays 0. Needs at least one difference.
PairedDifference SummarizeDifferences(const std::vector<double>& differences);

// The differences at every horizon of `report` against `baseline`, an evaluation.json written
// by evaluate-model (`baseline_name` names it in errors). Throws std::invalid_argument naming
// the file and the reason when the baseline was made on other data or another split, or has
// other horizons or another number of trajectories.
std::vector<PairedDifference> ComparePaired(const EvaluationReport& report, const nlohmann::json& report_source,
                                            const nlohmann::json& baseline, const std::string& baseline_name);

// Throws std::invalid_argument naming `baseline_name` when the baseline's "data" or "split"
// differ from `report_source`'s (fields a file may lack, then not checked). Other "data" is
// accepted when both name the same "scenes" (ScenesFingerprint): the same scenes under another
// ground truth.
void CheckSameSource(const nlohmann::json& report_source, const nlohmann::json& baseline, const std::string& baseline_name);

// Two-sided sign test: P(a split at least as lopsided as `better` : `worse`) for a fair coin.
double SignTestP(int better, int worse);

std::string PairedTable(const std::vector<PairedDifference>& differences, const std::string& baseline_name);
nlohmann::json PairedToJson(const std::vector<PairedDifference>& differences, const std::string& baseline_name);

}  // namespace flowdesign::simulator::training
