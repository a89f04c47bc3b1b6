// `flowdesign simulate TASK [--design DESIGN.json] --out DIR [--simulator mpm|learned]
// [--model M] [--shear-viscosity NU] [--soft-solid-boundary] [--threads N] [--gif]`: runs the ground-truth simulator (MPM) or the learned one
// on one design of a task and saves the trajectory.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "cli/default_model.h"
#include "design/design_problem.h"
#include "design/render.h"
#include "objectives/objective.h"
#include "simulator/ground_truth/mpm_solver.h"
#include "simulator/learned/model_file.h"
#include "simulator/learned/rollout.h"
#include "simulator/scene.h"
#include "simulator/trajectory.h"
#include "tasks/task_io.h"
#include "tasks/tool_geometry.h"

namespace flowdesign::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct SimulateArgs {
  std::string task_path;
  std::string design_path;
  std::string out_dir;
  std::string simulator = "mpm";
  std::string model;
  int threads = 0;
  double shear_viscosity = 0.0;
  bool soft_solid_boundary = false;
  bool gif = false;
};

std::string Duration(double seconds) {
  char text[32];
  if (seconds < 60.0) {
    std::snprintf(text, sizeof text, "%.1f s", seconds);
  } else {
    const long s = std::lround(seconds);
    std::snprintf(text, sizeof text, "%ld min %02ld s", s / 60, s % 60);
  }
  return text;
}

// "frame i/N, particles, elapsed, ETA" on stderr: one line rewritten with \r on a terminal,
// a line per ~10% otherwise (logs).
class Progress {
 public:
  explicit Progress(int frames) : frames_(frames), start_(Clock::now()), tty_(isatty(STDERR_FILENO) != 0) {}

  void Update(int frame, int particles) {
    const double elapsed = Seconds();
    const bool last = frame == frames_;
    if (tty_) {
      if (!last && elapsed - shown_at_ < 0.2) return;
    } else {
      const int decile = frames_ > 0 ? 10 * frame / frames_ : 10;
      if (!last && decile == decile_) return;
      decile_ = decile;
    }
    shown_at_ = elapsed;
    const double eta = frame > 0 ? elapsed * (frames_ - frame) / frame : 0.0;
    std::ostringstream line;
    line << "frame " << frame << "/" << frames_ << "  particles " << particles << "  elapsed "
         << Duration(elapsed) << "  ETA " << Duration(eta);
    if (tty_) {
      std::cerr << "\r" << line.str() << "\033[K" << (last ? "\n" : "") << std::flush;
    } else {
      std::cerr << line.str() << "\n" << std::flush;
    }
  }

  double Seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  int frames_;
  Clock::time_point start_;
  bool tty_;
  double shown_at_ = -1.0;
  int decile_ = -1;
};

int RunSimulate(const SimulateArgs& args) {
  const tasks::Task task = tasks::LoadTask(args.task_path);
  tasks::Design design;
  design.task_name = task.name;
  if (args.design_path.empty()) {
    design.parameters = tasks::InitialParameters(task);
  } else {
    design = tasks::LoadDesign(args.design_path, task);
  }
  if (args.threads < 0) throw BadInput("--threads must be >= 0 (0 = all cores)");
  if (!(args.shear_viscosity >= 0.0 && std::isfinite(args.shear_viscosity))) {
    throw BadInput("--shear-viscosity must be finite and >= 0 m^2/s");
  }
  if (fs::exists(args.out_dir) && !fs::is_directory(args.out_dir)) {
    throw BadInput("--out " + args.out_dir + ": exists and is not a directory");
  }
  if (args.simulator != "mpm" && args.simulator != "learned") {
    throw BadInput("--simulator " + args.simulator + ": unknown simulator (expected mpm or learned)");
  }
  if (args.simulator == "learned" && (args.shear_viscosity > 0.0 || args.soft_solid_boundary)) {
    throw BadInput("--shear-viscosity and --soft-solid-boundary set MPM's physics; a learned model simulates "
                   "the physics it was trained on");
  }

  const simulator::Scene scene = simulator::BuildScene(task, design.parameters);
  std::cerr << "simulating task '" << task.name << "' ("
            << (args.design_path.empty() ? "initial design" : args.design_path) << "): "
            << scene.frames << " frames, " << scene.fluid_positions.size()
            << " particles at t=0, up to " << simulator::TotalParticleCount(scene) << "\n";

  Progress progress(scene.frames);
  simulator::Trajectory trajectory;
  std::string speed;
  if (args.simulator == "learned") {
    const std::string model_path = ModelPathOrDefault(args.model);
    auto model = simulator::learned::LoadModel(model_path);
    design::CheckModelMatchesTask(model->Config(), task, model_path);
    simulator::learned::ConfigureTorchThreads(args.threads);
    trajectory = simulator::learned::RolloutTrajectory(*model, scene);
    progress.Update(scene.frames, static_cast<int>(trajectory.AlivePositions(scene.frames).size()));
    speed = "learned model " + model_path;
  } else {
    simulator::MpmOptions options;
    options.threads = args.threads;
    options.physics = {args.shear_viscosity, args.soft_solid_boundary};
    simulator::MpmStats stats;
    trajectory = simulator::SimulateMpm(
        scene, options, [&](int frame, int particles) { progress.Update(frame, particles); }, &stats);
    const double wall_s = progress.Seconds();
    speed = std::to_string(stats.substeps) + " MPM substeps, " +
            std::to_string(static_cast<long>(wall_s > 0.0 ? static_cast<double>(stats.particle_substeps) / wall_s : 0.0)) +
            " particle-substeps/s";
  }
  trajectory.regions = task.regions;
  const int alive = static_cast<int>(trajectory.AlivePositions(scene.frames).size());
  const double wall_s = progress.Seconds();

  fs::create_directories(args.out_dir);  // only now: a failed run leaves no folder behind
  simulator::SaveTrajectory(trajectory, args.out_dir);
  tasks::SaveTask(task, args.out_dir + "/task.json");
  tasks::SaveDesign(task, design, args.out_dir + "/design.json");
  if (args.gif) design::WriteAnimatedGif(trajectory, args.out_dir + "/animation.gif");

  std::cout << "simulated " << scene.frames << " frames (" << scene.frames * scene.frame_dt_s << " s), " << alive
            << " particles, wall time " << Duration(wall_s) << " (" << speed << ")\n";
  // The task's objective on this trajectory, so a design can be checked without a search.
  const torch::Tensor positions = torch::from_blob(trajectory.positions.data(),
                                                   {trajectory.frame_count, trajectory.particle_count, 2});
  std::vector<int> birth(trajectory.birth_frame.begin(), trajectory.birth_frame.end());
  std::cout << "objective (" << args.simulator << "):\n"
            << objectives::FormatReport(objectives::Objective(task).Report(positions, birth, design.parameters));
  std::cout << "trajectory: " << args.out_dir << " (positions.npy, birth_frame.npy, "
            << "birth_velocity.npy, particle_type.npy, metadata.json, task.json, design.json"
            << (args.gif ? ", animation.gif" : "") << ")\n";
  return kExitOk;
}

}  // namespace

void AddSimulateCommand(CLI::App& root, Action& action) {
  CLI::App* command = root.add_subcommand(
      "simulate",
      "Run the ground-truth simulator (MPM) or the learned one on a design of a task and save the "
      "trajectory (NumPy .npy files + metadata.json) with a copy of the task and design.");
  auto args = std::make_shared<SimulateArgs>();
  command->add_option("TASK", args->task_path, "task file (JSON), e.g. tasks/contain.json")->required();
  command->add_option("--design", args->design_path,
                      "design file (JSON); default: the task's initial design");
  command->add_option("--out", args->out_dir, "output folder for the trajectory")->required();
  command->add_option("--simulator", args->simulator, "mpm (ground truth) or learned")->capture_default_str();
  command->add_option("--model", args->model, "learned model file (default: models/default/model.fdm)");
  command->add_option("--threads", args->threads, "worker threads (0 = all cores)")
      ->capture_default_str();
  command->add_option("--shear-viscosity", args->shear_viscosity,
                      "MPM only: the fluid's kinematic shear viscosity in m^2/s (a model's: its "
                      "shear_viscosity_m2ps)")
      ->capture_default_str();
  command->add_flag("--soft-solid-boundary", args->soft_solid_boundary,
                   "MPM only: grid nodes take a solid's slip condition in proportion to their distance "
                   "instead of fully within half a cell (a model's: its soft_solid_boundary)");
  command->add_flag("--gif", args->gif, "also write DIR/animation.gif");
  command->callback([&action, args] { action = [args] { return RunSimulate(*args); }; });
}

}  // namespace flowdesign::cli
