// How predictable is the ground truth itself? Simulates the test scenes of a data recipe twice
// with MPM, once as generated and once with every initial fluid particle moved by EPS particle
// spacings in a random direction, and prints how far the two runs drift apart after 25, 50, 100
// and 150 frames, in the units `evaluate-model` reports (per scene the mean particle distance
// in spacings; then the mean and median over scenes). A learned simulator cannot be expected to
// follow single particles more closely than the ground truth follows itself from a start that
// is off by less than its own one-step error.
//
// With --kick SIGMA the start is exact, but after every frame each particle's velocity gets a
// random kick that moves it SIGMA spacings (rms per axis) by the next frame: the error a learned
// simulator with that one-step position error makes, if its errors were random (white in space
// and time); --smooth-kick SIGMA kicks with a random field smooth over 10-40 spacings instead, so
// neighbours err alike (as a network's errors do). Either gives the floor of the rollout error
// that a model of that one-step accuracy could reach.
//
//   ground_truth_sensitivity [--recipe models/default/recipe.json] [--scenes 24] [--eps 0.01]...
//                            [--kick SIGMA]... [--smooth-kick SIGMA]... [--bulk-viscosity M2/S] [--shear-viscosity M2/S]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "simulator/data_generation/generate.h"
#include "simulator/data_generation/scene_sampler.h"
#include "simulator/ground_truth/mpm_solver.h"
#include "simulator/training/evaluation.h"

namespace {

using namespace flowdesign;
using namespace flowdesign::simulator;
using training::Median;

constexpr size_t kTestSplit = 2;
const std::vector<int> kHorizons = {25, 50, 100, 150};

double Mean(const std::vector<double>& v) {
  double sum = 0.0;
  for (double x : v) sum += x;
  return v.empty() ? 0.0 : sum / v.size();
}

// Mean distance between `reference`'s particles alive at `frame` and position_of(i) for each, in
// particle spacings.
template <typename PositionOf>
double MeanDrift(const Trajectory& reference, int frame, PositionOf position_of) {
  double sum = 0.0;
  int count = 0;
  for (int i = 0; i < reference.particle_count; ++i) {
    if (!reference.Alive(frame, i)) continue;
    const Vec2 d = reference.Position(frame, i) - position_of(i);
    sum += std::sqrt(d.x * d.x + d.y * d.y);
    ++count;
  }
  return count ? sum / count / reference.particle_spacing_m : 0.0;
}

// Particle p's kick in spacings for one frame: white (independent per particle) or a field of
// kModes random plane waves with wavelengths of 10-40 spacings, scaled to rms `sigma` per axis.
struct Kicks {
  static constexpr int kModes = 8;
  bool smooth = false;
  double sigma = 0.0;
  std::normal_distribution<double> normal{0.0, 1.0};
  std::uniform_real_distribution<double> uniform{0.0, 1.0};
  struct Mode {
    double kx, ky, phase, ax, ay;
  };
  std::vector<Mode> modes;

  void NewFrame(std::mt19937_64& rng, double spacing) {
    if (!smooth) return;
    modes.clear();
    for (int m = 0; m < kModes; ++m) {
      const double wavelength = (10.0 + 30.0 * uniform(rng)) * spacing, angle = 2.0 * M_PI * uniform(rng);
      const double k = 2.0 * M_PI / wavelength;
      // sum of kModes waves a cos(.) has variance kModes a^2 / 2 per axis
      const double amplitude = sigma * std::sqrt(2.0 / kModes);
      modes.push_back({k * std::cos(angle), k * std::sin(angle), 2.0 * M_PI * uniform(rng),
                       amplitude * normal(rng), amplitude * normal(rng)});
    }
  }
  Vec2 At(Vec2 x, std::mt19937_64& rng) {
    if (!smooth) return {sigma * normal(rng), sigma * normal(rng)};
    Vec2 v{0.0, 0.0};
    for (const Mode& m : modes) {
      const double c = std::cos(m.kx * x.x + m.ky * x.y + m.phase);
      v = v + Vec2{m.ax * c, m.ay * c};
    }
    return v;
  }
};

// MPM of `scene` with a kick after every frame; the drift from `reference` at each horizon.
std::vector<double> KickedDrift(const Scene& scene, const MpmOptions& mpm, const Trajectory& reference, Kicks kicks,
                                std::mt19937_64& rng) {
  MpmSolver solver(scene, mpm);
  const double to_velocity = scene.particle_spacing_m / scene.frame_dt_s;
  std::vector<double> drift;
  for (int frame = 1; frame <= scene.frames; ++frame) {
    solver.StepFrame();
    kicks.NewFrame(rng, scene.particle_spacing_m);
    for (int p = 0; p < solver.ParticleCount(); ++p) solver.AddVelocity(p, to_velocity * kicks.At(solver.Position(p), rng));
    for (int h : kHorizons) {
      if (std::min(h, scene.frames) == frame) drift.push_back(MeanDrift(reference, frame, [&](int i) { return solver.Position(i); }));
    }
  }
  return drift;
}

void PrintRow(const char* label, double value, const std::vector<std::vector<double>>& drift) {
  std::printf("%-12s %6g  %8s", label, value, "mean");
  for (const auto& d : drift) std::printf("  %13.2f", Mean(d));
  std::printf("\n%-12s %6g  %8s", label, value, "median");
  for (const auto& d : drift) std::printf("  %13.2f", Median(d));
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string recipe_path = "models/default/recipe.json";
  int scenes = 24;
  std::vector<double> eps_values, kick_values, smooth_kick_values;
  MpmOptions mpm;
  mpm.shear_viscosity_m2ps = -1.0;  // the recipe's unless --shear-viscosity is given
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--recipe") recipe_path = argv[i + 1];
    else if (flag == "--scenes") scenes = std::atoi(argv[i + 1]);
    else if (flag == "--eps") eps_values.push_back(std::atof(argv[i + 1]));
    else if (flag == "--kick") kick_values.push_back(std::atof(argv[i + 1]));
    else if (flag == "--smooth-kick") smooth_kick_values.push_back(std::atof(argv[i + 1]));
    else if (flag == "--bulk-viscosity") mpm.bulk_viscosity_m2ps = std::atof(argv[i + 1]);
    else if (flag == "--shear-viscosity") mpm.shear_viscosity_m2ps = std::atof(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--recipe FILE] [--scenes N] [--eps SPACINGS]... [--kick SIGMA]... [--smooth-kick SIGMA]... [--bulk-viscosity M2/S] [--shear-viscosity M2/S]\n",
                   argv[0]);
      return 2;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "%s: %s needs a value\n", argv[0], argv[argc - 1]);
    return 2;
  }
  if (eps_values.empty() && kick_values.empty() && smooth_kick_values.empty()) eps_values = {0.001, 0.01, 0.1};
  const data::Recipe recipe = data::LoadRecipe(recipe_path);
  if (mpm.shear_viscosity_m2ps < 0.0) mpm.shear_viscosity_m2ps = recipe.shear_viscosity_m2ps;
  scenes = std::min(scenes, recipe.test);

  std::vector<Scene> scene_list;
  std::vector<Trajectory> reference;
  for (int s = 0; s < scenes; ++s) {
    std::mt19937_64 rng(data::TrajectorySeed(recipe.seed, kTestSplit, s));
    scene_list.push_back(data::SampleScene(recipe, rng));
    reference.push_back(SimulateMpm(scene_list.back(), mpm));
  }
  std::printf("MPM against itself, %d test scenes of %s: from initial positions moved by EPS spacings, or\n"
              "with kicks after every frame that move each particle SIGMA spacings rms per axis (white or smooth)\n",
              scenes, recipe_path.c_str());
  std::printf("%-12s %6s  %8s", "perturbation", "size", "");
  for (int h : kHorizons) std::printf("  %6d frames", h);
  std::printf("\n");
  for (double eps : eps_values) {
    std::vector<std::vector<double>> drift(kHorizons.size());
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> angle(0.0, 2.0 * M_PI);
    for (int s = 0; s < scenes; ++s) {
      Scene moved = scene_list[s];
      for (Vec2& p : moved.fluid_positions) {
        const double a = angle(rng);
        p = p + (eps * moved.particle_spacing_m) * Vec2{std::cos(a), std::sin(a)};
      }
      const Trajectory perturbed = SimulateMpm(moved, mpm);
      for (size_t h = 0; h < kHorizons.size(); ++h) {
        const int frame = std::min(kHorizons[h], perturbed.frame_count - 1);
        drift[h].push_back(MeanDrift(reference[s], frame, [&](int i) { return perturbed.Position(frame, i); }));
      }
    }
    PrintRow("EPS", eps, drift);
  }
  for (const auto& [smooth, values] : {std::pair{false, kick_values}, std::pair{true, smooth_kick_values}}) {
    for (double sigma : values) {
      std::vector<std::vector<double>> drift(kHorizons.size());
      std::mt19937_64 rng(11);
      for (int s = 0; s < scenes; ++s) {
        Kicks kicks;
        kicks.smooth = smooth;
        kicks.sigma = sigma;
        const std::vector<double> d = KickedDrift(scene_list[s], mpm, reference[s], kicks, rng);
        for (size_t h = 0; h < d.size(); ++h) drift[h].push_back(d[h]);
      }
      PrintRow(smooth ? "smooth kick" : "white kick", sigma, drift);
    }
  }
  return 0;
}
