// flowdesign: the command line. Thin: parses arguments, calls the libraries, prints.
#include "cli/commands.h"
#include "cli/run_app.h"
#include "simulator/ground_truth/mpm_solver.h"
#include "simulator/learned/blas_kernels.h"

int main(int argc, char** argv) {
  flowdesign::simulator::learned::RestartWithFittingOpenBlasKernels(argv);
  using namespace flowdesign::cli;
  CLI::App app{"flowdesign: design shapes that steer fluid, with a learned differentiable simulator"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "flowdesign 0.1.0");
  Action action;
  AddValidateCommand(app, action);
  AddSimulateCommand(app, action);
  AddRenderCommand(app, action);
  AddGenerateCommand(app, action);
  AddTrainCommand(app, action, flowdesign::simulator::MpmGroundTruthRun());
  AddEvaluateModelCommand(app, action);
  AddDesignCommand(app, action);
  AddExportCommand(app, action);
  AddAverageModelsCommand(app, action);
  return RunApp(app, action, argc, argv);
}
