// Ground-truth MPM: validation against the Martin & Moyce dam break, conservation, its hidden
// state (volume ratio, affine velocity), bulk and shear viscosity, solid boundaries (a thin
// tilted segment), determinism across thread counts, bad input.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "design/plot.h"
#include "simulator/ground_truth/dam_break.h"
#include "simulator/ground_truth/mpm_solver.h"
#include "simulator/scene.h"
#include "simulator/trajectory.h"
#include "tests/test_support.h"

namespace flowdesign::simulator {
namespace {

using testing::OutputDir;
using testing::SourcePath;

Scene EmptyScene(Box domain, double spacing, double frame_dt_s, int frames) {
  Scene scene;
  scene.domain = domain;
  scene.gravity = {0.0, -9.81};
  scene.particle_spacing_m = spacing;
  scene.frame_dt_s = frame_dt_s;
  scene.frames = frames;
  return scene;
}

// Adds a water block, dropping particles that would start inside a solid (as BuildScene does).
void AddBlock(Scene& scene, Box box, Vec2 velocity = {0.0, 0.0}) {
  for (Vec2 p : tasks::BlockParticlePositions({box, velocity}, scene.particle_spacing_m)) {
    if (SignedDistanceToSolids(scene.solids, p) < 0.0) continue;
    scene.fluid_positions.push_back(p);
    scene.fluid_velocities.push_back(velocity);
  }
}

void AddTool(Scene& scene, Vec2 a, Vec2 b, double thickness) {
  scene.solids.push_back({a, b, 0.5 * thickness});
}

MpmOptions Threads(int threads) {
  MpmOptions options;
  options.threads = threads;
  return options;
}

// ---------------------------------------------------------------------------------------------

TEST_CASE("dam break: surge front matches Martin & Moyce (1952) within 10%", "[mpm][validation]") {
  const std::vector<DamBreakPoint> measured =
      LoadDamBreakReference(SourcePath("docs/reference/dam_break_martin_moyce_1952.csv"));
  REQUIRE(measured.size() >= 5);
  const double a = 0.1, spacing = 0.01;
  const DamBreakResult result = RunDamBreak(a, spacing, /*threads=*/1, /*max_T=*/6.0);
  REQUIRE(result.particles == 200);
  const DamBreakComparison comparison = CompareDamBreak(result, measured, /*max_T=*/4.0);
  REQUIRE(comparison.rows.size() == 5);

  std::ostringstream table;
  table << "dam break a = " << a << " m, spacing = " << spacing << " m (" << result.particles
        << " particles, " << result.stats.substeps << " substeps, " << result.wall_time_s << " s)\n"
        << "     T  Z measured  Z simulated  rel. error\n"
        << std::fixed;
  for (const DamBreakComparisonRow& row : comparison.rows) {
    table << std::setprecision(3) << std::setw(6) << row.T << std::setw(12) << row.Z_measured
          << std::setw(13) << row.Z_simulated << std::setw(12) << row.relative_error << "\n";
  }
  table << "mean relative error " << comparison.mean_relative_error << "\n";

  // The comparison plot goes to the build tree (tests never write into the sources).
  design::PlotSeries simulated{"MPM, a = 0.1 m, spacing 0.01 m", {}, true, false, "#1f77b4"};
  for (const DamBreakPoint& p : result.front) simulated.points.push_back({p.T, p.Z});
  design::PlotSeries reference{"Martin & Moyce (1952)", {}, false, true, "#d62728"};
  for (const DamBreakPoint& p : measured) reference.points.push_back({p.T, p.Z});
  design::PlotOptions plot;
  plot.title = "Dam break: surge front";
  plot.x_label = "T = t sqrt(2g/a)";
  plot.y_label = "Z = front / a";
  plot.x_range = {{0.0, 6.0}};
  plot.y_range = {{0.0, 10.0}};
  const std::string svg = OutputDir("dam_break") + "/dam_break.svg";
  design::WriteSvgPlot(svg, {simulated, reference}, plot);
  std::cout << table.str() << "plot: " << svg << "\n";

  INFO(table.str());
  CHECK(comparison.mean_relative_error <= 0.10);
  // The front starts at the column's edge and only ever advances (up to particle jitter).
  CHECK(result.front.front().Z == Approx(1.0));
  for (size_t i = 1; i < result.front.size(); ++i) {
    CHECK(result.front[i].Z >= result.front[i - 1].Z - 0.5 * spacing / a);
  }
}

TEST_CASE("pool at rest keeps its volume and its particles stay put", "[mpm][conservation]") {
  // A pool filling the bottom of a 0.6 m x 0.4 m tank, 0.2 m deep, simulated for 2 s.
  const double spacing = 0.01, width = 0.6, depth = 0.2;
  Scene scene = EmptyScene({{0.0, 0.0}, {width, 0.4}}, spacing, 0.01, 200);
  AddBlock(scene, {{0.0, 0.0}, {width, depth}});
  REQUIRE(scene.fluid_positions.size() == 60u * 20u);
  MpmSolver solver(scene, Threads(1));
  double max_displacement = 0.0;
  for (int frame = 1; frame <= scene.frames; ++frame) {
    solver.StepFrame();
    REQUIRE(solver.ParticleCount() == static_cast<int>(scene.fluid_positions.size()));
    for (int p = 0; p < solver.ParticleCount(); ++p) {
      max_displacement = std::max(max_displacement, Norm(solver.Position(p) - scene.fluid_positions[p]));
    }
  }
  // Two measures of the volume (per unit depth), both expected to be width x depth:
  // 1. The surface height times the width: what one would measure on a real pool. The surface
  //    of a column of width `spacing` is its top particle plus half a spacing (particles sit
  //    half a spacing in from the fluid's edge). It catches the pool sinking (particles lost
  //    through the floor, or packed closer) or swelling (voids opening).
  // 2. The sum of J * spacing^2: each particle's volume as the solver itself tracks it (J is the
  //    volume ratio of the material element; it sets the pressure). It catches spurious
  //    compression or expansion even where the particle arrangement looks unchanged.
  // A weakly compressible fluid at rest is compressed by rho g h / K = g h / c^2 ~ 0.2% at the
  // bottom, so both must hold to well within 1%.
  const int columns = static_cast<int>(std::lround(width / spacing));
  std::vector<double> top(columns, -std::numeric_limits<double>::infinity());
  double volume_j = 0.0;
  for (int p = 0; p < solver.ParticleCount(); ++p) {
    const Vec2 x = solver.Position(p);
    const int c = std::clamp(static_cast<int>(x.x / spacing), 0, columns - 1);
    top[c] = std::max(top[c], x.y + 0.5 * spacing);
    volume_j += solver.VolumeRatio(p) * spacing * spacing;
  }
  double surface = 0.0;
  for (double h : top) {
    REQUIRE(std::isfinite(h));  // no column emptied
    surface += h / columns;
  }
  INFO("surface height " << surface << " m, sum J V0 " << volume_j << " m^2, max displacement "
                          << max_displacement << " m");
  CHECK(surface * width == Approx(width * depth).epsilon(0.01));
  CHECK(volume_j == Approx(width * depth).epsilon(0.01));
  CHECK(max_displacement <= 0.5 * spacing);
}

TEST_CASE("particles are conserved without emitters", "[mpm][conservation]") {
  Scene scene = EmptyScene({{0.0, 0.0}, {1.0, 1.0}}, 0.02, 0.005, 80);
  AddTool(scene, {0.2, 0.4}, {0.8, 0.2}, 0.03);
  AddBlock(scene, {{0.3, 0.5}, {0.6, 0.9}}, {0.5, -1.0});
  const int n = static_cast<int>(scene.fluid_positions.size());
  REQUIRE(TotalParticleCount(scene) == n);
  MpmSolver solver(scene, Threads(1));
  for (int frame = 1; frame <= scene.frames; ++frame) {
    solver.StepFrame();
    REQUIRE(solver.ParticleCount() == n);
  }
  const Trajectory t = SimulateMpm(scene, Threads(1));
  REQUIRE(t.particle_count == n);
  REQUIRE(t.frame_count == scene.frames + 1);
  for (int f = 0; f < t.frame_count; ++f) {
    for (int p = 0; p < n; ++p) {
      REQUIRE(t.birth_frame[p] == 0);
      const Vec2 x = t.Position(f, p);
      REQUIRE(IsFinite(x));
      REQUIRE(scene.domain.Contains(x));
    }
  }
}

TEST_CASE("a velocity added to a falling block carries it that much further", "[mpm][conservation]") {
  // A uniform velocity passes through MPM's transfers unchanged, so a block in free fall,
  // kicked once by dv, ends k frames later dv k dt away from its unkicked twin.
  Scene scene = EmptyScene({{0.0, 0.0}, {1.0, 1.0}}, 0.02, 0.005, 6);
  AddBlock(scene, {{0.4, 0.6}, {0.6, 0.8}});
  MpmSolver plain(scene, Threads(1)), kicked(scene, Threads(1));
  const Vec2 dv{0.3, 0.2};
  plain.StepFrame();
  kicked.StepFrame();
  for (int p = 0; p < kicked.ParticleCount(); ++p) kicked.AddVelocity(p, dv);
  for (int k = 1; k <= 5; ++k) {
    plain.StepFrame();
    kicked.StepFrame();
  }
  for (int p = 0; p < plain.ParticleCount(); ++p) {
    const Vec2 shift = kicked.Position(p) - plain.Position(p);
    REQUIRE(shift.x == Approx(dv.x * 5 * scene.frame_dt_s).margin(1e-5));
    REQUIRE(shift.y == Approx(dv.y * 5 * scene.frame_dt_s).margin(1e-5));
  }
}

TEST_CASE("a volume ratio or affine velocity set between frames drives the next frames", "[mpm][conservation]") {
  // MPM's hidden state: J is the pressure (K (1 - J)), C the velocity gradient a particle
  // carries to the grid. A weightless block at rest set to J < 1 expands, J > 1 contracts. Set
  // to C = omega [[0, -1], [1, 0]] (a rigid rotation's gradient, row a = gradient of velocity
  // component a) it starts to turn, with the angular momentum APIC conserves: each particle's
  // affine part holds m dx^2 / 4 (c10 - c01) = m omega dx^2 / 2 (quadratic B-splines, cell dx),
  // so turning rigidly at omega' it holds omega' (sum r^2 + N dx^2 / 2) = N omega dx^2 / 2; the
  // transposed C turns it the other way. A swapped or mis-signed component fails one of them.
  Scene scene = EmptyScene({{0.0, 0.0}, {1.0, 1.0}}, 0.01, 0.005, 4);
  scene.gravity = {0.0, 0.0};
  AddBlock(scene, {{0.4, 0.4}, {0.6, 0.6}});
  const Vec2 centre{0.5, 0.5};
  const double omega = 2.0;  // 1/s
  auto run = [&](auto set_state) {
    MpmSolver solver(scene, Threads(1));
    solver.StepFrame();
    for (int p = 0; p < solver.ParticleCount(); ++p) set_state(solver, p);
    for (int frame = 2; frame <= scene.frames; ++frame) solver.StepFrame();
    double spread = 0.0, angular_momentum = 0.0, rigid = 0.0;
    for (int p = 0; p < solver.ParticleCount(); ++p) {
      const Vec2 r = solver.Position(p) - centre, v = solver.Velocity(p);
      spread += std::sqrt(Dot(r, r)) / solver.ParticleCount();
      angular_momentum += r.x * v.y - r.y * v.x;
      rigid += Dot(r, r);
    }
    const double affine = solver.ParticleCount() * solver.CellSize() * solver.CellSize() / 2.0;
    // spread (m), angular velocity (1/s), and what APIC's conservation gives after a set C = omega
    return std::tuple{spread, angular_momentum / rigid, omega * affine / (rigid + affine)};
  };
  const auto [spread_rest, turn_rest, unused_rest] = run([](MpmSolver&, int) {});
  const auto [spread_compressed, turn_compressed, unused_c] = run([](MpmSolver& s, int p) { s.SetVolumeRatio(p, 0.99f); });
  const auto [spread_stretched, turn_stretched, unused_s] = run([](MpmSolver& s, int p) { s.SetVolumeRatio(p, 1.01f); });
  const float w = static_cast<float>(omega);
  const auto [spread_turning, turn, expected] = run([&](MpmSolver& s, int p) { s.SetAffine(p, 0.0f, -w, w, 0.0f); });
  const auto [spread_back, turn_back, expected_back] = run([&](MpmSolver& s, int p) { s.SetAffine(p, 0.0f, w, -w, 0.0f); });
  INFO("spread (m): at rest " << spread_rest << ", J 0.99 " << spread_compressed << ", J 1.01 " << spread_stretched
                              << "; angular velocity (1/s): at rest " << turn_rest << ", C turning " << turn
                              << ", transposed " << turn_back << ", from APIC's conservation " << expected);
  REQUIRE(spread_compressed > spread_rest + 1e-4);
  REQUIRE(spread_stretched < spread_rest - 1e-4);
  REQUIRE(std::abs(turn_rest) < 1e-6);
  REQUIRE(turn == Approx(expected).epsilon(0.05));
  REQUIRE(turn_back == Approx(-expected_back).epsilon(0.05));
}

TEST_CASE("a restart from the recorded state continues the ground truth", "[mpm][conservation]") {
  // A block lands on a tilted tool and splashes. SimulateMpm records every particle's velocity,
  // J and C; three frames simulated from a frame's positions and recorded state (a fresh
  // solver, SimulateFrom) must land where the run itself went. Restarted with J forgotten (1, no
  // pressure) or with C forgotten it must not, which shows the record is the state that matters.
  Scene scene = EmptyScene({{0.0, 0.0}, {1.0, 1.0}}, 0.01, 0.005, 40);
  AddTool(scene, {0.3, 0.35}, {0.7, 0.25}, 0.015);
  AddBlock(scene, {{0.35, 0.45}, {0.55, 0.65}}, {0.3, -0.5});
  const Trajectory t = SimulateMpm(scene, Threads(1), {}, nullptr, /*record_state=*/true);
  REQUIRE(t.mpm_state.size() == static_cast<size_t>(t.frame_count) * t.particle_count * kMpmStateWidth);
  const Trajectory unrecorded = SimulateMpm(scene, Threads(1));
  REQUIRE(unrecorded.mpm_state.empty());
  REQUIRE(unrecorded.positions == t.positions);  // recording does not change the run

  Scene fixed = scene;  // the scene without its fluid, as training keeps it
  fixed.fluid_positions.clear();
  fixed.fluid_velocities.clear();
  auto restart_error = [&](int frame, int forget) {  // forget: -1 none, else a state column set to its rest value
    std::vector<Vec2> positions;
    std::vector<float> states;
    for (int p = 0; p < t.particle_count; ++p) {
      positions.push_back(t.Position(frame, p));
      const float* s = &t.mpm_state[(static_cast<size_t>(frame) * t.particle_count + p) * kMpmStateWidth];
      states.insert(states.end(), s, s + kMpmStateWidth);
      if (forget == 2) states[states.size() - kMpmStateWidth + 2] = 1.0f;
      if (forget == 3) std::fill(states.end() - 4, states.end(), 0.0f);
    }
    const std::vector<std::vector<Vec2>> run = SimulateFrom(fixed, Threads(1), positions, states, 3);
    double worst = 0.0;
    for (int f = 0; f < 3; ++f) {
      for (int p = 0; p < t.particle_count; ++p) worst = std::max(worst, Norm(run[f][p] - t.Position(frame + 1 + f, p)));
    }
    return worst / scene.particle_spacing_m;
  };
  for (int frame : {20, 30, 35}) {  // after the landing
    const double exact = restart_error(frame, -1), no_pressure = restart_error(frame, 2), no_affine = restart_error(frame, 3);
    INFO("frame " << frame << ": worst error over 3 frames in spacings, restarted " << exact << ", J forgotten " << no_pressure
                  << ", C forgotten " << no_affine);
    CHECK(exact == 0.0);  // MPM is deterministic, and the record is its whole state
    CHECK(no_pressure > 100 * exact + 1e-4);
    CHECK(no_affine > 100 * exact + 1e-4);
  }
  REQUIRE_THROWS_WITH(SimulateFrom(fixed, Threads(1), {{0.5, 0.5}}, {0.0f, 0.0f}, 1),
                      Catch::Contains("2 state values for 1 particles"));
}

TEST_CASE("bulk viscosity damps the water hammer of a block hitting the floor", "[mpm][viscosity]") {
  // A block landing at 2 m/s rings: its top rows decelerate, bounce and fall again. Bulk
  // viscosity resists the rate of compression, so the ringing (the frame-to-frame change of the
  // top rows' velocity after the impact) gets smaller, while a block in free fall, which does not
  // compress, is untouched by it.
  Scene scene = EmptyScene({{0.0, 0.0}, {1.0, 1.0}}, 0.01, 0.005, 10);
  AddBlock(scene, {{0.35, 0.03}, {0.65, 0.23}}, {0.0, -2.0});
  auto ringing = [&](double viscosity) {
    MpmOptions options = Threads(1);
    options.bulk_viscosity_m2ps = viscosity;
    MpmSolver solver(scene, options);
    double previous = 0.0, sum = 0.0;
    for (int frame = 1; frame <= scene.frames; ++frame) {
      solver.StepFrame();
      double top = 0.0;
      int count = 0;
      for (int p = 0; p < solver.ParticleCount(); ++p) {
        if (scene.fluid_positions[p].y < 0.18) continue;
        top += solver.Velocity(p).y;
        ++count;
      }
      top /= count;
      if (frame >= 4) sum += std::abs(top - previous);
      previous = top;
    }
    return sum;
  };
  const double inviscid = ringing(0.0), viscous = ringing(1.0);
  INFO("top rows' velocity change over frames 4-10: inviscid " << inviscid << " m/s, viscous " << viscous);
  REQUIRE(viscous < 0.7 * inviscid);

  Scene falling = EmptyScene({{0.0, 0.0}, {1.0, 1.0}}, 0.02, 0.005, 5);
  AddBlock(falling, {{0.4, 0.6}, {0.6, 0.8}});
  MpmOptions viscous_options = Threads(1);
  viscous_options.bulk_viscosity_m2ps = 1.0;
  MpmSolver plain(falling, Threads(1)), damped(falling, viscous_options);
  for (int k = 0; k < falling.frames; ++k) {
    plain.StepFrame();
    damped.StepFrame();
  }
  for (int p = 0; p < plain.ParticleCount(); ++p) {
    REQUIRE(damped.Position(p).y == Approx(plain.Position(p).y).margin(1e-4));  // substeps differ
  }
  viscous_options.bulk_viscosity_m2ps = -0.1;
  CHECK_THROWS_WITH(MpmSolver(falling, viscous_options), Catch::Contains("bulk viscosity must be finite and >= 0"));
}

TEST_CASE("MPM rejects a sound speed that is not finite and positive", "[mpm]") {
  Scene scene = EmptyScene({{0.0, 0.0}, {1.0, 1.0}}, 0.02, 0.005, 5);
  AddBlock(scene, {{0.4, 0.6}, {0.6, 0.8}});
  MpmOptions options = Threads(1);
  for (double speed : {0.0, -30.0, std::nan("")}) {
    options.sound_speed_mps = speed;
    CHECK_THROWS_WITH(MpmSolver(scene, options), Catch::Contains("sound speed must be finite and > 0"));
  }
}

TEST_CASE("shear viscosity damps a shear flow but not a rigid rotation", "[mpm][viscosity]") {
  // A weightless block moving as a rigid rotation has no strain rate, so shear viscosity must
  // leave its kinetic energy alone; the same block in simple shear (rotation plus strain) loses
  // the strain part's energy to it. A formula with the wrong symmetry damps both or neither.
  Scene scene = EmptyScene({{0.0, 0.0}, {1.0, 1.0}}, 0.01, 0.005, 20);
  scene.gravity = {0.0, 0.0};
  AddBlock(scene, {{0.4, 0.4}, {0.6, 0.6}});
  auto kinetic_energy_left = [&](double viscosity, bool rotation) {
    Scene moving = scene;
    const double rate = 2.0;  // 1/s
    for (size_t p = 0; p < moving.fluid_positions.size(); ++p) {
      const Vec2 r = moving.fluid_positions[p] - Vec2{0.5, 0.5};
      moving.fluid_velocities[p] = rotation ? Vec2{-rate * r.y, rate * r.x} : Vec2{rate * r.y, 0.0};
    }
    MpmOptions options = Threads(1);
    options.physics.shear_viscosity_m2ps = viscosity;
    MpmSolver solver(moving, options);
    auto energy = [&] {
      double sum = 0.0;
      for (int p = 0; p < solver.ParticleCount(); ++p) sum += Dot(solver.Velocity(p), solver.Velocity(p));
      return sum;
    };
    solver.StepFrame();  // the first transfer builds the affine velocities
    const double start = energy();
    for (int frame = 2; frame <= scene.frames; ++frame) solver.StepFrame();
    return energy() / start;
  };
  const double rotation_inviscid = kinetic_energy_left(0.0, true), rotation_viscous = kinetic_energy_left(0.05, true);
  const double shear_inviscid = kinetic_energy_left(0.0, false), shear_viscous = kinetic_energy_left(0.05, false);
  INFO("kinetic energy left after 19 frames: rotation " << rotation_inviscid << " -> " << rotation_viscous
                                                        << ", shear " << shear_inviscid << " -> " << shear_viscous);
  REQUIRE(rotation_viscous == Approx(rotation_inviscid).epsilon(0.02));
  REQUIRE(shear_viscous < 0.9 * shear_inviscid);

  MpmOptions options = Threads(1);
  options.physics.shear_viscosity_m2ps = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(MpmSolver(scene, options), Catch::Contains("shear viscosity must be finite and >= 0"));
}

TEST_CASE("emitters add exactly the scheduled particles, in birth order", "[mpm][conservation]") {
  Scene scene = EmptyScene({{0.0, 0.0}, {1.0, 1.0}}, 0.02, 0.005, 100);
  AddBlock(scene, {{0.1, 0.1}, {0.3, 0.3}});
  scene.emitters.push_back({{0.5, 0.9}, 0.1, {0.0, -1.5}, 0.05, 0.35});
  const int initial = static_cast<int>(scene.fluid_positions.size());
  const int total = TotalParticleCount(scene);
  REQUIRE(total > initial);

  MpmSolver solver(scene, Threads(1));
  int expected = initial;
  for (int frame = 1; frame <= scene.frames; ++frame) {
    solver.StepFrame();
    expected += static_cast<int>(EmittedDuringFrame(scene, frame).size());
    REQUIRE(solver.ParticleCount() == expected);
  }
  CHECK(solver.ParticleCount() == total);

  const Trajectory t = SimulateMpm(scene, Threads(1));
  REQUIRE(t.particle_count == total);
  for (int p = 0; p < t.particle_count; ++p) {
    if (p > 0) REQUIRE(t.birth_frame[p] >= t.birth_frame[p - 1]);
    if (p < initial) REQUIRE(t.birth_frame[p] == 0);
    if (p >= initial) REQUIRE(t.birth_frame[p] >= 1);
    for (int f = 0; f < t.frame_count; ++f) {
      const Vec2 x = t.Position(f, p);
      if (t.Alive(f, p)) {
        REQUIRE(IsFinite(x));
      } else {
        REQUIRE(std::isnan(x.x));  // not yet emitted
      }
    }
  }
}

TEST_CASE("water slides off a thin tilted segment without entering or crossing it", "[mpm][solids]") {
  // A segment 0.4 m long, tilted 30 degrees down to the right, in mid-air; thickness 0.75
  // particle spacings (less than half a grid cell). A block of water falls on its upper part.
  // Both ways of applying the solid's condition on the grid keep the water out.
  const bool soft = GENERATE(false, true);
  CAPTURE(soft);
  MpmOptions options = Threads(1);
  options.physics.soft_solid_boundary = soft;
  const double spacing = 0.01, thickness = 0.0075;
  const double angle = tasks::DegToRad(30.0), half_length = 0.2;
  const Vec2 center{0.5, 0.5};
  const Vec2 dir{std::cos(angle), -std::sin(angle)};  // along the segment, downhill
  const Vec2 upper = center - half_length * dir, lower = center + half_length * dir;
  Scene scene = EmptyScene({{0.0, 0.0}, {1.0, 1.0}}, spacing, 0.005, 200);
  AddTool(scene, upper, lower, thickness);
  AddBlock(scene, {{0.33, 0.66}, {0.53, 0.76}});
  const int n = static_cast<int>(scene.fluid_positions.size());
  REQUIRE(n == 200);
  const Trajectory t = SimulateMpm(scene, options);
  const Capsule& segment = scene.solids[0];

  // Each particle's side of the segment's line, tracked while its projection falls within the
  // segment (shrunk by one spacing at each end: around the rounded ends a particle may legally
  // pass from one side to the other within a frame). 0 = not over the segment.
  std::vector<int> side(n, 0);
  int inside = 0, crossed = 0;
  double deepest = 0.0;
  const double length = 2.0 * half_length;
  for (int f = 0; f < t.frame_count; ++f) {
    for (int p = 0; p < n; ++p) {
      const Vec2 x = t.Position(f, p);
      const double d = tasks::SignedDistanceToCapsule(segment, x);
      if (d < -1e-5) {
        ++inside;
        deepest = std::min(deepest, d);
      }
      const double along = Dot(x - upper, dir);
      const double across = Cross(dir, x - upper);  // > 0 above the line
      if (along < spacing || along > length - spacing) {
        side[p] = 0;
        continue;
      }
      const int s = across > 0.0 ? 1 : -1;
      if (side[p] != 0 && s != side[p]) {
        ++crossed;
        UNSCOPED_INFO("particle " << p << " crossed the segment at frame " << f << " at ("
                                  << x.x << ", " << x.y << ")");
      }
      side[p] = s;
    }
  }
  INFO("particle-frames inside the segment: " << inside << " (deepest " << deepest << " m)");
  CHECK(inside == 0);
  CHECK(crossed == 0);
  // After 1 s the water has run off the lower end: it lies below it.
  int below = 0;
  for (int p = 0; p < n; ++p) {
    if (t.Position(t.frame_count - 1, p).y < lower.y - segment.radius) ++below;
  }
  INFO(below << " of " << n << " particles below the lower end");
  CHECK(below >= 0.9 * n);
}

TEST_CASE("TranslatedContents moves fluid, emitters and solids but not the domain", "[mpm]") {
  Scene scene = EmptyScene({{0.0, 0.0}, {1.0, 1.0}}, 0.02, 0.005, 5);
  AddTool(scene, {0.3, 0.5}, {0.7, 0.37}, 0.015);
  AddBlock(scene, {{0.38, 0.5}, {0.54, 0.62}});
  scene.emitters.push_back({{0.5, 0.9}, 0.1, {0.0, -1.5}, 0.0, 0.1});
  const Vec2 d{0.01, -0.02};
  const Scene moved = TranslatedContents(scene, d);
  REQUIRE(moved.fluid_positions.size() == scene.fluid_positions.size());
  for (size_t i = 0; i < scene.fluid_positions.size(); ++i) {
    CHECK(Norm(moved.fluid_positions[i] - (scene.fluid_positions[i] + d)) < 1e-15);
  }
  CHECK(Norm(moved.emitters[0].position - (scene.emitters[0].position + d)) < 1e-15);
  CHECK(Norm(moved.solids[0].a - (scene.solids[0].a + d)) < 1e-15);
  CHECK(Norm(moved.solids[0].b - (scene.solids[0].b + d)) < 1e-15);
  CHECK(moved.solids[0].radius == scene.solids[0].radius);
  CHECK(moved.domain.min.x == scene.domain.min.x);
  CHECK(moved.domain.max.y == scene.domain.max.y);
}

TEST_CASE("a soft solid boundary moves with its solid: half a grid cell changes the flow far less",
          "[mpm][solids]") {
  // MPM's grid stays with the domain; move the water and a tilted tool by half a cell (one
  // spacing) or a whole one and compare with the unmoved run, moved back, after the water has
  // hit the tool. A whole cell leaves everything where it was on the grid.
  auto drift = [](bool soft, double shift_spacings) {
    const double spacing = 0.01;
    Scene scene = EmptyScene({{0.0, 0.0}, {1.0, 1.0}}, spacing, 0.005, 40);
    AddTool(scene, {0.3, 0.5}, {0.7, 0.37}, 0.015);
    AddBlock(scene, {{0.38, 0.5}, {0.54, 0.62}});
    MpmOptions options = Threads(1);
    options.physics.soft_solid_boundary = soft;
    const Trajectory reference = SimulateMpm(scene, options);
    const Vec2 d{shift_spacings * spacing, 0.0};
    const Trajectory moved = SimulateMpm(TranslatedContents(scene, d), options);
    const int last = reference.frame_count - 1;
    double sum = 0.0;
    for (int p = 0; p < reference.particle_count; ++p) sum += Norm(moved.Position(last, p) - d - reference.Position(last, p));
    return sum / reference.particle_count / spacing;
  };
  const double hard_half = drift(false, 1.0), soft_half = drift(true, 1.0);
  const double hard_whole = drift(false, 2.0), soft_whole = drift(true, 2.0);
  INFO("mean drift after 40 frames, spacings: half a cell " << hard_half << " hard, " << soft_half << " soft; a whole cell "
                                                           << hard_whole << " hard, " << soft_whole << " soft");
  CHECK(hard_whole < 0.01);
  CHECK(soft_whole < 0.01);
  CHECK(hard_half > 0.05);  // the grid's hand, which the soft boundary is to reduce
  CHECK(soft_half < 0.5 * hard_half);
}

TEST_CASE("one and two threads give bit-identical trajectories", "[mpm][determinism]") {
  Scene scene = EmptyScene({{0.0, 0.0}, {1.0, 1.0}}, 0.0125, 0.005, 60);
  AddTool(scene, {0.15, 0.45}, {0.75, 0.25}, 0.02);
  AddBlock(scene, {{0.2, 0.5}, {0.7, 0.8}}, {0.3, 0.0});
  scene.emitters.push_back({{0.8, 0.8}, 0.1, {-1.0, -1.0}, 0.0, 0.2});
  const Trajectory one = SimulateMpm(scene, Threads(1));
  const Trajectory two = SimulateMpm(scene, Threads(2));
  REQUIRE(one.particle_count > 1000);
  REQUIRE(one.particle_count == two.particle_count);
  REQUIRE(one.positions.size() == two.positions.size());
  CHECK(one.birth_frame == two.birth_frame);
  CHECK(std::memcmp(one.positions.data(), two.positions.data(),
                    one.positions.size() * sizeof(float)) == 0);
}

TEST_CASE("non-finite input gives a clear error and no crash", "[mpm][errors]") {
  Scene scene = EmptyScene({{0.0, 0.0}, {1.0, 1.0}}, 0.02, 0.005, 10);
  AddTool(scene, {0.2, 0.3}, {0.8, 0.3}, 0.03);
  SECTION("NaN gravity") {
    AddBlock(scene, {{0.3, 0.5}, {0.6, 0.7}});
    scene.gravity = {0.0, std::numeric_limits<double>::quiet_NaN()};
  }
  SECTION("NaN block velocity") {
    AddBlock(scene, {{0.3, 0.5}, {0.6, 0.7}}, {std::numeric_limits<double>::quiet_NaN(), 0.0});
  }
  SECTION("huge block velocity") {
    AddBlock(scene, {{0.3, 0.5}, {0.6, 0.7}}, {1e30, 0.0});
  }
  REQUIRE_THROWS_AS(SimulateMpm(scene, Threads(1)), std::runtime_error);
  REQUIRE_THROWS_WITH(SimulateMpm(scene, Threads(1)), Catch::Contains("non-finite"));
}

}  // namespace
}  // namespace flowdesign::simulator
