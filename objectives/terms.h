// The individual objective terms, each as a smooth version (LibTorch, differentiable) and an
// exact version (double, for reporting) side by side. objective.h weighs and sums them; the
// formulas are in docs/objectives.md.
//
// Positions are [F, N, 2] in metres: F = frames + 1 (frame 0 is the initial state), N particles.
// Particle i exists from frame birth_frame[i] on (an empty birth_frame: all exist from frame 0);
// before that its position is a placeholder (NaN in trajectory files, an extrapolation in the
// learned rollout) and is never read. A term over the last k frames is the mean over those frames
// of the term at each frame, where only the particles alive at that frame count. Frames with no
// particle alive are left out of that mean; with none alive in all k frames the term is 0.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "tasks/geometry.h"
#include "tasks/task.h"

namespace flowdesign::objectives {

// Positions for the smooth terms.
struct FrameTensors {
  torch::Tensor positions;  // [F, N, 2]; entries of particles not yet alive are 0 (finite gradients)
  torch::Tensor alive;      // [F, N] bool, on the positions' device
};

// Validates positions ([F, N, 2], float or double, F >= 1) and birth_frame (empty or N values
// >= 0; std::invalid_argument otherwise) and checks that the position of every particle at every
// frame where it is alive is finite: std::runtime_error naming the particle, frame and value
// otherwise. Keeps the autograd graph of `positions`.
FrameTensors PrepareFrameTensors(const torch::Tensor& positions, const std::vector<int>& birth_frame);

// Positions for the exact terms: a double copy on the CPU, with the same checks.
struct FrameData {
  int frames = 0;                // F, including the initial frame
  int particles = 0;             // N
  std::vector<double> xy;        // [F][N][2]
  std::vector<int> birth_frame;  // N values, or empty: all alive from frame 0

  bool Alive(int frame, int particle) const {
    return birth_frame.empty() || birth_frame[particle] <= frame;
  }
  tasks::Vec2 Position(int frame, int particle) const {
    const size_t i = (static_cast<size_t>(frame) * particles + particle) * 2;
    return {xy[i], xy[i + 1]};
  }
};
FrameData PrepareFrameData(const torch::Tensor& positions, const std::vector<int>& birth_frame);

// Fraction of the alive particles inside `region`, averaged over the last `last_frames` frames
// (1 <= last_frames <= F).
//   smooth: mean over alive particles of sigmoid(-sd(p) / temperature_m), sd = signed distance
//           to the region (negative inside); a scalar tensor in the positions' dtype.
//   exact:  fraction of alive particles with region.Contains(p) (boundary counts as inside).
torch::Tensor SmoothFractionInside(const FrameTensors& frames, const tasks::Region& region, int last_frames,
                                   double temperature_m);
double ExactFractionInside(const FrameData& frames, const tasks::Region& region, int last_frames);

// Mean distance (m) of the alive particles to `region` (0 inside), averaged over the last
// `last_frames` frames.
//   smooth: mean of temperature_m * softplus(sd(p) / temperature_m) = T * log(1 + exp(sd / T)),
//           which tends to max(sd, 0) as T -> 0 and exceeds it by at most T * log 2 (at sd = 0).
//   exact:  mean of max(sd(p), 0) with tasks::Region::SignedDistance.
torch::Tensor SmoothDistanceToRegion(const FrameTensors& frames, const tasks::Region& region, int last_frames,
                                     double temperature_m);
double ExactDistanceToRegion(const FrameData& frames, const tasks::Region& region, int last_frames);

// Smoothness of the chain tools (rad^2): the mean, over every joint i >= 1 of every chain, of
// (a_i in radians)^2, where a_i is joint i's angle relative to segment i - 1, i.e. the change of
// direction between consecutive segments. Joint 0 (the angle to the +x axis) is free; ramps and
// one-segment chains add no joints; with no joints at all the value is 0.
// `parameters` is the task's flat parameter vector in natural units (tools in order,
// Tool::ParameterCount() each; chain joint angles in degrees). The tensor version is
// differentiable with respect to `parameters` ([P], float or double); both are the same formula.
// std::invalid_argument if the size is not the tools' parameter count or a value is not finite.
torch::Tensor ChainSmoothness(const std::vector<tasks::Tool>& tools, const torch::Tensor& parameters);
double ChainSmoothness(const std::vector<tasks::Tool>& tools, const std::vector<double>& parameters);

// Number of joints ChainSmoothness averages over.
int SmoothnessJointCount(const std::vector<tasks::Tool>& tools);

}  // namespace flowdesign::objectives
