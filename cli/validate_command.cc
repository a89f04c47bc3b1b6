// `flowdesign validate TASK`: loads and checks a task file, then prints what it describes.
#include <iomanip>
#include <iostream>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "tasks/json_reader.h"
#include "tasks/task.h"
#include "tasks/task_io.h"

namespace flowdesign::cli {
namespace {

using tasks::FormatNumber;
using tasks::FormatPoint;

std::string Plural(size_t count, const std::string& noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

// A computed value, to 6 significant digits (0.5 rather than 0.5000000000000001).
std::string Derived(double value) {
  std::ostringstream text;
  text << std::setprecision(6) << value;
  return text.str();
}

std::string BoxText(const tasks::Box& box) {
  return FormatPoint(box.min) + " to " + FormatPoint(box.max);
}

void PrintFluid(const tasks::Task& task, std::ostream& out) {
  int particles = 0;
  for (const tasks::WaterBlock& block : task.blocks) {
    particles += tasks::CountBlockParticles(block, task.particle_spacing_m);
  }
  out << "fluid: " << Plural(task.blocks.size(), "block") << " (" << particles
      << " particles at t=0), " << Plural(task.emitters.size(), "emitter") << "\n";
  for (const tasks::WaterBlock& block : task.blocks) {
    out << "  block " << BoxText(block.box) << " m, velocity " << FormatPoint(block.velocity)
        << " m/s, " << tasks::CountBlockParticles(block, task.particle_spacing_m)
        << " particles\n";
  }
  for (const tasks::Emitter& e : task.emitters) {
    out << "  emitter at " << FormatPoint(e.position) << " m, width " << FormatNumber(e.width_m)
        << " m, velocity " << FormatPoint(e.velocity) << " m/s, from " << FormatNumber(e.start_s)
        << " s to " << FormatNumber(e.stop_s) << " s\n";
  }
}

void PrintTools(const tasks::Task& task, std::ostream& out) {
  out << "tools: " << task.tools.size() << " (" << task.ParameterCount()
      << " design parameters in total)\n";
  for (const tasks::Tool& tool : task.tools) {
    out << "  " << tool.name << ": " << tasks::ToolKindName(tool.kind) << ", "
        << Plural(static_cast<size_t>(tool.ParameterCount()), "parameter") << ", thickness "
        << FormatNumber(tool.thickness_m) << " m";
    if (tool.kind == tasks::ToolKind::kChain) {
      out << ", " << tool.chain.segments << " x " << FormatNumber(tool.chain.segment_length_m)
          << " m segments anchored at " << FormatPoint(tool.chain.anchor);
    } else {
      out << ", length " << FormatNumber(tool.ramp.length_m) << " m, centre in "
          << BoxText(tool.ramp.center_bounds);
    }
    out << "\n";
  }
}

void PrintRegionsAndObjective(const tasks::Task& task, std::ostream& out) {
  out << "regions: " << task.regions.size() << "\n";
  for (const tasks::Region& region : task.regions) {
    out << "  " << region.name << ": ";
    if (region.shape == tasks::RegionShape::kBox) {
      out << "box " << BoxText(region.box);
    } else {
      out << "polygon of " << region.polygon.size() << " points";
    }
    out << ", area " << Derived(region.Area()) << " m^2\n";
  }
  out << "objective: " << Plural(task.objective.size(), "term") << "\n";
  for (const tasks::ObjectiveTerm& term : task.objective) {
    out << "  " << tasks::ObjectiveKindName(term.kind);
    if (!term.region.empty()) out << "(" << term.region << ")";
    out << " weight " << FormatNumber(term.weight);
    if (term.kind != tasks::ObjectiveKind::kSmoothness) {
      out << ", over the last " << Plural(static_cast<size_t>(term.last_frames), "frame");
    }
    out << "\n";
  }
}

void PrintOptimizer(const tasks::OptimizerSettings& o, std::ostream& out) {
  out << "optimizer: " << tasks::OptimizerKindName(o.kind) << ", "
      << Plural(static_cast<size_t>(o.iterations), "iteration");
  switch (o.kind) {
    case tasks::OptimizerKind::kAdam:
    case tasks::OptimizerKind::kLbfgs:
      out << ", learning rate " << FormatNumber(o.learning_rate);
      break;
    case tasks::OptimizerKind::kCem:
      out << ", population " << o.population << ", elite fraction "
          << FormatNumber(o.elite_fraction);
      break;
    case tasks::OptimizerKind::kRandom:
      out << ", population " << o.population;
      break;
  }
  out << ", " << Plural(static_cast<size_t>(o.starts), "start") << "\n";
}

void PrintSummary(const tasks::Task& task, const std::string& path, std::ostream& out) {
  out << "task: " << task.name << " (" << path << ", format version " << task.format_version
      << ")\n";
  if (!task.description.empty()) out << "  " << task.description << "\n";
  out << "domain: " << FormatPoint(task.domain.min) << " to " << FormatPoint(task.domain.max)
      << " m (" << task.domain.dimensions << "D), gravity " << FormatPoint(task.gravity)
      << " m/s^2\n";
  out << "particle spacing: " << FormatNumber(task.particle_spacing_m) << " m\n";
  PrintFluid(task, out);
  out << "walls: " << task.walls.size() << "\n";
  PrintTools(task, out);
  PrintRegionsAndObjective(task, out);
  const tasks::Horizon& h = task.horizon;
  out << "horizon: " << h.frames << " frames x " << FormatNumber(h.frame_dt_s) << " s = "
      << Derived(h.frames * h.frame_dt_s) << " s simulated\n";
  PrintOptimizer(task.optimizer, out);
  out << "seed: " << task.seed << "\n";
  out << "ok\n";
}

}  // namespace

void AddValidateCommand(CLI::App& root, Action& action) {
  CLI::App* command =
      root.add_subcommand("validate", "Check a task file and print a summary of what it describes");
  command->footer(
      "The format is documented in docs/task-format.md. Exits 0 if the task is valid; exits 2 "
      "with one message naming the file, the JSON path and the reason if it is not, e.g.\n"
      "  error: tasks/x.json: tools[0].segments: must be >= 1 (got 0)");
  auto path = std::make_shared<std::string>();
  command->add_option("TASK", *path, "task file (JSON), e.g. tasks/contain.json")->required();
  command->callback([&action, path] {
    action = [path] {
      const tasks::Task task = tasks::LoadTask(*path);
      PrintSummary(task, *path, std::cout);
      return kExitOk;
    };
  });
}

}  // namespace flowdesign::cli
