// Throughput of the ground-truth MPM: particle-substeps per second for water blocks of about
// 2k, 10k and 40k particles falling onto a tilted tool in a 1 m x 1 m box, with 1 and 2 threads.
// Each figure is the median of several timed repetitions after a warm-up.
//
//   mpm_benchmark [--reps N] [--max-threads T]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "simulator/ground_truth/mpm_solver.h"
#include "simulator/scene.h"

namespace {

using namespace flowdesign;
using simulator::MpmOptions;
using simulator::MpmSolver;
using simulator::Scene;

constexpr double kBlockSide = 0.4;                // the water block is 0.4 m x 0.4 m
constexpr double kSingleCoreGoal = 2.0e7;         // particle-substeps/s at ~2k particles
constexpr double kSpeedupGoal = 1.7;              // 2 threads vs 1 at ~40k particles
constexpr double kParticleSubstepsPerRep = 4.0e6; // work per timed repetition

Scene BenchmarkScene(int target_particles) {
  const int per_side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(target_particles))));
  Scene scene;
  scene.domain = {{0.0, 0.0}, {1.0, 1.0}};
  scene.gravity = {0.0, -9.81};
  scene.particle_spacing_m = kBlockSide / per_side;
  scene.frame_dt_s = 0.005;
  scene.frames = 0;
  scene.solids.push_back({{0.1, 0.35}, {0.85, 0.1}, 0.01});  // one tilted tool, 2 cm thick
  const tasks::WaterBlock block{{{0.25, 0.45}, {0.25 + kBlockSide, 0.45 + kBlockSide}}, {0.0, 0.0}};
  for (tasks::Vec2 p : tasks::BlockParticlePositions(block, scene.particle_spacing_m)) {
    if (simulator::SignedDistanceToSolids(scene.solids, p) < 0.0) continue;
    scene.fluid_positions.push_back(p);
    scene.fluid_velocities.push_back({0.0, 0.0});
  }
  return scene;
}

struct Measurement {
  double median = 0.0;  // particle-substeps per second
  double min = 0.0, max = 0.0;
  double cores = 0.0;   // process CPU time / wall time over the timed repetitions
};

Measurement Measure(const Scene& scene, int threads, int reps) {
  MpmOptions options;
  options.threads = threads;
  MpmSolver solver(scene, options);
  const int n = solver.ParticleCount();
  // The substep the CFL condition would pick for speeds up to 3 m/s.
  const double dt = options.cfl * solver.CellSize() / (options.sound_speed_mps + 3.0);
  const int substeps = std::max(5, static_cast<int>(kParticleSubstepsPerRep / n));
  solver.StepFixed(std::max(5, substeps / 4), dt);  // warm-up: caches, pages, TBB workers
  std::vector<double> rates;
  const std::clock_t cpu_start = std::clock();  // CPU time of all of the process's threads
  const auto wall_start = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    solver.StepFixed(substeps, dt);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rates.push_back(static_cast<double>(substeps) * n / seconds);
  }
  const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  std::sort(rates.begin(), rates.end());
  return {rates[rates.size() / 2], rates.front(), rates.back(), cpu / wall};
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 7;
  int max_threads = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--max-threads" && i + 1 < argc) {
      max_threads = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: mpm_benchmark [--reps N] [--max-threads T]\n");
      return 2;
    }
  }
  std::printf("MPM benchmark: water block falling onto a tilted tool in a 1 m x 1 m box\n");
  std::printf("particle-substeps per second, median of %d repetitions after a warm-up "
              "(min..max in brackets); %u hardware threads\n\n",
              reps, std::thread::hardware_concurrency());
  std::printf("%9s %9s  %-30s  %-30s %8s\n", "particles", "spacing", "1 thread", "2 threads",
              "speedup");
  double single_at_2k = 0.0, speedup_at_40k = 0.0, fewest_cores = 2.0;
  for (int target : {2000, 10000, 40000}) {
    const Scene scene = BenchmarkScene(target);
    const Measurement one = Measure(scene, 1, reps);
    char one_text[64], two_text[64] = "-";
    std::snprintf(one_text, sizeof one_text, "%.3g [%.3g..%.3g]", one.median, one.min, one.max);
    double speedup = 0.0;
    if (max_threads >= 2) {
      const Measurement two = Measure(scene, 2, reps);
      std::snprintf(two_text, sizeof two_text, "%.3g [%.3g..%.3g]", two.median, two.min, two.max);
      speedup = two.median / one.median;
      fewest_cores = std::min(fewest_cores, two.cores);
    }
    std::printf("%9zu %9.5f  %-30s  %-30s %7.2fx\n", scene.fluid_positions.size(),
                scene.particle_spacing_m, one_text, two_text, speedup);
    if (target == 2000) single_at_2k = one.median;
    if (target == 40000) speedup_at_40k = speedup;
    std::fflush(stdout);
  }
  std::printf("\ngoal: >= %.1e particle-substeps/s on one core at ~2k particles: %.3g (%s)\n",
              kSingleCoreGoal, single_at_2k, single_at_2k >= kSingleCoreGoal ? "met" : "NOT met");
  if (max_threads >= 2) {
    std::printf("goal: 2-thread speedup >= %.1f at ~40k particles: %.2fx (%s)\n", kSpeedupGoal,
                speedup_at_40k, speedup_at_40k >= kSpeedupGoal ? "met" : "NOT met");
    // Idle TBB workers spin, so two threads on an idle machine use ~2 cores even where the
    // work does not scale; much less means other load took the second core.
    if (fewest_cores < 1.6) {
      std::printf("warning: a 2-thread run got only %.2f cores on average: other load on the "
                  "machine? The figures above are not reliable.\n", fewest_cores);
    }
  }
  return 0;
}
