// Why a design's objective changes from the learned simulator to the ground truth: rolls each
// saved design out in both and prints, every few frames, where the fluid is (inside the task's
// goal region, above, below or beside it) and how much kinetic energy the fluid inside the
// region still has. A learned simulator that damps sloshing more than MPM shows up as a smaller
// energy inside the region after the impact, and the fluid MPM splashes over a rim as "above"
// and then "beside" or "below".
//
//   ./build/benchmarks/transfer_diagnosis [--model M] [--every 10] DESIGN.json [DESIGN.json ...]
//     each design on the task it names (tasks/NAME.json), e.g. the designs saved by
//     design_results --designs DIR; the region is the first one a fraction_inside term names.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "design/design_problem.h"
#include "design/ground_truth_problem.h"
#include "simulator/ground_truth/mpm_solver.h"
#include "simulator/learned/blas_kernels.h"
#include "simulator/learned/model_file.h"
#include "simulator/learned/rollout.h"
#include "tasks/file_util.h"
#include "tasks/task_io.h"

using namespace flowdesign;

namespace {

// Per frame: where the fluid alive then is relative to a box (fractions), the fraction that had
// entered the box at an earlier frame and is outside it now, and the mean kinetic energy per
// unit mass (J/kg, from the displacement since the previous frame) of the fluid inside it.
struct FluidState {
  double inside = 0.0, above = 0.0, below = 0.0, beside = 0.0, escaped = 0.0;
  double energy_inside = 0.0;
};

std::vector<FluidState> FluidStates(const simulator::Trajectory& t, int frames, const tasks::Box& box, double frame_dt) {
  std::vector<FluidState> states(static_cast<size_t>(frames) + 1);
  std::vector<char> entered;
  std::vector<tasks::Vec2> before;
  for (int f = 0; f <= frames; ++f) {
    const std::vector<tasks::Vec2> now = t.AlivePositions(f);
    entered.resize(now.size(), 0);
    FluidState& s = states[static_cast<size_t>(f)];
    int inside = 0;
    for (size_t i = 0; i < now.size(); ++i) {
      const tasks::Vec2 p = now[i];
      if (p.x >= box.min.x && p.x <= box.max.x && p.y >= box.min.y && p.y <= box.max.y) {
        ++inside;
        entered[i] = 1;
        if (i < before.size()) {  // particles are stored in birth order: the first ones existed before
          const double vx = (p.x - before[i].x) / frame_dt, vy = (p.y - before[i].y) / frame_dt;
          s.energy_inside += 0.5 * (vx * vx + vy * vy);
        }
        continue;
      }
      if (entered[i]) s.escaped += 1.0;
      if (p.y > box.max.y) s.above += 1.0;
      else if (p.y < box.min.y) s.below += 1.0;
      else s.beside += 1.0;
    }
    const double n = std::max<double>(1.0, static_cast<double>(now.size()));
    s.inside = inside / n;
    s.above /= n;
    s.below /= n;
    s.beside /= n;
    s.escaped /= n;
    s.energy_inside = inside > 0 ? s.energy_inside / inside : 0.0;
    before = now;
  }
  return states;
}

const tasks::Region& GoalRegion(const tasks::Task& task) {
  for (const tasks::ObjectiveTerm& term : task.objective) {
    if (term.kind != tasks::ObjectiveKind::kFractionInside) continue;
    for (const tasks::Region& region : task.regions)
      if (region.name == term.region && region.shape == tasks::RegionShape::kBox) return region;
  }
  throw std::invalid_argument("task " + task.name + ": no fraction_inside term on a box region");
}

}  // namespace

int main(int argc, char** argv) {
  flowdesign::simulator::learned::RestartWithFittingOpenBlasKernels(argv);
  std::string model_path = "models/default/model.fdm";
  int every = 10;
  std::vector<std::string> design_paths;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--model" && i + 1 < argc) model_path = argv[++i];
    else if (arg == "--every" && i + 1 < argc) every = std::atoi(argv[++i]);
    else if (!arg.empty() && arg[0] != '-') design_paths.push_back(arg);
    else design_paths.clear(), i = argc;  // unknown option: print the usage
  }
  if (design_paths.empty() || every < 1) {
    std::fprintf(stderr, "usage: transfer_diagnosis [--model M] [--every N >= 1] DESIGN.json [DESIGN.json ...]\n");
    return 2;
  }
  try {
    auto model = simulator::learned::LoadModel(model_path);
    simulator::learned::ConfigureTorchThreads(1);
    FluidState summary[2];  // means over the designs: ground truth, learned
    for (const std::string& path : design_paths) {
      const nlohmann::json json = nlohmann::json::parse(tasks::ReadFile(path), nullptr, false);
      if (!json.is_object() || !json.contains("task") || !json["task"].is_string()) {
        throw std::invalid_argument(path + ": not a design file (no \"task\" name)");
      }
      const tasks::Task task = tasks::LoadTask("tasks/" + json["task"].get<std::string>() + ".json");
      const tasks::Design design = tasks::ParseDesign(json, task, path);
      design::CheckModelMatchesTask(model->Config(), task, model_path);
      const simulator::Scene scene = simulator::BuildScene(task, design.parameters);
      const simulator::Trajectory learned = simulator::learned::RolloutTrajectory(*model, scene);
      const simulator::Trajectory truth = simulator::SimulateMpm(scene, design::GroundTruthFor(model->Config()));
      const tasks::Region& region = GoalRegion(task);
      std::printf("\n%s (task %s, region %s): fraction of the fluid inside / above / below / beside the region, "
                  "and kinetic energy inside (J/kg); ground truth | learned\n", path.c_str(), task.name.c_str(),
                  region.name.c_str());
      const int frames = scene.frames;
      const std::vector<FluidState> m = FluidStates(truth, frames, region.box, scene.frame_dt_s);
      const std::vector<FluidState> l = FluidStates(learned, frames, region.box, scene.frame_dt_s);
      for (int f = 0; f <= frames; f += every) {
        const FluidState& a = m[static_cast<size_t>(f)];
        const FluidState& b = l[static_cast<size_t>(f)];
        std::printf("frame %4d  MPM %.3f / %.3f / %.3f / %.3f  left %.3f  E %.4f  |  learned %.3f / %.3f / %.3f / %.3f  left %.3f  E %.4f\n",
                    f, a.inside, a.above, a.below, a.beside, a.escaped, a.energy_inside, b.inside, b.above, b.below,
                    b.beside, b.escaped, b.energy_inside);
      }
      // The sloshing after the impact: the energy inside over the last 40% of the frames.
      double energy[2] = {0.0, 0.0};
      int count = 0;
      for (int f = frames - (2 * frames) / 5; f <= frames; ++f, ++count) {
        energy[0] += m[static_cast<size_t>(f)].energy_inside;
        energy[1] += l[static_cast<size_t>(f)].energy_inside;
      }
      std::printf("entered the region and left it by the end: MPM %.3f, learned %.3f; energy inside over the last 40%% "
                  "of the frames: MPM %.4f, learned %.4f J/kg\n", m.back().escaped, l.back().escaped, energy[0] / count,
                  energy[1] / count);
      const double share = 1.0 / static_cast<double>(design_paths.size());
      for (int k = 0; k < 2; ++k) {
        const std::vector<FluidState>& states = k == 0 ? m : l;
        summary[k].escaped += share * states.back().escaped;
        summary[k].inside += share * states.back().inside;
        summary[k].energy_inside += share * energy[k] / count;
      }
    }
    std::printf("\nmeans over the %zu designs, MPM | learned: inside at the end %.3f | %.3f; entered and left %.3f | "
                "%.3f; late energy inside %.4f | %.4f J/kg\n", design_paths.size(), summary[0].inside,
                summary[1].inside, summary[0].escaped, summary[1].escaped, summary[0].energy_inside,
                summary[1].energy_inside);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  return 0;
}
