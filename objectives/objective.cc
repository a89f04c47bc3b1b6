#include "objectives/objective.h"

#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "objectives/terms.h"

namespace flowdesign::objectives {
namespace {

using tasks::ObjectiveKind;

bool IsRegionTerm(ObjectiveKind kind) { return kind != ObjectiveKind::kSmoothness; }

std::string FormatNumber(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string DescribeRegion(const tasks::Region& region) {
  if (region.shape == tasks::RegionShape::kBox) return "box";
  return "polygon, " + std::to_string(region.polygon.size()) + " vertices";
}

}  // namespace

void ObjectiveOptions::Validate() const {
  if (!(temperature_m > 0.0) || !std::isfinite(temperature_m)) {
    throw std::invalid_argument("ObjectiveOptions.temperature_m: must be > 0 and finite (got " +
                                FormatNumber(temperature_m) + ")");
  }
}

Objective::Objective(const tasks::Task& task, const ObjectiveOptions& options)
    : options_(options), tools_(task.tools) {
  options_.Validate();
  for (size_t k = 0; k < task.objective.size(); ++k) {
    const tasks::ObjectiveTerm& source = task.objective[k];
    const std::string where = "objective[" + std::to_string(k) + "] (" + tasks::ObjectiveKindName(source.kind) + ")";
    if (!(source.weight >= 0.0) || !std::isfinite(source.weight)) {
      throw std::invalid_argument(where + ": weight must be >= 0 and finite (got " + FormatNumber(source.weight) +
                                  ")");
    }
    if (source.last_frames < 1) {
      throw std::invalid_argument(where + ": last_frames must be >= 1 (got " + std::to_string(source.last_frames) +
                                  ")");
    }
    Term term;
    term.kind = source.kind;
    term.weight = source.weight;
    term.sign = source.kind == ObjectiveKind::kFractionInside ? -1.0 : 1.0;
    term.last_frames = IsRegionTerm(source.kind) ? source.last_frames : 1;
    term.name = tasks::ObjectiveKindName(source.kind);
    if (IsRegionTerm(source.kind)) {
      const tasks::Region* region = task.FindRegion(source.region);
      if (region == nullptr) {
        throw std::invalid_argument(where + ": unknown region '" + source.region + "'");
      }
      if (region->shape == tasks::RegionShape::kPolygon && region->polygon.size() < 3) {
        throw std::invalid_argument(where + ": region '" + source.region + "' has fewer than 3 vertices");
      }
      term.region = *region;
      term.name += "(" + source.region + ")";
    }
    terms_.push_back(std::move(term));
  }
}

bool Objective::UsesParameters() const {
  for (const Term& term : terms_) {
    if (term.kind == ObjectiveKind::kSmoothness) return true;
  }
  return false;
}

int Objective::ParameterCount() const {
  int count = 0;
  for (const tasks::Tool& tool : tools_) count += tool.ParameterCount();
  return count;
}

std::vector<double> Objective::ExactValues(const torch::Tensor& positions, const std::vector<int>& birth_frame,
                                           const std::vector<double>& parameters) const {
  const FrameData frames = PrepareFrameData(positions, birth_frame);  // checks finiteness
  std::vector<double> values;
  values.reserve(terms_.size());
  for (const Term& term : terms_) {
    switch (term.kind) {
      case ObjectiveKind::kFractionInside:
      case ObjectiveKind::kKeepOut:
        values.push_back(ExactFractionInside(frames, term.region, term.last_frames));
        break;
      case ObjectiveKind::kDistanceToRegion:
        values.push_back(ExactDistanceToRegion(frames, term.region, term.last_frames));
        break;
      case ObjectiveKind::kSmoothness:
        values.push_back(ChainSmoothness(tools_, parameters));
        break;
    }
  }
  return values;
}

std::vector<torch::Tensor> Objective::SmoothValues(const torch::Tensor& positions, const std::vector<int>& birth_frame,
                                                   const torch::Tensor& parameters) const {
  const FrameTensors frames = PrepareFrameTensors(positions, birth_frame);  // checks finiteness
  const double t = options_.temperature_m;
  std::vector<torch::Tensor> values;
  values.reserve(terms_.size());
  for (const Term& term : terms_) {
    switch (term.kind) {
      case ObjectiveKind::kFractionInside:
      case ObjectiveKind::kKeepOut:
        values.push_back(SmoothFractionInside(frames, term.region, term.last_frames, t));
        break;
      case ObjectiveKind::kDistanceToRegion:
        values.push_back(SmoothDistanceToRegion(frames, term.region, term.last_frames, t));
        break;
      case ObjectiveKind::kSmoothness:
        if (!parameters.defined()) {
          throw std::invalid_argument("smoothness: needs the design parameters (got an undefined tensor)");
        }
        values.push_back(ChainSmoothness(tools_, parameters)
                             .to(torch::TensorOptions().dtype(positions.scalar_type()).device(positions.device())));
        break;
    }
  }
  return values;
}

torch::Tensor Objective::Smooth(const torch::Tensor& positions, const std::vector<int>& birth_frame,
                                const torch::Tensor& parameters) const {
  const std::vector<torch::Tensor> values = SmoothValues(positions, birth_frame, parameters);
  // Every region term is connected to `positions` and smoothness to `parameters`, even where
  // its value is 0; an objective without terms is a constant 0.
  torch::Tensor total = torch::zeros({}, torch::TensorOptions().dtype(positions.scalar_type()).device(positions.device()));
  for (size_t k = 0; k < terms_.size(); ++k) {
    total = total + terms_[k].sign * terms_[k].weight * values[k];
  }
  return total;
}

double Objective::Exact(const torch::Tensor& positions, const std::vector<int>& birth_frame,
                        const std::vector<double>& parameters) const {
  const std::vector<double> values = ExactValues(positions, birth_frame, parameters);
  double total = 0.0;
  for (size_t k = 0; k < terms_.size(); ++k) total += terms_[k].sign * terms_[k].weight * values[k];
  return total;
}

std::vector<TermReport> Objective::Report(const torch::Tensor& positions, const std::vector<int>& birth_frame,
                                          const std::vector<double>& parameters) const {
  const std::vector<double> exact = ExactValues(positions, birth_frame, parameters);
  std::vector<torch::Tensor> smooth;
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor parameter_tensor =
        torch::tensor(parameters, torch::TensorOptions().dtype(torch::kFloat64)).reshape({-1});
    smooth = SmoothValues(positions.detach(), birth_frame, parameter_tensor);
  }
  std::vector<TermReport> report;
  for (size_t k = 0; k < terms_.size(); ++k) {
    const Term& term = terms_[k];
    TermReport line;
    line.name = term.name;
    line.kind = term.kind;
    line.weight = term.weight;
    line.sign = term.sign;
    line.last_frames = term.last_frames;
    line.exact_value = exact[k];
    line.smooth_value = smooth[k].item<double>();
    line.exact_contribution = term.sign * term.weight * line.exact_value;
    line.smooth_contribution = term.sign * term.weight * line.smooth_value;
    report.push_back(line);
  }
  return report;
}

std::string Objective::Describe() const {
  std::ostringstream out;
  for (const Term& term : terms_) {
    out << (term.sign < 0 ? "-" : "+") << FormatNumber(term.weight) << " * " << term.name;
    if (IsRegionTerm(term.kind)) {
      out << " [" << DescribeRegion(term.region) << "], ";
      if (term.last_frames == 1) {
        out << "last frame";
      } else {
        out << "mean over the last " << term.last_frames << " frames";
      }
      out << (term.kind == ObjectiveKind::kDistanceToRegion ? " (m)" : " (fraction)");
    } else {
      out << ", mean squared bend over " << SmoothnessJointCount(tools_) << " chain joints (rad^2)";
    }
    out << "\n";
  }
  return out.str();
}

std::string FormatReport(const std::vector<TermReport>& report) {
  std::string text;
  char line[256];
  std::snprintf(line, sizeof(line), "%-32s %8s %12s %12s %13s %13s\n", "term", "weight", "exact", "smooth",
                "contribution", "(smooth)");
  text += line;
  double exact_total = 0.0, smooth_total = 0.0;
  for (const TermReport& term : report) {
    std::snprintf(line, sizeof(line), "%-32s %8.3g %12.6g %12.6g %+13.6g %+13.6g\n", term.name.c_str(),
                  term.sign * term.weight, term.exact_value, term.smooth_value, term.exact_contribution,
                  term.smooth_contribution);
    text += line;
    exact_total += term.exact_contribution;
    smooth_total += term.smooth_contribution;
  }
  std::snprintf(line, sizeof(line), "%-32s %8s %12s %12s %+13.6g %+13.6g\n", "total (minimized)", "", "", "",
                exact_total, smooth_total);
  text += line;
  return text;
}

}  // namespace flowdesign::objectives
