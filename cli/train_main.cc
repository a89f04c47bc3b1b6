// flowdesign-train: the `train` subcommand (and `generate`, where the ground truth builds), for
// machines that have LibTorch but not the rest of flowdesign's dependencies (built with
// -DFLOWDESIGN_LEARNED_ONLY=ON, e.g. a GPU box).
#include "cli/commands.h"
#include "cli/run_app.h"
#ifdef FLOWDESIGN_WITH_GENERATE
#include "simulator/ground_truth/mpm_solver.h"
#endif
#include "simulator/learned/blas_kernels.h"

int main(int argc, char** argv) {
  flowdesign::simulator::learned::RestartWithFittingOpenBlasKernels(argv);
  using namespace flowdesign::cli;
  CLI::App app{"flowdesign-train: train flowdesign's learned simulator"};
  app.require_subcommand(1);
  Action action;
#ifdef FLOWDESIGN_WITH_GENERATE
  AddTrainCommand(app, action, flowdesign::simulator::MpmGroundTruthRun());
  AddGenerateCommand(app, action);
#else
  AddTrainCommand(app, action);
#endif
  return RunApp(app, action, argc, argv);
}
