#include "design/parameterization.h"

#include <cmath>
#include <stdexcept>

#include "tasks/tool_geometry.h"

namespace flowdesign::design {
namespace {

// Capsules joining consecutive points [n, 2] with the given radius -> [n - 1, 5].
torch::Tensor PolylineCapsuleTensor(const torch::Tensor& points, double radius) {
  const int64_t n = points.size(0);
  const torch::Tensor r = torch::full({n - 1, 1}, radius, points.options());
  return torch::cat({points.narrow(0, 0, n - 1), points.narrow(0, 1, n - 1), r}, 1);
}

}  // namespace

torch::Tensor ChainPointsTensor(const tasks::ChainTool& chain, const torch::Tensor& angles_deg) {
  const torch::Tensor absolute = torch::cumsum(angles_deg * (tasks::kPi / 180.0), 0);
  const torch::Tensor steps = torch::stack({torch::cos(absolute), torch::sin(absolute)}, 1) * chain.segment_length_m;
  const torch::Tensor anchor = torch::tensor({chain.anchor.x, chain.anchor.y}, angles_deg.options()).unsqueeze(0);
  return torch::cat({anchor, anchor + torch::cumsum(steps, 0)}, 0);
}

Parameterization::Parameterization(const tasks::Task& task) : tools_(task.tools) {
  const std::vector<tasks::Capsule> walls = tasks::WallCapsules(task);
  wall_capsules_ = static_cast<int>(walls.size());
  std::vector<double> flat;
  for (const tasks::Capsule& c : walls) {
    for (double v : {c.a.x, c.a.y, c.b.x, c.b.y, c.radius}) flat.push_back(v);
  }
  walls_ = torch::tensor(flat, torch::kFloat64).reshape({wall_capsules_, 5});
  for (const tasks::Tool& tool : task.tools) {
    tool_capsules_ += tool.kind == tasks::ToolKind::kChain ? tool.chain.segments : 1;
  }
  lower_ = tasks::LowerBounds(task);
  upper_ = tasks::UpperBounds(task);
  initial_ = tasks::InitialParameters(task);
}

bool Parameterization::WithinBounds(const std::vector<double>& x) const {
  if (static_cast<int>(x.size()) != Dimension()) return false;
  for (size_t i = 0; i < x.size(); ++i) {
    const double tolerance = 1e-9 * std::max(1.0, std::abs(upper_[i] - lower_[i]));
    if (!(x[i] >= lower_[i] - tolerance && x[i] <= upper_[i] + tolerance)) return false;
  }
  return true;
}

torch::Tensor Parameterization::Capsules(const torch::Tensor& parameters) const {
  if (parameters.dim() != 1 || parameters.size(0) != Dimension()) {
    throw std::invalid_argument("expected " + std::to_string(Dimension()) + " design parameters");
  }
  std::vector<torch::Tensor> pieces{walls_.to(parameters.options())};
  int64_t offset = 0;
  for (const tasks::Tool& tool : tools_) {
    const int64_t n = tool.ParameterCount();
    const torch::Tensor p = parameters.narrow(0, offset, n);
    offset += n;
    if (tool.kind == tasks::ToolKind::kChain) {
      pieces.push_back(PolylineCapsuleTensor(ChainPointsTensor(tool.chain, p), 0.5 * tool.thickness_m));
    } else {
      const torch::Tensor angle = p[2] * (tasks::kPi / 180.0);
      const torch::Tensor half = torch::stack({torch::cos(angle), torch::sin(angle)}) * (0.5 * tool.ramp.length_m);
      const torch::Tensor center = p.narrow(0, 0, 2);
      const torch::Tensor r = torch::full({1}, 0.5 * tool.thickness_m, parameters.options());
      pieces.push_back(torch::cat({center - half, center + half, r}).unsqueeze(0));
    }
  }
  return torch::cat(pieces, 0);
}

}  // namespace flowdesign::design
