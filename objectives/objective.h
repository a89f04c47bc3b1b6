// The design objective of a task: the weighted sum of its terms (terms.h), to be MINIMIZED, as a
// smooth scalar tensor (for gradients through a differentiable rollout) and an exact double (for
// reporting). Formulas and defaults: docs/objectives.md.
//
//   J = sum over terms of sign * weight * value
//   term                  value (exact)                                  sign
//   fraction_inside(R)    fraction of alive particles inside R           -1  (maximized)
//   keep_out(R)           fraction of alive particles inside R           +1
//   distance_to_region(R) mean of max(sd_R(p), 0) over alive particles   +1  (metres)
//   smoothness            mean over chain joints i >= 1 of a_i^2 (rad^2) +1
// Region terms are averaged over the term's last `last_frames` frames. The smooth value replaces
// "inside" with sigmoid(-sd / T) and max(sd, 0) with T * softplus(sd / T), T = temperature_m.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "tasks/task.h"

namespace flowdesign::objectives {

struct ObjectiveOptions {
  // Width (m) of the smooth step at region boundaries: a particle at signed distance sd counts as
  // sigmoid(-sd / T) inside (0.73 at T inside, 0.27 at T outside, 0.5 on the boundary). Default:
  // half the default particle spacing (0.01 m). Smaller is closer to the exact value; larger gives
  // gradients to particles farther from the boundary.
  double temperature_m = 0.005;

  // Throws std::invalid_argument naming the field, the value and the rule it broke.
  void Validate() const;
};

// One term of one evaluation.
struct TermReport {
  std::string name;         // "fraction_inside(cup)", "smoothness"
  tasks::ObjectiveKind kind = tasks::ObjectiveKind::kFractionInside;
  double weight = 0.0;      // as in the task (>= 0)
  double sign = 1.0;        // -1 for fraction_inside, +1 otherwise
  int last_frames = 1;      // frames averaged (1 for smoothness)
  double exact_value = 0.0;           // raw, unweighted (a fraction, metres or rad^2)
  double smooth_value = 0.0;          // raw, unweighted, at the objective's temperature
  double exact_contribution = 0.0;    // sign * weight * exact_value
  double smooth_contribution = 0.0;   // sign * weight * smooth_value
};

// A table of the reports, one line per term plus the totals, for terminals and logs.
std::string FormatReport(const std::vector<TermReport>& report);

// Immutable once built (copies the regions and tools it needs from the task), so one Objective
// may be evaluated from several threads at once.
//
// positions:   [F, N, 2] (F = frames + 1, frame 0 first), metres, float or double, any device.
// birth_frame: N values (particle i is alive from that frame on) or empty (all alive from 0).
// parameters:  the flat design vector in natural units (tools in task order; see
//              tasks/tool_geometry.h). Only smoothness reads it; if the task has no smoothness
//              term it may be undefined / empty.
// Errors: std::invalid_argument for malformed input (shapes, sizes, last_frames > F);
// std::runtime_error naming the particle and frame if an alive particle's position is not
// finite (a diverged rollout), so a NaN never becomes a silent objective value.
class Objective {
 public:
  // Throws std::invalid_argument for invalid options, an unknown region, a negative or
  // non-finite weight, or last_frames < 1; messages name the term ("objective[2]: ...").
  explicit Objective(const tasks::Task& task, const ObjectiveOptions& options = {});

  // The smooth objective: a scalar tensor in the dtype and on the device of `positions`,
  // differentiable with respect to `positions` and `parameters`.
  torch::Tensor Smooth(const torch::Tensor& positions, const std::vector<int>& birth_frame,
                       const torch::Tensor& parameters) const;

  // The exact objective, computed in double on the CPU with tasks::Region.
  double Exact(const torch::Tensor& positions, const std::vector<int>& birth_frame,
               const std::vector<double>& parameters) const;

  // Every term's exact and smooth values (no gradients), in task order.
  std::vector<TermReport> Report(const torch::Tensor& positions, const std::vector<int>& birth_frame,
                                 const std::vector<double>& parameters) const;

  // One line per term, e.g. "-1 * fraction_inside(cup) [box], mean over the last 5 frames".
  std::string Describe() const;

  const ObjectiveOptions& Options() const { return options_; }
  int TermCount() const { return static_cast<int>(terms_.size()); }
  bool UsesParameters() const;  // has a smoothness term
  int ParameterCount() const;   // the design vector's length for this task

 private:
  struct Term {
    tasks::ObjectiveKind kind = tasks::ObjectiveKind::kFractionInside;
    std::string name;
    tasks::Region region;  // unused for smoothness
    double weight = 0.0;
    double sign = 1.0;
    int last_frames = 1;
  };

  // Raw (unweighted) values of every term, in task order.
  std::vector<double> ExactValues(const torch::Tensor& positions, const std::vector<int>& birth_frame,
                                  const std::vector<double>& parameters) const;
  std::vector<torch::Tensor> SmoothValues(const torch::Tensor& positions, const std::vector<int>& birth_frame,
                                          const torch::Tensor& parameters) const;

  ObjectiveOptions options_;
  std::vector<Term> terms_;
  std::vector<tasks::Tool> tools_;
};

}  // namespace flowdesign::objectives
