#include "objectives/terms.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

#include "objectives/region_field.h"

namespace flowdesign::objectives {
namespace {

void CheckShape(const torch::Tensor& positions, const std::vector<int>& birth_frame) {
  if (!positions.defined()) throw std::invalid_argument("objective: positions is an undefined tensor");
  if (positions.dim() != 3 || positions.size(2) != 2 || positions.size(0) < 1) {
    std::ostringstream out;
    out << "objective: positions must have shape [frames + 1, particles, 2] (got " << positions.sizes() << ")";
    throw std::invalid_argument(out.str());
  }
  if (!positions.is_floating_point()) {
    throw std::invalid_argument("objective: positions must be float or double");
  }
  if (!birth_frame.empty() && static_cast<int64_t>(birth_frame.size()) != positions.size(1)) {
    throw std::invalid_argument("objective: birth_frame has " + std::to_string(birth_frame.size()) +
                                " entries for " + std::to_string(positions.size(1)) + " particles");
  }
  for (size_t i = 0; i < birth_frame.size(); ++i) {
    if (birth_frame[i] < 0) {
      throw std::invalid_argument("objective: birth_frame[" + std::to_string(i) + "] must be >= 0 (got " +
                                  std::to_string(birth_frame[i]) + ")");
    }
  }
}

[[noreturn]] void ThrowNonFinite(int64_t frame, int64_t particle, double x, double y) {
  std::ostringstream out;
  out << "objective: the position of particle " << particle << " at frame " << frame << " is not finite (" << x
      << ", " << y << "); the simulation diverged";
  throw std::runtime_error(out.str());
}

void CheckLastFrames(int last_frames, int64_t frames, const char* term) {
  if (last_frames < 1 || last_frames > frames) {
    throw std::invalid_argument(std::string(term) + ": last_frames must be in [1, " + std::to_string(frames) +
                                "] for " + std::to_string(frames) + " frames (got " + std::to_string(last_frames) +
                                ")");
  }
}

void CheckTemperature(double temperature_m, const char* term) {
  if (!(temperature_m > 0.0) || !std::isfinite(temperature_m)) {
    std::ostringstream out;
    out << term << ": temperature_m must be > 0 and finite (got " << temperature_m << ")";
    throw std::invalid_argument(out.str());
  }
}

// Mean over the frames that have alive particles of the per-frame mean over alive particles.
// values, alive: [k, N]. The result stays connected to the graph of `values` even when nothing
// is alive (then it is 0).
torch::Tensor MeanOverAlive(const torch::Tensor& values, const torch::Tensor& alive) {
  const torch::Tensor weight = alive.to(values.scalar_type());
  const torch::Tensor count = weight.sum(1);                      // [k]
  const torch::Tensor per_frame = (values * weight).sum(1) / count.clamp_min(1.0);
  const torch::Tensor has_alive = (count > 0).to(values.scalar_type());
  return (per_frame * has_alive).sum() / has_alive.sum().clamp_min(1.0);
}

// The same average in double for the exact terms; `value(p)` is the term at one particle.
template <typename PerParticle>
double ExactMeanOverAlive(const FrameData& frames, int last_frames, PerParticle value) {
  double sum_over_frames = 0.0;
  int frames_with_particles = 0;
  for (int f = frames.frames - last_frames; f < frames.frames; ++f) {
    double sum = 0.0;
    int count = 0;
    for (int i = 0; i < frames.particles; ++i) {
      if (!frames.Alive(f, i)) continue;
      sum += value(frames.Position(f, i));
      ++count;
    }
    if (count > 0) {
      sum_over_frames += sum / count;
      ++frames_with_particles;
    }
  }
  return frames_with_particles > 0 ? sum_over_frames / frames_with_particles : 0.0;
}

// Signed distances [k, N] of the last k frames' positions.
torch::Tensor LastFramesSignedDistance(const FrameTensors& frames, const tasks::Region& region, int last_frames) {
  const int64_t f = frames.positions.size(0);
  return RegionSignedDistance(region, frames.positions.narrow(0, f - last_frames, last_frames));
}

torch::Tensor LastFramesAlive(const FrameTensors& frames, int last_frames) {
  const int64_t f = frames.alive.size(0);
  return frames.alive.narrow(0, f - last_frames, last_frames);
}

void CheckParameterCount(const std::vector<tasks::Tool>& tools, int64_t count) {
  int expected = 0;
  for (const tasks::Tool& tool : tools) expected += tool.ParameterCount();
  if (count != expected) {
    throw std::invalid_argument("smoothness: expected " + std::to_string(expected) +
                                " design parameters (the tools' parameters in task order), got " +
                                std::to_string(count));
  }
}

constexpr double kRadPerDeg = tasks::kPi / 180.0;

}  // namespace

FrameTensors PrepareFrameTensors(const torch::Tensor& positions, const std::vector<int>& birth_frame) {
  CheckShape(positions, birth_frame);
  const int64_t frames = positions.size(0);
  const int64_t particles = positions.size(1);
  FrameTensors out;
  if (birth_frame.empty()) {
    out.alive = torch::ones({frames, particles}, torch::TensorOptions().dtype(torch::kBool).device(positions.device()));
  } else {
    std::vector<int64_t> birth(birth_frame.begin(), birth_frame.end());
    const torch::Tensor born = torch::tensor(birth, torch::TensorOptions().dtype(torch::kInt64)).to(positions.device());
    const torch::Tensor frame = torch::arange(frames, torch::TensorOptions().dtype(torch::kInt64).device(positions.device()));
    out.alive = frame.unsqueeze(1) >= born.unsqueeze(0);
  }
  const torch::Tensor bad = torch::logical_and(out.alive, torch::isfinite(positions.detach()).all(2).logical_not());
  if (bad.any().item<bool>()) {
    const torch::Tensor where = bad.nonzero()[0].cpu();
    const int64_t f = where[0].item<int64_t>(), i = where[1].item<int64_t>();
    const torch::Tensor p = positions.detach()[f][i].to(torch::kCPU, torch::kFloat64);
    ThrowNonFinite(f, i, p[0].item<double>(), p[1].item<double>());
  }
  out.positions = birth_frame.empty() ? positions
                                      : torch::where(out.alive.unsqueeze(2), positions, torch::zeros_like(positions));
  return out;
}

FrameData PrepareFrameData(const torch::Tensor& positions, const std::vector<int>& birth_frame) {
  CheckShape(positions, birth_frame);
  FrameData out;
  out.frames = static_cast<int>(positions.size(0));
  out.particles = static_cast<int>(positions.size(1));
  out.birth_frame = birth_frame;
  const torch::Tensor host = positions.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const double* data = host.data_ptr<double>();
  out.xy.assign(data, data + host.numel());
  for (int f = 0; f < out.frames; ++f) {
    for (int i = 0; i < out.particles; ++i) {
      if (!out.Alive(f, i)) continue;
      const tasks::Vec2 p = out.Position(f, i);
      if (!tasks::IsFinite(p)) ThrowNonFinite(f, i, p.x, p.y);
    }
  }
  return out;
}

torch::Tensor SmoothFractionInside(const FrameTensors& frames, const tasks::Region& region, int last_frames,
                                   double temperature_m) {
  CheckLastFrames(last_frames, frames.positions.size(0), "fraction_inside");
  CheckTemperature(temperature_m, "fraction_inside");
  const torch::Tensor sd = LastFramesSignedDistance(frames, region, last_frames);
  return MeanOverAlive(torch::sigmoid(-sd / temperature_m), LastFramesAlive(frames, last_frames));
}

double ExactFractionInside(const FrameData& frames, const tasks::Region& region, int last_frames) {
  CheckLastFrames(last_frames, frames.frames, "fraction_inside");
  return ExactMeanOverAlive(frames, last_frames,
                            [&](tasks::Vec2 p) { return region.Contains(p) ? 1.0 : 0.0; });
}

torch::Tensor SmoothDistanceToRegion(const FrameTensors& frames, const tasks::Region& region, int last_frames,
                                     double temperature_m) {
  CheckLastFrames(last_frames, frames.positions.size(0), "distance_to_region");
  CheckTemperature(temperature_m, "distance_to_region");
  const torch::Tensor sd = LastFramesSignedDistance(frames, region, last_frames);
  // softplus(x, beta) = log(1 + exp(beta x)) / beta; linear (exact to ~1e-9 T) past beta x = 20.
  const torch::Tensor distance = torch::softplus(sd, /*beta=*/1.0 / temperature_m, /*threshold=*/20.0);
  return MeanOverAlive(distance, LastFramesAlive(frames, last_frames));
}

double ExactDistanceToRegion(const FrameData& frames, const tasks::Region& region, int last_frames) {
  CheckLastFrames(last_frames, frames.frames, "distance_to_region");
  return ExactMeanOverAlive(frames, last_frames,
                            [&](tasks::Vec2 p) { return std::max(region.SignedDistance(p), 0.0); });
}

torch::Tensor ChainSmoothness(const std::vector<tasks::Tool>& tools, const torch::Tensor& parameters) {
  if (!parameters.defined() || parameters.dim() != 1 || !parameters.is_floating_point()) {
    throw std::invalid_argument("smoothness: parameters must be a 1-D float or double tensor");
  }
  CheckParameterCount(tools, parameters.size(0));
  const torch::Tensor finite = torch::isfinite(parameters.detach());
  if (!finite.all().item<bool>()) {
    const int64_t bad = finite.logical_not().nonzero()[0][0].item<int64_t>();
    throw std::invalid_argument("smoothness: design parameter " + std::to_string(bad) + " is not finite");
  }
  torch::Tensor sum_sq = (parameters * 0.0).sum();  // 0, connected to the graph of `parameters`
  int joints = 0;
  int64_t offset = 0;
  for (const tasks::Tool& tool : tools) {
    if (tool.kind == tasks::ToolKind::kChain && tool.ParameterCount() >= 2) {
      const int64_t bends = tool.ParameterCount() - 1;
      sum_sq = sum_sq + (parameters.narrow(0, offset + 1, bends) * kRadPerDeg).square().sum();
      joints += static_cast<int>(bends);
    }
    offset += tool.ParameterCount();
  }
  return joints > 0 ? sum_sq / static_cast<double>(joints) : sum_sq;
}

double ChainSmoothness(const std::vector<tasks::Tool>& tools, const std::vector<double>& parameters) {
  CheckParameterCount(tools, static_cast<int64_t>(parameters.size()));
  for (size_t i = 0; i < parameters.size(); ++i) {
    if (!std::isfinite(parameters[i])) {
      throw std::invalid_argument("smoothness: design parameter " + std::to_string(i) + " is not finite");
    }
  }
  double sum_sq = 0.0;
  int joints = 0;
  size_t offset = 0;
  for (const tasks::Tool& tool : tools) {
    if (tool.kind == tasks::ToolKind::kChain) {
      for (int i = 1; i < tool.ParameterCount(); ++i) {
        const double bend = parameters[offset + i] * kRadPerDeg;
        sum_sq += bend * bend;
        ++joints;
      }
    }
    offset += tool.ParameterCount();
  }
  return joints > 0 ? sum_sq / joints : 0.0;
}

int SmoothnessJointCount(const std::vector<tasks::Tool>& tools) {
  int joints = 0;
  for (const tasks::Tool& tool : tools) {
    if (tool.kind == tasks::ToolKind::kChain) joints += std::max(tool.ParameterCount() - 1, 0);
  }
  return joints;
}

}  // namespace flowdesign::objectives
