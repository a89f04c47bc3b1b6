#include "simulator/ground_truth/mpm_solver.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>
#include <tbb/task_arena.h>

namespace flowdesign::simulator {
namespace {

constexpr int kPaddingCells = 3;  // grid nodes beyond the domain, so stencils stay inside
constexpr float kDensity = 1.0f;  // arbitrary: only the ratio pressure / density matters

// Quadratic B-spline weights for fractional position fx in [0.5, 1.5).
inline void Weights(float fx, float w[3]) {
  w[0] = 0.5f * (1.5f - fx) * (1.5f - fx);
  w[1] = 0.75f - (fx - 1.0f) * (fx - 1.0f);
  w[2] = 0.5f * (fx - 0.5f) * (fx - 0.5f);
}

// Lowest node of a particle's 3-node stencil along one axis. P2G and the stripe bucketing must
// agree on it exactly, so both call this.
inline int BaseCell(float x, float origin, float inv_dx) {
  return static_cast<int>((x - origin) * inv_dx - 0.5f);
}

// A particle's 3 x 3 node stencil: its lowest node, its offset from it in cells, and the
// quadratic B-spline weights along each axis. P2G and G2P both use it.
struct Stencil {
  int bx, by;
  float fx, fy;
  float wx[3], wy[3];
};

inline Stencil StencilAt(float x, float y, float origin_x, float origin_y, float inv_dx) {
  Stencil s;
  s.bx = BaseCell(x, origin_x, inv_dx);
  s.by = BaseCell(y, origin_y, inv_dx);
  s.fx = (x - origin_x) * inv_dx - s.bx;
  s.fy = (y - origin_y) * inv_dx - s.by;
  Weights(s.fx, s.wx);
  Weights(s.fy, s.wy);
  return s;
}

}  // namespace

struct MpmSolver::Arena {
  explicit Arena(int threads)
      : arena(threads > 0 ? threads : tbb::task_arena::automatic) {}
  tbb::task_arena arena;
};

MpmSolver::MpmSolver(const Scene& scene, const MpmOptions& options)
    : scene_(scene),
      options_(options),
      solids_(scene.solids, scene.domain,
              options.cell_size_in_spacings * scene.particle_spacing_m,
              options.cell_size_in_spacings * scene.particle_spacing_m),
      arena_(std::make_unique<Arena>(options.threads)) {
  for (const auto& [name, value] : {std::pair<const char*, double>{"bulk", options.bulk_viscosity_m2ps},
                                     {"shear", options.physics.shear_viscosity_m2ps}}) {
    if (!(value >= 0.0 && std::isfinite(value))) {
      throw std::invalid_argument(std::string("MPM: ") + name + " viscosity must be finite and >= 0 m^2/s, got " +
                                  std::to_string(value));
    }
  }
  if (!(options.sound_speed_mps > 0.0 && std::isfinite(options.sound_speed_mps))) {
    throw std::invalid_argument("MPM: sound speed must be finite and > 0 m/s, got " +
                                std::to_string(options.sound_speed_mps));
  }
  dx_ = options.cell_size_in_spacings * scene.particle_spacing_m;
  inv_dx_ = static_cast<float>(1.0 / dx_);
  origin_x_ = static_cast<float>(scene.domain.min.x - kPaddingCells * dx_);
  origin_y_ = static_cast<float>(scene.domain.min.y - kPaddingCells * dx_);
  nx_ = static_cast<int>(std::ceil(scene.domain.Width() / dx_)) + 2 * kPaddingCells + 1;
  ny_ = static_cast<int>(std::ceil(scene.domain.Height() / dx_)) + 2 * kPaddingCells + 1;
  grid_.assign(static_cast<size_t>(nx_) * ny_, Node::Zero());
  stripes_ = (nx_ + kStripeWidth - 1) / kStripeWidth;
  const double spacing = scene.particle_spacing_m;
  particle_volume_ = static_cast<float>(spacing * spacing);
  particle_mass_ = particle_volume_ * kDensity;
  bulk_modulus_ = static_cast<float>(kDensity * options.sound_speed_mps * options.sound_speed_mps);
  viscosity_over_modulus_ = static_cast<float>(options.bulk_viscosity_m2ps /
                                               (options.sound_speed_mps * options.sound_speed_mps));
  shear_over_modulus_ = static_cast<float>(options.physics.shear_viscosity_m2ps /
                                           (options.sound_speed_mps * options.sound_speed_mps));
  const double eps = 1e-3 * dx_;
  clamp_lo_x_ = static_cast<float>(scene.domain.min.x + eps);
  clamp_hi_x_ = static_cast<float>(scene.domain.max.x - eps);
  clamp_lo_y_ = static_cast<float>(scene.domain.min.y + eps);
  clamp_hi_y_ = static_cast<float>(scene.domain.max.y - eps);
  PrecomputeNodeBoundaries();
  for (size_t i = 0; i < scene.fluid_positions.size(); ++i) {
    AddParticle(scene.fluid_positions[i], scene.fluid_velocities[i]);
  }
}

MpmSolver::~MpmSolver() = default;

void MpmSolver::AddParticle(Vec2 position, Vec2 velocity) {
  px_.push_back(static_cast<float>(position.x));
  py_.push_back(static_cast<float>(position.y));
  vx_.push_back(static_cast<float>(velocity.x));
  vy_.push_back(static_cast<float>(velocity.y));
  for (auto* c : {&c00_, &c01_, &c10_, &c11_}) c->push_back(0.0f);
  J_.push_back(1.0f);
  stripe_.push_back(0);
  ProjectParticle(static_cast<int>(px_.size()) - 1);
  max_speed_ = std::max(max_speed_, std::hypot(vx_.back(), vy_.back()));
}

void MpmSolver::State(int i, float* out) const {
  const float state[kMpmStateWidth] = {vx_[i], vy_[i], J_[i], c00_[i], c01_[i], c10_[i], c11_[i]};
  std::copy(state, state + kMpmStateWidth, out);
}

void MpmSolver::SetState(int i, const float* state) {
  vx_[i] = state[0];
  vy_[i] = state[1];
  J_[i] = state[2];
  SetAffine(i, state[3], state[4], state[5], state[6]);
  max_speed_ = std::max(max_speed_, std::hypot(vx_[i], vy_[i]));
}

void MpmSolver::PrecomputeNodeBoundaries() {
  const size_t n = grid_.size();
  node_normal_x_.assign(n, 0.0f);
  node_normal_y_.assign(n, 0.0f);
  node_solid_weight_.assign(n, 0.0f);
  cell_near_solid_.assign(n, 0);
  node_walls_.assign(n, 0);
  // Hard: nodes within half a cell of a solid take its boundary condition fully, so thin tools
  // (thinner than a cell) still block the grid velocity on both sides. Soft: nodes within a cell
  // take it in proportion, fully at the surface (GroundTruthPhysics::soft_solid_boundary).
  const bool soft = options_.physics.soft_solid_boundary;
  const double reach = soft ? dx_ : 0.5 * dx_;
  // Domain walls, decided once in double precision with a tolerance: a node exactly on a wall
  // must get the wall's condition (in float, 0.6 can land on either side of itself).
  const double tol = 1e-6 * dx_;
  const Box& box = scene_.domain;
  for (int i = 0; i < nx_; ++i) {
    for (int j = 0; j < ny_; ++j) {
      const double x = static_cast<double>(origin_x_) + i * dx_, y = static_cast<double>(origin_y_) + j * dx_;
      node_walls_[static_cast<size_t>(i) * ny_ + j] =
          (x <= box.min.x + tol ? kWallLeft : 0) | (x >= box.max.x - tol ? kWallRight : 0) |
          (y <= box.min.y + tol ? kWallBottom : 0) | (y >= box.max.y - tol ? kWallTop : 0);
    }
  }
  for (int i = 0; i < nx_; ++i) {
    for (int j = 0; j < ny_; ++j) {
      double d, nxv, nyv;
      if (solids_.Query(origin_x_ + i * dx_, origin_y_ + j * dx_, &d, &nxv, &nyv) && d < reach) {
        const size_t k = static_cast<size_t>(i) * ny_ + j;
        node_solid_weight_[k] = soft ? static_cast<float>(std::min(1.0, 1.0 - d / dx_)) : 1.0f;
        node_normal_x_[k] = static_cast<float>(nxv);
        node_normal_y_[k] = static_cast<float>(nyv);
      }
      // Cell [i, i+1) x [j, j+1) is near a solid if its centre is within one cell (more than
      // its half-diagonal) of a solid surface.
      if (solids_.Query(origin_x_ + (i + 0.5) * dx_, origin_y_ + (j + 0.5) * dx_, &d, &nxv, &nyv)) {
        cell_near_solid_[static_cast<size_t>(i) * ny_ + j] = 1;
      }
    }
  }
}

void MpmSolver::ProjectParticle(int p) {
  float x = px_[p], y = py_[p];
  if (!std::isfinite(x) || !std::isfinite(y)) {  // reported by Substep; keep the index valid
    non_finite_particle_.store(p, std::memory_order_relaxed);
    stripe_[p] = 0;
    return;
  }
  double d, nxv, nyv;
  // The per-cell flag skips the distance query for the many particles far from every solid.
  const size_t cell = static_cast<size_t>((x - origin_x_) * inv_dx_) * ny_ +
                      static_cast<size_t>((y - origin_y_) * inv_dx_);
  if (cell < cell_near_solid_.size() && cell_near_solid_[cell] &&
      solids_.Query(x, y, &d, &nxv, &nyv) && d < 0.0) {
    x += static_cast<float>(-d * nxv);
    y += static_cast<float>(-d * nyv);
    const float vn = vx_[p] * static_cast<float>(nxv) + vy_[p] * static_cast<float>(nyv);
    if (vn < 0.0f) {
      vx_[p] -= vn * static_cast<float>(nxv);
      vy_[p] -= vn * static_cast<float>(nyv);
    }
  }
  // Domain walls: clamp a hair inside and drop the outward velocity.
  if (x < clamp_lo_x_) { x = clamp_lo_x_; vx_[p] = std::max(vx_[p], 0.0f); }
  if (x > clamp_hi_x_) { x = clamp_hi_x_; vx_[p] = std::min(vx_[p], 0.0f); }
  if (y < clamp_lo_y_) { y = clamp_lo_y_; vy_[p] = std::max(vy_[p], 0.0f); }
  if (y > clamp_hi_y_) { y = clamp_hi_y_; vy_[p] = std::min(vy_[p], 0.0f); }
  px_[p] = x;
  py_[p] = y;
  stripe_[p] = BaseCell(x, origin_x_, inv_dx_) / kStripeWidth;
}

int MpmSolver::SubstepsForFrame() const {
  // Speed bound over the coming frame: current max plus what gravity can add.
  const double g = Norm(scene_.gravity);
  const double speed = max_speed_ + g * scene_.frame_dt_s;
  double dt = options_.cfl * dx_ / (options_.sound_speed_mps + speed);
  // A particle never moves more than half the thinnest solid's radius per substep, so it cannot
  // jump over a solid's core line between two projections.
  if (!solids_.Empty() && speed > 0.0) dt = std::min(dt, 0.5 * solids_.MinRadius() / speed);
  // Explicit viscosity is stable while it diffuses less than a cell per substep.
  const double viscosity = options_.bulk_viscosity_m2ps + options_.physics.shear_viscosity_m2ps;
  if (viscosity > 0.0) dt = std::min(dt, 0.25 * dx_ * dx_ / viscosity);
  const double substeps = std::ceil(scene_.frame_dt_s / dt - 1e-9);
  if (!(substeps <= 1e5)) {  // also catches NaN
    throw std::runtime_error("MPM: non-finite or unstable state at frame " + std::to_string(frame_) +
                             ": max particle speed " + std::to_string(speed) + " m/s would need " +
                             std::to_string(substeps) + " substeps per frame");
  }
  return std::max(1, static_cast<int>(substeps));
}

void MpmSolver::StepFrame() {
  const int substeps = SubstepsForFrame();
  const float dt = static_cast<float>(scene_.frame_dt_s / substeps);
  arena_->arena.execute([&] {
    for (int s = 0; s < substeps; ++s) Substep(dt);
  });
  ++frame_;
  for (const EmittedParticle& e : EmittedDuringFrame(scene_, frame_)) AddParticle(e.position, e.velocity);
  for (int p = 0; p < ParticleCount(); ++p) {
    if (!std::isfinite(px_[p]) || !std::isfinite(py_[p])) {
      throw std::runtime_error("MPM: particle " + std::to_string(p) +
                               " has a non-finite position at frame " + std::to_string(frame_));
    }
  }
}

void MpmSolver::StepFixed(int substeps, double dt_s) {
  arena_->arena.execute([&] {
    for (int s = 0; s < substeps; ++s) Substep(static_cast<float>(dt_s));
  });
}

void MpmSolver::Substep(float dt) {
  BucketByStripe();
  ParticleToGrid(dt);
  UpdateGrid(dt);
  max_speed_ = GridToParticle(dt);
  const int bad = non_finite_particle_.load();
  if (bad >= 0) {
    throw std::runtime_error("MPM: particle " + std::to_string(bad) + " has a non-finite position during frame " +
                             std::to_string(frame_ + 1) + " (unstable time step or non-finite input)");
  }
  ++stats_.substeps;
  stats_.particle_substeps += ParticleCount();
}

void MpmSolver::BucketByStripe() {
  // Counting sort of particle indices by stripe; the order inside a stripe is the particle
  // order, so the floating-point sums in P2G never depend on the thread count.
  const int n = ParticleCount();
  stripe_start_.assign(stripes_ + 1, 0);
  stripe_particles_.resize(n);
  std::vector<int>& start = stripe_start_;
  for (int p = 0; p < n; ++p) ++start[stripe_[p] + 1];
  for (int s = 0; s < stripes_; ++s) start[s + 1] += start[s];
  stripe_cursor_.assign(start.begin(), start.end() - 1);
  for (int p = 0; p < n; ++p) stripe_particles_[stripe_cursor_[stripe_[p]]++] = p;
  // Node columns touched this substep: from the first to the last non-empty stripe, plus the
  // two extra columns of a 3-node stencil.
  int first = stripes_, last = -1;
  for (int s = 0; s < stripes_; ++s) {
    if (start[s + 1] > start[s]) {
      first = std::min(first, s);
      last = s;
    }
  }
  active_columns_ = last < 0 ? std::pair<int, int>{0, -1}
                             : std::pair<int, int>{first * kStripeWidth, std::min(nx_ - 1, last * kStripeWidth + kStripeWidth + 1)};
}

void MpmSolver::ParticleToGrid(float dt) {
  // Only the columns the particles' stencils reach are cleared, written, updated and read.
  const size_t first = static_cast<size_t>(active_columns_.first) * ny_;
  const size_t last = static_cast<size_t>(active_columns_.second + 1) * ny_;
  tbb::parallel_for(tbb::blocked_range<size_t>(first, last, 4096), [&](const tbb::blocked_range<size_t>& r) {
    std::fill(grid_.begin() + r.begin(), grid_.begin() + r.end(), Node::Zero());
  });
  const float stress_scale = -dt * 4.0f * inv_dx_ * inv_dx_ * particle_volume_ * bulk_modulus_;
  const float dx = static_cast<float>(dx_);
  // Stripes of the same parity touch disjoint node columns: run them in parallel, parity by
  // parity.
  for (int parity = 0; parity < 2; ++parity) {
    const int count = (stripes_ - parity + 1) / 2;
    tbb::parallel_for(0, count, [&](int k) {
      const int s = 2 * k + parity;
      for (int q = stripe_start_[s]; q < stripe_start_[s + 1]; ++q) {
        const int p = stripe_particles_[q];
        const Stencil st = StencilAt(px_[p], py_[p], origin_x_, origin_y_, inv_dx_);
        const int bx = st.bx, by = st.by;
        const float fx = st.fx, fy = st.fy;
        const float* wx = st.wx;
        const float* wy = st.wy;
        // Isotropic stress K (J - 1) + zeta div v, with div v = trace C (0 without viscosity, so
        // the inviscid sums stay bit for bit what they were).
        const float stress = stress_scale * ((J_[p] - 1.0f) + viscosity_over_modulus_ * (c00_[p] + c11_[p]));
        // Node momentum and mass as one 4-lane update: (px, py, m, unused).
        const Eigen::Array4f base(particle_mass_ * vx_[p], particle_mass_ * vy_[p], particle_mass_, 0.0f);
        Eigen::Array4f affine_x(stress + particle_mass_ * c00_[p], particle_mass_ * c10_[p], 0.0f, 0.0f);
        Eigen::Array4f affine_y(particle_mass_ * c01_[p], stress + particle_mass_ * c11_[p], 0.0f, 0.0f);
        if (shear_over_modulus_ > 0.0f) {
          // Deviatoric viscous stress mu [[c00 - c11, c01 + c10], [c01 + c10, c11 - c00]].
          const float shear = stress_scale * shear_over_modulus_;
          const float normal = shear * (c00_[p] - c11_[p]), tangential = shear * (c01_[p] + c10_[p]);
          affine_x += Eigen::Array4f(normal, tangential, 0.0f, 0.0f);
          affine_y += Eigen::Array4f(tangential, -normal, 0.0f, 0.0f);
        }
        for (int i = 0; i < 3; ++i) {
          const Eigen::Array4f column_term = base + affine_x * ((i - fx) * dx);
          Node* column = &grid_[static_cast<size_t>(bx + i) * ny_ + by];
          for (int j = 0; j < 3; ++j) {
            column[j] += (wx[i] * wy[j]) * (column_term + affine_y * ((j - fy) * dx));
          }
        }
      }
    });
  }
}

void MpmSolver::UpdateGrid(float dt) {
  const float gxv = static_cast<float>(scene_.gravity.x) * dt;
  const float gyv = static_cast<float>(scene_.gravity.y) * dt;
  tbb::parallel_for(tbb::blocked_range<int>(active_columns_.first, active_columns_.second + 1, 8),
                    [&](const tbb::blocked_range<int>& r) {
    for (int i = r.begin(); i < r.end(); ++i) {
      for (int j = 0; j < ny_; ++j) {
        const size_t k = static_cast<size_t>(i) * ny_ + j;
        Node& node = grid_[k];
        if (node[2] <= 0.0f) continue;
        float vx = node[0] / node[2] + gxv;
        float vy = node[1] / node[2] + gyv;
        const float weight = node_solid_weight_[k];
        if (weight > 0.0f) {  // slip, separating: remove (that much of) the velocity into the solid
          const float vn = weight * (vx * node_normal_x_[k] + vy * node_normal_y_[k]);
          if (vn < 0.0f) {
            vx -= vn * node_normal_x_[k];
            vy -= vn * node_normal_y_[k];
          }
        }
        const unsigned char walls = node_walls_[k];
        if (walls & kWallLeft) vx = std::max(vx, 0.0f);
        if (walls & kWallRight) vx = std::min(vx, 0.0f);
        if (walls & kWallBottom) vy = std::max(vy, 0.0f);
        if (walls & kWallTop) vy = std::min(vy, 0.0f);
        node[0] = vx;
        node[1] = vy;
      }
    }
  });
}

float MpmSolver::GridToParticle(float dt) {
  const float dx = static_cast<float>(dx_);
  const float c_scale = 4.0f * inv_dx_ * inv_dx_;
  return std::sqrt(tbb::parallel_reduce(
      tbb::blocked_range<int>(0, ParticleCount(), 256), 0.0f,
      [&](const tbb::blocked_range<int>& r, float max_speed2) {
        for (int p = r.begin(); p < r.end(); ++p) {
          const Stencil st = StencilAt(px_[p], py_[p], origin_x_, origin_y_, inv_dx_);
          const int bx = st.bx, by = st.by;
          const float fx = st.fx, fy = st.fy;
          const float* wx = st.wx;
          const float* wy = st.wy;
          // Lanes 0 and 1 hold x and y of velocity-like sums.
          Eigen::Array4f v = Eigen::Array4f::Zero(), bx_sum = v, by_sum = v;
          for (int i = 0; i < 3; ++i) {
            const float dpx = (i - fx) * dx;
            const Node* column = &grid_[static_cast<size_t>(bx + i) * ny_ + by];
            Eigen::Array4f column_v = Eigen::Array4f::Zero(), column_by = column_v;
            for (int j = 0; j < 3; ++j) {
              const Eigen::Array4f wv = wy[j] * column[j];
              column_v += wv;
              column_by += ((j - fy) * dx) * wv;
            }
            v += wx[i] * column_v;
            bx_sum += (wx[i] * dpx) * column_v;
            by_sum += wx[i] * column_by;
          }
          const float vx = v[0], vy = v[1];
          const float b00 = bx_sum[0], b01 = by_sum[0], b10 = bx_sum[1], b11 = by_sum[1];
          vx_[p] = vx;
          vy_[p] = vy;
          c00_[p] = c_scale * b00;
          c01_[p] = c_scale * b01;
          c10_[p] = c_scale * b10;
          c11_[p] = c_scale * b11;
          J_[p] *= 1.0f + dt * (c00_[p] + c11_[p]);
          px_[p] += dt * vx;
          py_[p] += dt * vy;
          ProjectParticle(p);
          max_speed2 = std::max(max_speed2, vx_[p] * vx_[p] + vy_[p] * vy_[p]);
        }
        return max_speed2;
      },
      [](float a, float b) { return std::max(a, b); }));
}

Trajectory SimulateMpm(const Scene& scene, const MpmOptions& options, const FrameProgress& progress,
                       MpmStats* stats, bool record_state) {
  MpmSolver solver(scene, options);
  Trajectory trajectory = EmptyTrajectory(scene, TotalParticleCount(scene), scene.frames + 1);
  trajectory.simulator = "mpm";
  trajectory.mpm_physics = options.physics;
  if (record_state) {
    trajectory.mpm_state.assign(trajectory.positions.size() / 2 * kMpmStateWidth,
                                std::numeric_limits<float>::quiet_NaN());
  }
  auto record = [&](int frame) {
    for (int p = 0; p < solver.ParticleCount(); ++p) {
      const Vec2 x = solver.Position(p);
      const size_t k = static_cast<size_t>(frame) * trajectory.particle_count + p;
      trajectory.positions[2 * k] = static_cast<float>(x.x);
      trajectory.positions[2 * k + 1] = static_cast<float>(x.y);
      if (record_state) solver.State(p, &trajectory.mpm_state[k * kMpmStateWidth]);
    }
  };
  auto record_births = [&](int first, int frame) {
    for (int p = first; p < solver.ParticleCount(); ++p) {
      trajectory.birth_frame[p] = frame;
      trajectory.birth_velocity[2 * p] = static_cast<float>(solver.Velocity(p).x);
      trajectory.birth_velocity[2 * p + 1] = static_cast<float>(solver.Velocity(p).y);
    }
  };
  record(0);
  record_births(0, 0);
  int alive = solver.ParticleCount();
  for (int frame = 1; frame <= scene.frames; ++frame) {
    solver.StepFrame();
    record_births(alive, frame);
    alive = solver.ParticleCount();
    record(frame);
    if (progress) progress(frame, alive);
  }
  if (stats != nullptr) *stats = solver.Stats();
  return trajectory;
}

std::vector<std::vector<Vec2>> SimulateFrom(const Scene& scene, const MpmOptions& options,
                                            const std::vector<Vec2>& positions, const std::vector<float>& states,
                                            int frames) {
  if (states.size() != positions.size() * kMpmStateWidth) {
    throw std::invalid_argument("SimulateFrom: " + std::to_string(states.size()) + " state values for " +
                                std::to_string(positions.size()) + " particles (expected " +
                                std::to_string(kMpmStateWidth) + " each)");
  }
  Scene start = scene;
  start.fluid_positions = positions;
  start.fluid_velocities.assign(positions.size(), Vec2{0.0, 0.0});
  start.emitters.clear();
  start.frames = frames;
  MpmSolver solver(start, options);
  for (int i = 0; i < solver.ParticleCount(); ++i) solver.SetState(i, &states[static_cast<size_t>(i) * kMpmStateWidth]);
  std::vector<std::vector<Vec2>> out(frames, std::vector<Vec2>(positions.size()));
  for (std::vector<Vec2>& next : out) {
    solver.StepFrame();
    for (int i = 0; i < solver.ParticleCount(); ++i) next[i] = solver.Position(i);
  }
  return out;
}

GroundTruthRun MpmGroundTruthRun() {
  return [](const Scene& scene, const GroundTruthPhysics& physics, const std::vector<Vec2>& positions,
            const std::vector<float>& states, int frames) {
    MpmOptions options;
    options.threads = 1;
    options.physics = physics;
    return SimulateFrom(scene, options, positions, states, frames);
  };
}

}  // namespace flowdesign::simulator
