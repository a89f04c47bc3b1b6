// Each subcommand registers itself on the root CLI11 app and sets the action to run once the
// command line is parsed. Actions return the process exit code.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "simulator/ground_truth_step.h"

namespace flowdesign::cli {

using Action = std::function<int()>;

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntimeFailure = 1;
inline constexpr int kExitBadInput = 2;

// Thrown by commands for bad user input that is not a task-file error (e.g. a missing folder).
struct BadInput : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void AddValidateCommand(CLI::App& root, Action& action);
void AddSimulateCommand(CLI::App& root, Action& action);
void AddRenderCommand(CLI::App& root, Action& action);
void AddGenerateCommand(CLI::App& root, Action& action);
// `ground_truth`: for pushforward_restart_targets, where the program has the ground truth.
void AddTrainCommand(CLI::App& root, Action& action, simulator::GroundTruthRun ground_truth = {});
void AddEvaluateModelCommand(CLI::App& root, Action& action);
void AddDesignCommand(CLI::App& root, Action& action);
void AddExportCommand(CLI::App& root, Action& action);
void AddAverageModelsCommand(CLI::App& root, Action& action);

}  // namespace flowdesign::cli
