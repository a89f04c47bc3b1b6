// The change of variables that lets gradient optimizers (Adam, L-BFGS) work without bounds:
// x = lower + (upper - lower) * (tanh(z) + 1) / 2 maps every real z into [lower, upper].
#pragma once

#include <vector>

namespace flowdesign::design {

// Maps between the bounded parameters x (what a Problem sees) and unconstrained variables z
// (what Adam and L-BFGS move), one coordinate at a time:
//   x = lower + (upper - lower) * (tanh(z) + 1) / 2
//   z = atanh(2 (x - lower) / (upper - lower) - 1)
// ZFromX first clamps x into the bounds and then `margin` (a fraction of the range, in the
// normalized coordinate s = 2 (x - lower) / (upper - lower) - 1 in [-1, 1]) inside them, so z is
// always finite: a start exactly on a bound becomes |s| = 1 - margin. XFromZ clamps its result
// into [lower, upper], so rounding can never put x outside the bounds; z = +-inf maps onto the
// bounds. A coordinate with lower == upper is fixed: x = lower for every z, z is 0 and its
// gradient is 0.
class BoundedTransform {
 public:
  static constexpr double kDefaultMargin = 1e-4;

  // Throws std::invalid_argument when the sizes differ, a bound is not finite, lower > upper,
  // or margin is not in (0, 1).
  BoundedTransform(std::vector<double> lower, std::vector<double> upper,
                   double margin = kDefaultMargin);

  int Dimension() const { return static_cast<int>(lower_.size()); }
  const std::vector<double>& lower() const { return lower_; }
  const std::vector<double>& upper() const { return upper_; }
  bool IsFixed(int i) const { return !(upper_[i] > lower_[i]); }

  // Arrays of Dimension() doubles. z must be free of NaN (+-inf is allowed).
  void XFromZ(const double* z, double* x) const;
  void ZFromX(const double* x, double* z) const;
  // dValue/dz from dValue/dx at z (chain rule: dx/dz = (upper - lower) / 2 * (1 - tanh(z)^2)).
  void GradientZFromX(const double* z, const double* gradient_x, double* gradient_z) const;

  std::vector<double> XFromZ(const std::vector<double>& z) const;
  std::vector<double> ZFromX(const std::vector<double>& x) const;
  std::vector<double> GradientZFromX(const std::vector<double>& z,
                                     const std::vector<double>& gradient_x) const;

 private:
  std::vector<double> lower_;
  std::vector<double> upper_;
  double margin_;
};

}  // namespace flowdesign::design
