// flowdesign: the command line. Thin: parses arguments, calls the libraries, maps errors to
// exit codes (0 ok, 1 runtime failure, 2 bad input).
#include <iostream>

#include <c10/util/Exception.h>

#include "cli/commands.h"
#include "tasks/task_io.h"

int main(int argc, char** argv) {
  using namespace flowdesign::cli;
  CLI::App app{"flowdesign: design shapes that steer fluid, with a learned differentiable simulator"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "flowdesign 0.1.0");
  Action action;
  AddValidateCommand(app, action);
  AddSimulateCommand(app, action);
  AddRenderCommand(app, action);
  AddGenerateCommand(app, action);
  AddTrainCommand(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitBadInput;
  }
  try {
    return action();
  } catch (const flowdesign::tasks::TaskError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const std::invalid_argument& e) {  // config and recipe validation
    std::cerr << "error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const BadInput& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const c10::Error& e) {
    std::cerr << "error (LibTorch): " << e.what_without_backtrace() << "\n";
    return kExitRuntimeFailure;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitRuntimeFailure;
  }
}
