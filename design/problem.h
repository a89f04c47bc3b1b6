// What an optimizer sees: a box-bounded parameter vector, a value to minimize and (optionally)
// its gradient. Optimizers never see simulators; Ceres' FirstOrderFunction and CEM's sampler
// both wrap a Problem.
#pragma once

#include <vector>

namespace flowdesign::design {

class Problem {
 public:
  virtual ~Problem() = default;
  virtual int Dimension() const = 0;
  virtual const std::vector<double>& LowerBounds() const = 0;  // finite, lower[i] <= upper[i]
  virtual const std::vector<double>& UpperBounds() const = 0;
  // The value to minimize at x (within bounds). Must be safe to call from several threads at once.
  virtual double Value(const std::vector<double>& x) const = 0;
  // Value and gradient (gradient->size() == Dimension() on return). Only called when HasGradient().
  virtual double ValueAndGradient(const std::vector<double>& x, std::vector<double>* gradient) const = 0;
  virtual bool HasGradient() const { return true; }
  // How far the design moves from `from` to `to`: for tools, the largest distance any segment end
  // travels, in metres. 0 for problems without such a measure (then no step limit applies).
  virtual double Displacement(const std::vector<double>& from, const std::vector<double>& to) const {
    (void)from;
    (void)to;
    return 0.0;
  }
};

}  // namespace flowdesign::design
