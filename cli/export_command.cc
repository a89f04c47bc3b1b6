// `flowdesign export DESIGN --format json|svg|png|dxf|csv [--task TASK] [--out FILE]
// [--width PX]`: a design and the geometry it produces, for CAD, scripts and pictures.
// The formats are described in docs/task-format.md ("Exporting a design").
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>

#include "cli/commands.h"
#include "design/export.h"
#include "tasks/task.h"
#include "tasks/task_io.h"

namespace flowdesign::cli {
namespace {

namespace fs = std::filesystem;

struct ExportArgs {
  std::string design_path;
  std::string format;
  std::string task_path;  // empty: task.json next to the design (a run folder's layout)
  std::string out_path;   // empty: the design's path with the format's extension
  int width = 512;        // PNG only
};

// The task file: --task, or task.json in the design's folder.
std::string TaskPath(const ExportArgs& args) {
  if (!args.task_path.empty()) {
    if (!fs::is_regular_file(args.task_path)) {
      throw BadInput("--task " + args.task_path + ": no such file");
    }
    return args.task_path;
  }
  const fs::path folder = fs::path(args.design_path).parent_path();
  const fs::path next_to = folder / "task.json";
  if (!fs::is_regular_file(next_to)) {
    throw BadInput(args.design_path + ": no task given and no task.json next to it in " +
                   (folder.empty() ? std::string(".") : folder.string()) +
                   "; pass the design's task with --task TASK");
  }
  return next_to.string();
}

int RunExport(const ExportArgs& args) {
  const design::ExportFormat format = design::ParseExportFormat(args.format);
  if (!fs::is_regular_file(args.design_path)) {
    throw BadInput(args.design_path + ": no such file");
  }
  if (format == design::ExportFormat::kPng && (args.width < 16 || args.width > 8192)) {
    throw BadInput("--width must be between 16 and 8192 (got " + std::to_string(args.width) + ")");
  }
  const tasks::Task task = tasks::LoadTask(TaskPath(args));
  const tasks::Design design = tasks::LoadDesign(args.design_path, task);

  const std::string out =
      args.out_path.empty() ? design::DefaultExportPath(args.design_path, format) : args.out_path;
  std::error_code ignored;
  if (fs::equivalent(out, args.design_path, ignored)) {
    throw BadInput("--out " + out + " is the design file itself; choose another path");
  }
  const fs::path folder = fs::path(out).parent_path();
  if (!folder.empty()) fs::create_directories(folder);

  design::ExportOptions options;
  options.png_width_px = args.width;
  design::WriteExport(task, design, format, out, options);
  std::cout << "wrote the " << design::ExportFormatName(format) << " export of "
            << args.design_path << " (task '" << task.name << "', " << task.tools.size()
            << (task.tools.size() == 1 ? " tool" : " tools") << ") to " << out << "\n";
  return kExitOk;
}

}  // namespace

void AddExportCommand(CLI::App& root, Action& action) {
  CLI::App* command = root.add_subcommand(
      "export", "Export a design and its geometry as JSON, SVG, PNG, DXF or CSV.");
  auto args = std::make_shared<ExportArgs>();
  command->add_option("DESIGN", args->design_path, "design file (e.g. a run's best_design.json)")
      ->required();
  command->add_option("--format", args->format, "json, svg, png, dxf or csv")->required();
  command->add_option("--task", args->task_path,
                      "the design's task file (default: task.json next to DESIGN)");
  command->add_option("--out", args->out_path,
                      "output file (default: DESIGN with the format's extension; "
                      "json: DESIGN.export.json)");
  command->add_option("--width", args->width, "PNG width in pixels")->capture_default_str();
  command->callback([&action, args] { action = [args] { return RunExport(*args); }; });
}

}  // namespace flowdesign::cli
