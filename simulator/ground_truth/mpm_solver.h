// Ground truth: 2D moving-least-squares MPM (Hu et al. 2018) for weakly compressible water.
// APIC/MLS transfers with quadratic B-splines; pressure from the volume ratio J; solids (walls,
// tools) and domain walls act on the grid through their signed distance (slip, separating), and
// particles are projected out of solids after every substep. Substeps per frame follow a CFL
// condition. Parallel with TBB and bit-identical for any thread count.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "simulator/ground_truth/solid_field.h"
#include "simulator/ground_truth_physics.h"
#include "simulator/ground_truth_step.h"
#include "simulator/scene.h"
#include "simulator/trajectory.h"

namespace flowdesign::simulator {

struct MpmOptions {
  double sound_speed_mps = 30.0;      // sets the bulk modulus; >= 10x the flow speed keeps J ~ 1
  // Kinematic bulk viscosity (m^2/s): pressure also resists the rate of compression, which damps
  // the water hammer that a weakly compressible fluid rings with after an impact (real water,
  // 50x stiffer, settles at once). 0 = none.
  double bulk_viscosity_m2ps = 0.0;
  GroundTruthPhysics physics;         // shear viscosity, solid boundary
  double cfl = 0.5;                   // substep <= cfl * cell / (sound speed + max speed)
  double cell_size_in_spacings = 2.0; // grid cell = 2 particle spacings: 4 particles per cell
  int threads = 0;                    // 0 = all cores
};

struct MpmStats {
  long substeps = 0;
  long particle_substeps = 0;
};

class MpmSolver {
 public:
  MpmSolver(const Scene& scene, const MpmOptions& options);
  ~MpmSolver();

  // Advances one frame (several substeps), then adds the particles emitted during it.
  // Throws std::runtime_error if a particle position becomes non-finite.
  void StepFrame();
  // Runs `substeps` substeps of size dt_s without emission (benchmarks, tests).
  void StepFixed(int substeps, double dt_s);

  int Frame() const { return frame_; }
  int ParticleCount() const { return static_cast<int>(px_.size()); }
  Vec2 Position(int i) const { return {px_[i], py_[i]}; }
  Vec2 Velocity(int i) const { return {vx_[i], vy_[i]}; }
  // Adds dv to particle i's velocity between frames (sensitivity studies: model-like errors).
  void AddVelocity(int i, Vec2 dv) {
    vx_[i] += static_cast<float>(dv.x);
    vy_[i] += static_cast<float>(dv.y);
  }
  float VolumeRatio(int i) const { return J_[i]; }
  // Sets particle i's volume ratio between frames (sensitivity studies: how much MPM's hidden
  // pressure state matters).
  void SetVolumeRatio(int i, float j) { J_[i] = j; }
  // Sets particle i's affine velocity (APIC's C, row-major) between frames (sensitivity studies).
  void SetAffine(int i, float c00, float c01, float c10, float c11) {
    c00_[i] = c00;
    c01_[i] = c01;
    c10_[i] = c10;
    c11_[i] = c11;
  }
  // Particle i's state (kMpmStateWidth floats, see trajectory.h) into `out`.
  void State(int i, float* out) const;
  // Sets particle i's velocity, J and C from a recorded state between frames.
  void SetState(int i, const float* state);
  const MpmStats& Stats() const { return stats_; }
  double CellSize() const { return dx_; }

 private:
  void AddParticle(Vec2 position, Vec2 velocity);
  void Substep(float dt);
  void BucketByStripe();
  void ParticleToGrid(float dt);
  void UpdateGrid(float dt);
  float GridToParticle(float dt);  // returns the max particle speed
  void PrecomputeNodeBoundaries();
  void ProjectParticle(int p);
  int SubstepsForFrame() const;

  Scene scene_;
  MpmOptions options_;
  SolidField solids_;
  struct Arena;
  std::unique_ptr<Arena> arena_;

  // Grid: nodes (i, j) at origin + (i, j) * dx, stored column-major (index i * ny + j) so that
  // a stripe of columns is contiguous.
  double dx_ = 0.0;
  float inv_dx_ = 0.0f;
  float origin_x_ = 0.0f, origin_y_ = 0.0f;
  int nx_ = 0, ny_ = 0;
  // (momentum x, momentum y, mass, unused) during P2G; (velocity x, velocity y, mass, unused) after.
  using Node = Eigen::Array4f;
  std::vector<Node> grid_;
  // Per node: boundary normal for solids (0, 0 where none).
  std::vector<float> node_normal_x_, node_normal_y_;
  std::vector<float> node_solid_weight_;  // how much of the solid's boundary condition a node takes
  std::vector<unsigned char> cell_near_solid_;
  // Per node: which domain walls it lies on or beyond (bit set of kWall*).
  enum : unsigned char { kWallLeft = 1, kWallRight = 2, kWallBottom = 4, kWallTop = 8 };
  std::vector<unsigned char> node_walls_;  // indexed like nodes, by the cell's lower corner
  float clamp_lo_x_ = 0, clamp_hi_x_ = 0, clamp_lo_y_ = 0, clamp_hi_y_ = 0;

  // Particles (SoA).
  std::vector<float> px_, py_, vx_, vy_, c00_, c01_, c10_, c11_, J_;
  float particle_volume_ = 0.0f;
  float particle_mass_ = 0.0f;
  float bulk_modulus_ = 0.0f;
  float viscosity_over_modulus_ = 0.0f;  // bulk viscosity / bulk modulus (s)
  float shear_over_modulus_ = 0.0f;      // shear viscosity / bulk modulus (s)

  // P2G scheduling: particles bucketed by stripe of kStripeWidth grid columns.
  static constexpr int kStripeWidth = 2;
  int stripes_ = 0;
  std::vector<int> stripe_;  // per particle, updated whenever it moves
  std::vector<int> stripe_start_, stripe_particles_, stripe_cursor_;
  std::pair<int, int> active_columns_{0, -1};  // node columns the current substep touches

  float max_speed_ = 0.0f;
  int frame_ = 0;
  std::atomic<int> non_finite_particle_{-1};  // set by any substep that meets a non-finite position
  MpmStats stats_;
};

// Called after every frame with the frame number and the particles alive.
using FrameProgress = std::function<void(int frame, int particles)>;

// Simulates all frames of the scene and returns the trajectory (frames + 1 frames); `stats`
// (optional) receives the substep counts. With record_state the trajectory's mpm_state holds
// every particle's state at every frame.
Trajectory SimulateMpm(const Scene& scene, const MpmOptions& options, const FrameProgress& progress = {},
                       MpmStats* stats = nullptr, bool record_state = false);

// `frames` frames of MPM from a state that need not be one MPM reached itself (e.g. a learned
// rollout's): the scene's solids, domain and frame step with the given particle positions and
// states (kMpmStateWidth floats each), no emitters. Returns the positions after each frame.
std::vector<std::vector<Vec2>> SimulateFrom(const Scene& scene, const MpmOptions& options,
                                            const std::vector<Vec2>& positions, const std::vector<float>& states,
                                            int frames);
// SimulateFrom with MPM's default options but the shear viscosity, on one thread (training
// builds examples in parallel): the ground truth that `generate` simulates.
GroundTruthRun MpmGroundTruthRun();

}  // namespace flowdesign::simulator
