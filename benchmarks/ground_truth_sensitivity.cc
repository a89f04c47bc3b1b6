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
// MPM carries state a learned simulator does not see: each particle's volume ratio J (its
// pressure) and affine velocity C. --one-step-forget WHAT restarts MPM from the reference's
// exact state at frames 5, 10, ... with part of that state replaced by what positions and
// velocities show of it, and prints the position error one frame later (as evaluate-model's
// one-step error): `volume` (J by its best fit on the local density within 2.2 spacings and its
// square, fitted against the true J of the frame), `volume-history` (the same fit with the
// velocity divergence of the last 5 frames added), `affine` (C by the least-squares gradient of
// the neighbours' velocities), `all` (volume-history and affine), `affine-zero` (C = 0) or `none`
// (0: checks the restarts are exact). --rollout-forget WHAT forgets after every frame and prints
// the drift as for the perturbations above.
//
// MPM is not translation invariant: it works on a grid fixed to the domain (a cell is 2 spacings),
// and a learned simulator sees only relative positions. --shift SPACINGS moves the fluid, the
// emitters and the solids (not the domain, hence not the grid) along x and prints how far that
// run, moved back, drifts from the reference: a shift of a whole cell (2) changes only the
// distances to the side walls, half a cell (1) also where everything sits on the grid.
// --shift-mean K averages, particle by particle, K - 1 runs shifted by k / K of a cell
// (k = 1 .. K - 1) and prints that mean's drift from the reference: roughly the best a model blind
// to the grid could do. --one-step-shift SPACINGS restarts MPM from the reference's exact state at
// frames 5, 10, ... with everything shifted so, and prints the position error one frame later
// (as --one-step-forget, over the frames whose fluid is away from the side walls): the part of one
// frame's step that a grid-blind model cannot know.
//
//   ground_truth_sensitivity [--recipe models/default/recipe.json] [--scenes 24] [--eps 0.01]...
//                            [--shift SPACINGS]... [--shift-mean K] [--one-step-shift SPACINGS]...
//                            [--kick SIGMA]... [--smooth-kick SIGMA]... [--one-step-forget WHAT]...
//                            [--rollout-forget WHAT]... [--bulk-viscosity M2/S] [--shear-viscosity M2/S]
//                            [--sound-speed M/S] [--soft-solids 0|1] [--per-scene FRAMES]
//
// --sound-speed sets MPM's (30 m/s otherwise, as the data); --shear-viscosity and --soft-solids 0|1
// replace the recipe's physics (GroundTruthPhysics); --per-scene FRAMES (25, 50, 100
// or 150) also prints every scene's drift after that many frames.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "simulator/data_generation/generate.h"
#include "simulator/data_generation/scene_sampler.h"
#include "simulator/ground_truth/mpm_solver.h"
#include "simulator/learned/radius_graph.h"
#include "simulator/training/evaluation.h"

namespace {

using namespace flowdesign;
using namespace flowdesign::simulator;
using training::Median;

constexpr size_t kTestSplit = 2;
constexpr double kFitRadiusSpacings = 2.2;  // the default network's connectivity radius
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

// MPM of `scene` with `after_frame` applied after every frame; the drift from `reference` at
// each horizon.
std::vector<double> PerturbedDrift(const Scene& scene, const MpmOptions& mpm, const Trajectory& reference,
                                   const std::function<void(MpmSolver&)>& after_frame) {
  MpmSolver solver(scene, mpm);
  std::vector<double> drift;
  for (int frame = 1; frame <= scene.frames; ++frame) {
    solver.StepFrame();
    after_frame(solver);
    for (int h : kHorizons) {
      if (std::min(h, scene.frames) == frame) drift.push_back(MeanDrift(reference, frame, [&](int i) { return solver.Position(i); }));
    }
  }
  return drift;
}

// Calls visit(i, j, w) for every pair of particles closer than `radius` (i == j included), with
// the weight w = (1 - r^2 / radius^2)^2; the pairs come from the learned simulator's cell list.
template <typename Visit>
void ForEachNeighbour(const MpmSolver& solver, double radius, Visit visit) {
  const int n = solver.ParticleCount();
  std::vector<float> xy(2 * static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    xy[2 * i] = static_cast<float>(solver.Position(i).x);
    xy[2 * i + 1] = static_cast<float>(solver.Position(i).y);
  }
  for (int i = 0; i < n; ++i) visit(i, i, 1.0);
  const learned::EdgeList edges = learned::RadiusGraph(xy.data(), n, std::vector<uint8_t>(n, 1), radius);
  for (size_t e = 0; e < edges.senders.size(); ++e) {
    const int i = static_cast<int>(edges.receivers[e]), j = static_cast<int>(edges.senders[e]);
    const Vec2 d = solver.Position(j) - solver.Position(i);
    const double q = (d.x * d.x + d.y * d.y) / (radius * radius);
    visit(i, j, (1.0 - q) * (1.0 - q));
  }
}

// Each particle's local number density from the positions alone.
std::vector<double> LocalDensity(const MpmSolver& solver, double radius) {
  std::vector<double> density(solver.ParticleCount(), 0.0);
  ForEachNeighbour(solver, radius, [&](int i, int, double w) { density[i] += w; });
  return density;
}

// Each particle's weighted least-squares gradient of its neighbours' velocities (row a: the
// gradient of velocity component a); zero where too few neighbours span the plane.
std::vector<Eigen::Matrix2d> VelocityGradients(const MpmSolver& solver, double radius) {
  const int n = solver.ParticleCount();
  std::vector<Eigen::Matrix2d> moment(n, Eigen::Matrix2d::Zero()), cross(n, Eigen::Matrix2d::Zero());
  ForEachNeighbour(solver, radius, [&](int i, int j, double w) {
    const Vec2 dx = solver.Position(j) - solver.Position(i), dv = solver.Velocity(j) - solver.Velocity(i);
    const Eigen::Vector2d x(dx.x, dx.y), v(dv.x, dv.y);
    moment[i] += w * x * x.transpose();
    cross[i] += w * v * x.transpose();
  });
  std::vector<Eigen::Matrix2d> gradients(n, Eigen::Matrix2d::Zero());
  for (int i = 0; i < n; ++i) {
    if (moment[i].determinant() > 1e-3 * std::pow(radius, 4)) gradients[i] = cross[i] * moment[i].inverse();
  }
  return gradients;
}

// Replaces every particle's affine velocity C (APIC's, the velocity gradient it carries) by the
// gradient of its neighbours' velocities: what a network that reads the velocities around a
// particle can know of C.
void AffineFromVelocities(MpmSolver& solver, double radius) {
  const std::vector<Eigen::Matrix2d> gradients = VelocityGradients(solver, radius);
  for (int i = 0; i < solver.ParticleCount(); ++i) {
    const Eigen::Matrix2d& c = gradients[i];
    solver.SetAffine(i, static_cast<float>(c(0, 0)), static_cast<float>(c(0, 1)), static_cast<float>(c(1, 0)),
                     static_cast<float>(c(1, 1)));
  }
}

// Replaces every particle's volume ratio J (MPM's hidden pressure state) by its least-squares
// fit on a constant and the given per-particle feature columns, fitted against the true J of this
// frame (an oracle fit: the most a linear reading of those features could know), clamped to the
// frame's range of J (a fit can run wild at spray's odd features). Returns the fraction of J's
// variance the fit explains, or -1 when J does not vary.
double VolumeFromFeatures(MpmSolver& solver, const std::vector<std::vector<double>>& columns) {
  const int n = solver.ParticleCount(), k = static_cast<int>(columns.size()) + 1;
  Eigen::MatrixXd features(n, k);
  Eigen::VectorXd j(n);
  for (int i = 0; i < n; ++i) {
    features(i, 0) = 1.0;
    for (int c = 1; c < k; ++c) features(i, c) = columns[c - 1][i];
    j[i] = solver.VolumeRatio(i);
  }
  const Eigen::VectorXd coefficients = (features.transpose() * features).ldlt().solve(features.transpose() * j);
  const Eigen::VectorXd fit = (features * coefficients).cwiseMax(j.minCoeff()).cwiseMin(j.maxCoeff());
  for (int i = 0; i < n; ++i) solver.SetVolumeRatio(i, static_cast<float>(fit[i]));
  const double total = (j.array() - j.mean()).square().sum();
  // J the same everywhere (before any motion): nothing to explain.
  return total > 1e-12 * n ? 1.0 - (j - fit).squaredNorm() / total : -1.0;
}

// The local density within `radius` and its square, as feature columns for a fit of J.
std::vector<std::vector<double>> DensityColumns(const MpmSolver& solver, double radius) {
  std::vector<double> density = LocalDensity(solver, radius), squared = density;
  for (double& d : squared) d *= d;
  return {density, squared};
}

// The divergence of the velocity field at each particle over the last frames (newest first),
// as a network reading a history of velocities could see it; particles born later read 0.
struct DivergenceHistory {
  static constexpr int kFrames = 5;
  std::vector<std::vector<double>> frames;
  void Record(const MpmSolver& solver, double radius) {
    const std::vector<Eigen::Matrix2d> gradients = VelocityGradients(solver, radius);
    std::vector<double> divergence(gradients.size());
    for (size_t i = 0; i < gradients.size(); ++i) divergence[i] = gradients[i].trace();
    frames.insert(frames.begin(), divergence);
    if (static_cast<int>(frames.size()) > kFrames) frames.pop_back();
  }
  // The density columns and the recorded divergences, as feature columns for a fit of J.
  std::vector<std::vector<double>> Columns(const MpmSolver& solver, double radius) const {
    std::vector<std::vector<double>> columns = DensityColumns(solver, radius);
    for (const std::vector<double>& f : frames) {
      std::vector<double> column(solver.ParticleCount(), 0.0);
      std::copy(f.begin(), f.end(), column.begin());
      columns.push_back(column);
    }
    return columns;
  }
};

// What MPM forgets of its hidden state (--one-step-forget, --rollout-forget), and how well the
// fits of J explained it (mean over frames).
struct Forgetting {
  std::string what;  // none, volume, volume-history, affine, affine-zero or all
  double explained = 0.0;
  int fits = 0;

  bool NeedsHistory() const { return what == "volume-history" || what == "all"; }
  static bool Known(const std::string& what) {
    return what == "none" || what == "volume" || what == "volume-history" || what == "affine" || what == "affine-zero" ||
           what == "all";
  }
  // Applies it to `solver` at a frame boundary; `history` holds the last frames' divergences.
  void Apply(MpmSolver& solver, const DivergenceHistory& history, double radius) {
    double r2 = -1.0;
    if (what == "volume") r2 = VolumeFromFeatures(solver, DensityColumns(solver, radius));
    if (what == "volume-history" || what == "all") r2 = VolumeFromFeatures(solver, history.Columns(solver, radius));
    if (r2 >= 0.0) explained += r2, ++fits;
    if (what == "affine" || what == "all") AffineFromVelocities(solver, radius);
    if (what == "affine-zero") {
      for (int p = 0; p < solver.ParticleCount(); ++p) solver.SetAffine(p, 0.0f, 0.0f, 0.0f, 0.0f);
    }
  }
  std::string Explained() const {
    return fits ? "; J's variance explained " + std::to_string(explained / fits).substr(0, 5) : "";
  }
};

// The one-frame error of forgetting MPM's hidden state: from the reference's exact state at
// frames 5, 10, ..., one frame simulated after `forgetting` changed the hidden state, against the
// reference's next frame (what evaluate-model's one-step position error measures for a network:
// rms per axis over particles and frames, and of the fluid's mean error per frame, in spacings).
struct OneStepError {
  double squared = 0.0, squared_shared = 0.0, components = 0.0;
  void Add(const MpmSolver& solver, const Trajectory& reference, int frame) {
    Add(solver.ParticleCount(), [&](int i) { return solver.Position(i); }, reference, frame);
  }
  // Particles 0 .. alive - 1 at position_of(i) against the reference's `frame`.
  template <typename PositionOf>
  void Add(int alive, PositionOf position_of, const Trajectory& reference, int frame) {
    Vec2 mean{0.0, 0.0};
    for (int i = 0; i < alive; ++i) {
      const Vec2 d = (1.0 / reference.particle_spacing_m) * (position_of(i) - reference.Position(frame, i));
      squared += d.x * d.x + d.y * d.y;
      mean = mean + (1.0 / alive) * d;
    }
    squared_shared += alive * (mean.x * mean.x + mean.y * mean.y);
    components += 2.0 * alive;
  }
  double Rms() const { return std::sqrt(squared / std::max(1.0, components)); }
  double SharedRms() const { return std::sqrt(squared_shared / std::max(1.0, components)); }
};

void AddOneStepErrors(const Scene& scene, const MpmOptions& mpm, const Trajectory& reference, Forgetting& forgetting,
                      OneStepError& error) {
  const double radius = kFitRadiusSpacings * scene.particle_spacing_m;
  for (int frame = 5; frame + 1 <= scene.frames; frame += 5) {
    MpmSolver solver(scene, mpm);
    DivergenceHistory history;
    for (int f = 0; f < frame; ++f) {
      solver.StepFrame();
      if (forgetting.NeedsHistory() && f + DivergenceHistory::kFrames >= frame) history.Record(solver, radius);
    }
    if (solver.ParticleCount() == 0) continue;
    forgetting.Apply(solver, history, radius);
    solver.StepFrame();
    error.Add(solver, reference, frame + 1);
  }
}

// How far `run`'s particles, moved back by `offset`, are from `reference`'s after each horizon.
void AddDrifts(const Trajectory& reference, const Trajectory& run, Vec2 offset, std::vector<std::vector<double>>& drift) {
  for (size_t h = 0; h < kHorizons.size(); ++h) {
    const int frame = std::min(kHorizons[h], run.frame_count - 1);
    drift[h].push_back(MeanDrift(reference, frame, [&](int i) { return run.Position(frame, i) - offset; }));
  }
}

// MPM restarted from `reference`'s exact state (recorded) at frames 5, 10, ... with the scene and
// its particles shifted by d, one frame on, shifted back, against the reference's next frame:
// what a frame's step owes to where the scene sits on the grid. Only frames whose fluid is all
// farther than two cells and the shift from the side walls count: the walls do not move, so fluid
// near them would be pushed into or away from them (and its pressure felt far within a frame).
// Returns the number of frames counted.
int AddShiftedOneStepErrors(const Scene& scene, const MpmOptions& mpm, const Trajectory& reference, Vec2 d,
                            OneStepError& error) {
  int counted = 0;
  const Scene shifted = TranslatedContents(scene, d);
  const double margin = 2.0 * mpm.cell_size_in_spacings * scene.particle_spacing_m + std::abs(d.x);
  for (int frame = 5; frame + 1 <= scene.frames; frame += 5) {
    std::vector<Vec2> positions = reference.AlivePositions(frame);  // births come in order: a prefix
    const int alive = static_cast<int>(positions.size());
    const bool near_wall = std::any_of(positions.begin(), positions.end(), [&](Vec2 p) {
      return p.x - scene.domain.min.x < margin || scene.domain.max.x - p.x < margin;
    });
    if (alive == 0 || near_wall) continue;
    for (Vec2& p : positions) p = p + d;
    const auto first = reference.mpm_state.begin() + static_cast<int64_t>(frame) * reference.particle_count * kMpmStateWidth;
    const std::vector<float> states(first, first + static_cast<int64_t>(alive) * kMpmStateWidth);
    const std::vector<Vec2> next = SimulateFrom(shifted, mpm, positions, states, 1).front();
    error.Add(alive, [&](int i) { return next[i] - d; }, reference, frame + 1);
    ++counted;
  }
  return counted;
}

// With per_scene_frames > 0, also each scene's drift after that many frames (one of kHorizons),
// to compare scene by scene with evaluate-model's trajectory_errors_spacings.
void PrintRow(const char* label, double value, const std::vector<std::vector<double>>& drift, int per_scene_frames) {
  std::printf("%-12s %6g  %8s", label, value, "mean");
  for (const auto& d : drift) std::printf("  %13.2f", Mean(d));
  std::printf("\n%-12s %6g  %8s", label, value, "median");
  for (const auto& d : drift) std::printf("  %13.2f", Median(d));
  std::printf("\n");
  for (size_t h = 0; h < kHorizons.size() && h < drift.size(); ++h) {
    if (kHorizons[h] != per_scene_frames) continue;
    std::printf("%-12s %6g  %8s", label, value, "scenes");
    for (double d : drift[h]) std::printf(" %.2f", d);
    std::printf("  (after %d frames)\n", per_scene_frames);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string recipe_path = "models/default/recipe.json";
  int scenes = 24;
  int per_scene_frames = 0;
  int shift_mean_runs = 0;
  std::vector<double> eps_values, kick_values, smooth_kick_values, shift_values, one_step_shifts;
  std::vector<std::string> one_step_forget, rollout_forget;
  MpmOptions mpm;
  std::optional<double> shear_viscosity;  // the recipe's physics unless given
  std::optional<bool> soft_solids;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--recipe") recipe_path = argv[i + 1];
    else if (flag == "--scenes") scenes = std::atoi(argv[i + 1]);
    else if (flag == "--eps") eps_values.push_back(std::atof(argv[i + 1]));
    else if (flag == "--shift") shift_values.push_back(std::atof(argv[i + 1]));
    else if (flag == "--shift-mean") shift_mean_runs = std::atoi(argv[i + 1]);
    else if (flag == "--one-step-shift") one_step_shifts.push_back(std::atof(argv[i + 1]));
    else if (flag == "--kick") kick_values.push_back(std::atof(argv[i + 1]));
    else if (flag == "--smooth-kick") smooth_kick_values.push_back(std::atof(argv[i + 1]));
    else if (flag == "--one-step-forget") one_step_forget.push_back(argv[i + 1]);
    else if (flag == "--rollout-forget") rollout_forget.push_back(argv[i + 1]);
    else if (flag == "--bulk-viscosity") mpm.bulk_viscosity_m2ps = std::atof(argv[i + 1]);
    else if (flag == "--shear-viscosity") shear_viscosity = std::atof(argv[i + 1]);
    else if (flag == "--sound-speed") mpm.sound_speed_mps = std::atof(argv[i + 1]);
    else if (flag == "--soft-solids") soft_solids = std::atoi(argv[i + 1]) != 0;
    else if (flag == "--per-scene") per_scene_frames = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr,
                   "usage: %s [--recipe FILE] [--scenes N] [--eps SPACINGS]... [--shift SPACINGS]... [--shift-mean K]\n"
                   "       [--one-step-shift SPACINGS]... [--kick SIGMA]... [--smooth-kick SIGMA]...\n"
                   "       [--one-step-forget WHAT]... [--rollout-forget WHAT]... [--bulk-viscosity M2/S]\n"
                   "       [--shear-viscosity M2/S] [--sound-speed M/S] [--soft-solids 0|1] [--per-scene FRAMES]\n",
                   argv[0]);
      return 2;
    }
  }
  if (per_scene_frames != 0 && std::find(kHorizons.begin(), kHorizons.end(), per_scene_frames) == kHorizons.end()) {
    std::fprintf(stderr, "%s: --per-scene takes 25, 50, 100 or 150 frames, not %d\n", argv[0], per_scene_frames);
    return 2;
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "%s: %s needs a value\n", argv[0], argv[argc - 1]);
    return 2;
  }
  if (shift_mean_runs == 1 || shift_mean_runs < 0) {
    std::fprintf(stderr, "%s: --shift-mean takes K >= 2 runs, not %d\n", argv[0], shift_mean_runs);
    return 2;
  }
  if (eps_values.empty() && kick_values.empty() && smooth_kick_values.empty() && shift_values.empty() &&
      shift_mean_runs == 0 && one_step_shifts.empty() && one_step_forget.empty() && rollout_forget.empty()) {
    eps_values = {0.001, 0.01, 0.1};
  }
  for (const auto* list : {&one_step_forget, &rollout_forget}) {
    for (const std::string& what : *list) {
      if (!Forgetting::Known(what)) {
        std::fprintf(stderr, "%s: forget none, volume, volume-history, affine, affine-zero or all, not %s\n", argv[0],
                     what.c_str());
        return 2;
      }
    }
  }
  const data::Recipe recipe = data::LoadRecipe(recipe_path);
  mpm.physics = recipe.physics;
  if (shear_viscosity) mpm.physics.shear_viscosity_m2ps = *shear_viscosity;
  if (soft_solids) mpm.physics.soft_solid_boundary = *soft_solids;
  scenes = std::min(scenes, recipe.test);

  std::vector<Scene> scene_list;
  std::vector<Trajectory> reference;
  for (int s = 0; s < scenes; ++s) {
    std::mt19937_64 rng(data::TrajectorySeed(recipe.seed, kTestSplit, s));
    scene_list.push_back(data::SampleScene(recipe, rng));
    // --one-step-shift restarts from the reference's recorded state.
    reference.push_back(SimulateMpm(scene_list.back(), mpm, {}, nullptr, /*record_state=*/!one_step_shifts.empty()));
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
      AddDrifts(reference[s], SimulateMpm(moved, mpm), {0.0, 0.0}, drift);
    }
    PrintRow("EPS", eps, drift, per_scene_frames);
  }
  // The whole scene but the domain moved along x: MPM's grid (and the domain walls) stay where
  // they are, so the fluid and solids sit elsewhere on it. A learned simulator sees only relative
  // positions (and the walls' distances): what a shift of half a cell (one spacing) changes, a
  // whole cell (two spacings) does not, is the grid's hand in the ground truth.
  for (double shift : shift_values) {
    std::vector<std::vector<double>> drift(kHorizons.size());
    for (int s = 0; s < scenes; ++s) {
      const Vec2 d{shift * scene_list[s].particle_spacing_m, 0.0};
      AddDrifts(reference[s], SimulateMpm(TranslatedContents(scene_list[s], d), mpm), d, drift);
    }
    PrintRow("shift", shift, drift, per_scene_frames);
  }
  // The best a model blind to the grid could do, roughly: the mean of K - 1 runs shifted by k / K
  // of a cell (k = 1 .. K - 1), particle by particle, against the unshifted run.
  if (shift_mean_runs > 1) {
    std::vector<std::vector<double>> drift(kHorizons.size());
    for (int s = 0; s < scenes; ++s) {
      std::vector<Trajectory> runs;
      std::vector<Vec2> shifts;
      const double cell = mpm.cell_size_in_spacings * scene_list[s].particle_spacing_m;
      for (int k = 1; k < shift_mean_runs; ++k) {
        shifts.push_back({cell * k / shift_mean_runs, 0.0});
        runs.push_back(SimulateMpm(TranslatedContents(scene_list[s], shifts.back()), mpm));
      }
      for (size_t h = 0; h < kHorizons.size(); ++h) {
        const int frame = std::min(kHorizons[h], reference[s].frame_count - 1);
        drift[h].push_back(MeanDrift(reference[s], frame, [&](int i) {
          Vec2 sum{0.0, 0.0};
          for (size_t k = 0; k < runs.size(); ++k) sum = sum + (runs[k].Position(frame, i) - shifts[k]);
          return (1.0 / runs.size()) * sum;
        }));
      }
    }
    PrintRow("shift mean", shift_mean_runs, drift, per_scene_frames);
  }
  for (const auto& [smooth, values] : {std::pair{false, kick_values}, std::pair{true, smooth_kick_values}}) {
    for (double sigma : values) {
      std::vector<std::vector<double>> drift(kHorizons.size());
      std::mt19937_64 rng(11);
      for (int s = 0; s < scenes; ++s) {
        Kicks kicks;
        kicks.smooth = smooth;
        kicks.sigma = sigma;
        const double to_velocity = scene_list[s].particle_spacing_m / scene_list[s].frame_dt_s;
        const std::vector<double> d = PerturbedDrift(scene_list[s], mpm, reference[s], [&](MpmSolver& solver) {
          kicks.NewFrame(rng, scene_list[s].particle_spacing_m);
          for (int p = 0; p < solver.ParticleCount(); ++p) solver.AddVelocity(p, to_velocity * kicks.At(solver.Position(p), rng));
        });
        for (size_t h = 0; h < d.size(); ++h) drift[h].push_back(d[h]);
      }
      PrintRow(smooth ? "smooth kick" : "white kick", sigma, drift, per_scene_frames);
    }
  }
  for (const std::string& what : rollout_forget) {
    std::vector<std::vector<double>> drift(kHorizons.size());
    Forgetting forgetting{what};
    int unstable = 0;
    for (int s = 0; s < scenes; ++s) {
      const double radius = kFitRadiusSpacings * scene_list[s].particle_spacing_m;
      DivergenceHistory history;
      try {
        const std::vector<double> d = PerturbedDrift(scene_list[s], mpm, reference[s], [&](MpmSolver& solver) {
          if (forgetting.NeedsHistory()) history.Record(solver, radius);
          forgetting.Apply(solver, history, radius);
        });
        for (size_t h = 0; h < d.size(); ++h) drift[h].push_back(d[h]);
      } catch (const std::runtime_error& e) {
        // Without its pressure history the fluid can compress past J = 0 in one frame.
        ++unstable;
      }
    }
    std::printf("forgetting %s after every frame%s; %d of %d scenes went unstable (left out below)\n", what.c_str(),
                forgetting.Explained().c_str(), unstable, scenes);
    PrintRow("forgetting", 0, drift, per_scene_frames);
  }
  for (double shift : one_step_shifts) {
    OneStepError error;
    int frames = 0, candidates = 0;
    for (int s = 0; s < scenes; ++s) {
      frames += AddShiftedOneStepErrors(scene_list[s], mpm, reference[s], {shift * scene_list[s].particle_spacing_m, 0.0},
                                        error);
      candidates += (scene_list[s].frames - 1) / 5;
    }
    std::printf("one frame on a grid shifted by %g spacings: position error %.4f spacings rms per axis, shared by the "
                "whole fluid %.4f (%d of %d restarts: fluid away from the side walls)\n",
                shift, error.Rms(), error.SharedRms(), frames, candidates);
  }
  for (const std::string& what : one_step_forget) {
    OneStepError error;
    Forgetting forgetting{what};
    for (int s = 0; s < scenes; ++s) AddOneStepErrors(scene_list[s], mpm, reference[s], forgetting, error);
    std::printf("one frame after forgetting %-14s position error %.4f spacings rms per axis, shared by the whole fluid %.4f%s\n",
                what.c_str(), error.Rms(), error.SharedRms(), forgetting.Explained().c_str());
  }
  return 0;
}
