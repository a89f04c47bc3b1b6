#include "simulator/data_generation/generate.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "simulator/data_generation/scene_sampler.h"
#include "simulator/ground_truth/mpm_solver.h"
#include "tasks/file_util.h"

namespace flowdesign::simulator::data {
namespace {

namespace fs = std::filesystem;

int SplitSize(const Recipe& r, size_t split) { return split == 0 ? r.train : split == 1 ? r.valid : r.test; }

}  // namespace

// A generator seed per (recipe seed, split, index), so trajectories are independent of order.
uint64_t TrajectorySeed(uint64_t seed, size_t split, int index) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + split * 0xBF58476D1CE4E5B9ull + static_cast<uint64_t>(index) + 1;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void GenerateData(const Recipe& recipe, const std::string& out_dir, const GenerateOptions& options) {
  fs::create_directories(out_dir);
  const std::string recipe_path = out_dir + "/recipe.json";
  const nlohmann::json recipe_json = RecipeToJson(recipe);
  if (fs::exists(recipe_path)) {
    // Fields added since the folder was made take their defaults, which reproduce older data.
    nlohmann::json existing = RecipeToJson(Recipe{});
    existing.merge_patch(nlohmann::json::parse(tasks::ReadFile(recipe_path)));
    if (existing != recipe_json) {
      throw std::invalid_argument(out_dir + ": holds data from a different recipe; use a new folder");
    }
  }
  tasks::WriteFileAtomically(recipe_path, recipe_json.dump(2) + "\n");

  struct Job {
    size_t split;
    int index;
  };
  std::vector<Job> jobs;
  for (size_t s = 0; s < kDataSplits.size(); ++s) {
    for (int i = 0; i < SplitSize(recipe, s); ++i) {
      // metadata.json is written last, so its presence marks a complete trajectory.
      if (!fs::exists(TrajectoryDirectory(out_dir, kDataSplits[s], i) + "/metadata.json")) jobs.push_back({s, i});
    }
  }
  std::atomic<int> done{0};
  std::mutex progress_mutex;
  tbb::task_arena arena(options.threads > 0 ? options.threads : tbb::task_arena::automatic);
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, jobs.size(), [&](size_t j) {
      std::mt19937_64 rng(TrajectorySeed(recipe.seed, jobs[j].split, jobs[j].index));
      const Scene scene = SampleScene(recipe, rng);
      MpmOptions mpm;
      mpm.threads = 1;  // parallel across trajectories instead
      mpm.physics = recipe.physics;
      const Trajectory trajectory = SimulateMpm(scene, mpm, {}, nullptr, recipe.record_mpm_state);
      SaveTrajectory(trajectory, TrajectoryDirectory(out_dir, kDataSplits[jobs[j].split], jobs[j].index));
      const int finished = ++done;
      if (options.progress) {
        std::lock_guard<std::mutex> lock(progress_mutex);
        options.progress(finished, static_cast<int>(jobs.size()));
      }
    });
  });

  std::vector<Trajectory> train;
  for (int i = 0; i < recipe.train; ++i) train.push_back(LoadTrajectory(TrajectoryDirectory(out_dir, "train", i)));
  tasks::WriteFileAtomically(out_dir + "/normalization.json",
                             learned::NormalizationToJson(ComputeNormalization(train)).dump(2) + "\n");
  nlohmann::json statistics = MotionStatistics(train, 2.5);
  tasks::WriteFileAtomically(out_dir + "/statistics.json", statistics.dump(2) + "\n");
}

learned::Normalization ComputeNormalization(const std::vector<Trajectory>& trajectories) {
  double sum_v[2] = {0, 0}, sum_v2[2] = {0, 0}, sum_a[2] = {0, 0}, sum_a2[2] = {0, 0};
  double count_v = 0, count_a = 0;
  for (const Trajectory& t : trajectories) {
    for (int f = 1; f < t.frame_count; ++f) {
      for (int i = 0; i < t.particle_count; ++i) {
        if (!t.Alive(f - 1, i)) continue;
        const Vec2 v = t.Position(f, i) - t.Position(f - 1, i);
        for (int d = 0; d < 2; ++d) {
          const double c = d == 0 ? v.x : v.y;
          sum_v[d] += c;
          sum_v2[d] += c * c;
        }
        count_v += 1;
        if (f + 1 < t.frame_count) {
          const Vec2 a = t.Position(f + 1, i) - 2.0 * t.Position(f, i) + t.Position(f - 1, i);
          for (int d = 0; d < 2; ++d) {
            const double c = d == 0 ? a.x : a.y;
            sum_a[d] += c;
            sum_a2[d] += c * c;
          }
          count_a += 1;
        }
      }
    }
  }
  learned::Normalization n;
  for (int d = 0; d < 2; ++d) {
    n.velocity_mean[d] = sum_v[d] / std::max(1.0, count_v);
    n.velocity_std[d] = std::sqrt(std::max(1e-20, sum_v2[d] / std::max(1.0, count_v) - n.velocity_mean[d] * n.velocity_mean[d]));
    n.acceleration_mean[d] = sum_a[d] / std::max(1.0, count_a);
    n.acceleration_std[d] = std::sqrt(std::max(1e-20, sum_a2[d] / std::max(1.0, count_a) - n.acceleration_mean[d] * n.acceleration_mean[d]));
  }
  return n;
}

nlohmann::json MotionStatistics(const std::vector<Trajectory>& trajectories, double radius_spacings) {
  std::vector<float> moves;
  long particles = 0;
  for (const Trajectory& t : trajectories) {
    particles += t.particle_count;
    for (int f = 1; f < t.frame_count; ++f) {
      for (int i = 0; i < t.particle_count; ++i) {
        if (t.Alive(f - 1, i)) moves.push_back(static_cast<float>(Norm(t.Position(f, i) - t.Position(f - 1, i)) / t.particle_spacing_m));
      }
    }
  }
  nlohmann::json out;
  out["trajectories"] = trajectories.size();
  out["mean_particles"] = trajectories.empty() ? 0.0 : static_cast<double>(particles) / trajectories.size();
  if (moves.empty()) return out;
  std::sort(moves.begin(), moves.end());
  auto quantile = [&](double q) { return moves[static_cast<size_t>(q * (moves.size() - 1))]; };
  out["displacement_per_frame_spacings"] = {{"median", quantile(0.5)}, {"p99", quantile(0.99)}, {"max", moves.back()}};
  const auto beyond = moves.end() - std::upper_bound(moves.begin(), moves.end(), static_cast<float>(radius_spacings));
  out["fraction_moving_more_than_radius"] = static_cast<double>(beyond) / moves.size();
  out["radius_spacings"] = radius_spacings;
  return out;
}

}  // namespace flowdesign::simulator::data
