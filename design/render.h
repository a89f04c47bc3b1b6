// Pictures of trajectories with libgd: PNG frames, animated GIFs, and side-by-side GIFs of two
// trajectories (e.g. "ground truth | learned"). Fluid particles are blue discs of the particle
// spacing's size, walls dark grey and tools orange (capsules at their real thickness), goal
// regions translucent green with an outline, and the simulated time in the top-left corner.
// Files are encoded in memory and written atomically.
#pragma once

#include <string>
#include <vector>

#include "simulator/trajectory.h"

namespace flowdesign::design {

struct RenderOptions {
  int width_px = 512;           // the picture's height follows the domain's aspect ratio
  // GIFs: every stride-th frame (the last frame is always included). 0 = automatic: at most
  // max_gif_frames frames, and never so many that a frame would show for under 0.02 s.
  int stride = 0;
  int max_gif_frames = 150;
  double slowdown = 1.0;        // GIF playback speed: 1 = real time, 2 = twice as slow
  double end_pause_s = 1.0;     // the last GIF frame is held this long
  bool time_label = true;       // "t = 0.250 s" in the top-left corner
  std::string title;            // drawn before the time (single pictures)
  // Side-by-side pictures: the panels' captions; empty = the trajectories' simulator names.
  std::string left_title;
  std::string right_title;
  double particle_diameter_in_spacings = 1.0;
};

// The frames a GIF of `trajectory` shows, in order (first and last frame always included), and
// the stride used between them.
std::vector<int> GifFrames(int frame_count, double frame_dt_s, const RenderOptions& options);

// One frame as PNG bytes / written to `path`. Throws std::out_of_range for a frame outside
// [0, frame_count) and std::runtime_error (naming the path) when the file cannot be written.
std::string EncodeFramePng(const simulator::Trajectory& trajectory, int frame,
                           const RenderOptions& options = {});
void WriteFramePng(const simulator::Trajectory& trajectory, int frame, const std::string& path,
                   const RenderOptions& options = {});

// An endlessly looping GIF of the trajectory's frames (see RenderOptions::stride) with
// per-frame delays that follow the simulated time times `slowdown` (but at least 0.02 s per
// frame, so an explicit stride with very short frames plays slower than requested).
void WriteAnimatedGif(const simulator::Trajectory& trajectory, const std::string& path,
                      const RenderOptions& options = {});

// Two trajectories side by side in one GIF (left | right), frame for frame; the shorter one
// holds its last frame. Timing follows the left trajectory.
void WriteSideBySideGif(const simulator::Trajectory& left, const simulator::Trajectory& right,
                        const std::string& path, const RenderOptions& options = {});

}  // namespace flowdesign::design
