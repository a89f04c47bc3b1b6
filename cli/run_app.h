// Parses the command line and runs the chosen subcommand, mapping errors to exit codes:
// 0 ok, 1 runtime failure, 2 bad input. Shared by flowdesign and flowdesign-train.
#pragma once

#include "cli/commands.h"

namespace flowdesign::cli {

int RunApp(CLI::App& app, const Action& action, int argc, char** argv);

}  // namespace flowdesign::cli
