// How predictable is the ground truth itself? Simulates the test scenes of a data recipe twice
// with MPM, once as generated and once with every initial fluid particle moved by EPS particle
// spacings in a random direction, and prints how far the two runs drift apart after 25, 50, 100
// and 150 frames, in the units `evaluate-model` reports (per scene the mean particle distance
// in spacings; then the mean and median over scenes). A learned simulator cannot be expected to
// follow single particles more closely than the ground truth follows itself from a start that
// is off by less than its own one-step error.
//
//   ground_truth_sensitivity [--recipe models/default/recipe.json] [--scenes 24] [--eps 0.01]...
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

// Mean distance between the two runs' particles alive at `frame`, in particle spacings.
double MeanDrift(const Trajectory& a, const Trajectory& b, int frame) {
  double sum = 0.0;
  int count = 0;
  for (int i = 0; i < a.particle_count; ++i) {
    if (!a.Alive(frame, i)) continue;
    const Vec2 d = a.Position(frame, i) - b.Position(frame, i);
    sum += std::sqrt(d.x * d.x + d.y * d.y);
    ++count;
  }
  return count ? sum / count / a.particle_spacing_m : 0.0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string recipe_path = "models/default/recipe.json";
  int scenes = 24;
  std::vector<double> eps_values;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--recipe") recipe_path = argv[i + 1];
    else if (flag == "--scenes") scenes = std::atoi(argv[i + 1]);
    else if (flag == "--eps") eps_values.push_back(std::atof(argv[i + 1]));
    else {
      std::fprintf(stderr, "usage: %s [--recipe FILE] [--scenes N] [--eps SPACINGS]...\n", argv[0]);
      return 2;
    }
  }
  if (eps_values.empty()) eps_values = {0.001, 0.01, 0.1};
  const data::Recipe recipe = data::LoadRecipe(recipe_path);
  scenes = std::min(scenes, recipe.test);

  std::vector<Scene> scene_list;
  std::vector<Trajectory> reference;
  for (int s = 0; s < scenes; ++s) {
    std::mt19937_64 rng(data::TrajectorySeed(recipe.seed, kTestSplit, s));
    scene_list.push_back(data::SampleScene(recipe, rng));
    reference.push_back(SimulateMpm(scene_list.back(), MpmOptions{}));
  }
  std::printf("MPM against itself from initial positions moved by EPS spacings (%d test scenes of %s)\n",
              scenes, recipe_path.c_str());
  std::printf("%10s  %8s", "EPS", "");
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
      const Trajectory perturbed = SimulateMpm(moved, MpmOptions{});
      for (size_t h = 0; h < kHorizons.size(); ++h) {
        const int frame = std::min(kHorizons[h], perturbed.frame_count - 1);
        drift[h].push_back(MeanDrift(reference[s], perturbed, frame));
      }
    }
    std::printf("%10g  %8s", eps, "mean");
    for (const auto& d : drift) std::printf("  %13.2f", Mean(d));
    std::printf("\n%10g  %8s", eps, "median");
    for (const auto& d : drift) std::printf("  %13.2f", Median(d));
    std::printf("\n");
  }
  return 0;
}
