// How fast does the news of an impact climb a block of MPM water? Drops a block (WIDTH x HEIGHT
// particles, spacing 0.01 m, frame 0.005 s) onto the floor at SPEED m/s and prints, frame by
// frame, the mean vertical velocity (spacings per frame) of bands of rows across the middle
// third of the block. A learned simulator with M message-passing steps over a radius of R
// spacings sees M x R spacings per frame: rows farther above the contact than that cannot know
// in that frame that they should decelerate.
//
//   impact_wave [--width 60] [--height 40] [--speed 2] [--sound-speed 30] [--bulk-viscosity 0] [--frames 12]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "simulator/ground_truth/mpm_solver.h"

using namespace flowdesign;
using namespace flowdesign::simulator;

int main(int argc, char** argv) {
  int width = 60, height = 40, frames = 12;
  double speed = 2.0;
  MpmOptions options;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s: %s needs a value\n", argv[0], flag.c_str());
      return 2;
    }
    const char* value = argv[i + 1];
    if (flag == "--width") width = std::atoi(value);
    else if (flag == "--height") height = std::atoi(value);
    else if (flag == "--speed") speed = std::atof(value);
    else if (flag == "--sound-speed") options.sound_speed_mps = std::atof(value);
    else if (flag == "--bulk-viscosity") options.bulk_viscosity_m2ps = std::atof(value);
    else if (flag == "--frames") frames = std::atoi(value);
    else {
      std::fprintf(stderr, "usage: %s [--width N] [--height N] [--speed M/S] [--sound-speed M/S] [--bulk-viscosity M2/S] [--frames N]\n", argv[0]);
      return 2;
    }
  }
  if (width < 3 || height < 8 || width > 90 || height > 90 || frames < 1 || speed < 0.0) {
    std::fprintf(stderr, "%s: need 3 <= width <= 90, 8 <= height <= 90, frames >= 1, speed >= 0\n", argv[0]);
    return 2;
  }
  Scene scene;
  scene.domain = {{0.0, 0.0}, {1.0, 1.0}};
  scene.gravity = {0.0, -9.81};
  scene.particle_spacing_m = 0.01;
  scene.frame_dt_s = 0.005;
  scene.frames = frames;
  const double left = 0.5 - 0.005 * width, bottom = 0.035;  // the bottom row reaches the floor in frame 1
  for (int row = 0; row < height; ++row) {
    for (int column = 0; column < width; ++column) {
      scene.fluid_positions.push_back({left + 0.01 * (column + 0.5), bottom + 0.01 * row});
      scene.fluid_velocities.push_back({0.0, -speed});
    }
  }
  MpmSolver solver(scene, options);
  const int bands = (height + 7) / 8;  // rows 0-3, 8-11, 16-19, ...
  std::printf("block %d x %d spacings at %.2f m/s, sound speed %.0f m/s (%.1f spacings per frame)\n", width, height,
              speed, options.sound_speed_mps, options.sound_speed_mps * scene.frame_dt_s / scene.particle_spacing_m);
  std::printf("mean vertical velocity, spacings per frame, middle third of the block\nframe");
  for (int b = 0; b < bands; ++b) std::printf("  rows %2d-%2d", 8 * b, std::min(height - 1, 8 * b + 3));
  std::printf("\n");
  for (int frame = 0; frame <= frames; ++frame) {
    std::printf("%5d", frame);
    for (int b = 0; b < bands; ++b) {
      double sum = 0.0;
      int count = 0;
      for (int p = 0; p < solver.ParticleCount(); ++p) {
        const int row = p / width, column = p % width;
        if (row < 8 * b || row > 8 * b + 3 || 3 * column < width || 3 * column >= 2 * width) continue;
        sum += solver.Velocity(p).y;
        ++count;
      }
      std::printf("  %10.3f", sum / count * scene.frame_dt_s / scene.particle_spacing_m);
    }
    std::printf("\n");
    if (frame < frames) solver.StepFrame();
  }
  return 0;
}
