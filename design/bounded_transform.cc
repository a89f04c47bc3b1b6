// The tanh change of variables between bounded parameters and unconstrained ones.
#include "design/bounded_transform.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace flowdesign::design {

BoundedTransform::BoundedTransform(std::vector<double> lower, std::vector<double> upper,
                                   double margin)
    : lower_(std::move(lower)), upper_(std::move(upper)), margin_(margin) {
  if (lower_.size() != upper_.size()) {
    std::ostringstream message;
    message << "bounds: lower has " << lower_.size() << " entries but upper has "
            << upper_.size();
    throw std::invalid_argument(message.str());
  }
  for (size_t i = 0; i < lower_.size(); ++i) {
    if (!std::isfinite(lower_[i]) || !std::isfinite(upper_[i]) || lower_[i] > upper_[i]) {
      std::ostringstream message;
      message << "bounds[" << i << "]: must be finite with lower <= upper (got [" << lower_[i]
              << ", " << upper_[i] << "])";
      throw std::invalid_argument(message.str());
    }
  }
  if (!(margin_ > 0.0 && margin_ < 1.0)) {
    std::ostringstream message;
    message << "bounded transform margin: must be in (0, 1) (got " << margin_ << ")";
    throw std::invalid_argument(message.str());
  }
}

void BoundedTransform::XFromZ(const double* z, double* x) const {
  for (size_t i = 0; i < lower_.size(); ++i) {
    if (IsFixed(static_cast<int>(i))) {
      x[i] = lower_[i];
      continue;
    }
    const double w = 0.5 * (std::tanh(z[i]) + 1.0);  // in [0, 1]
    x[i] = std::clamp(lower_[i] + (upper_[i] - lower_[i]) * w, lower_[i], upper_[i]);
  }
}

void BoundedTransform::ZFromX(const double* x, double* z) const {
  for (size_t i = 0; i < lower_.size(); ++i) {
    if (IsFixed(static_cast<int>(i))) {
      z[i] = 0.0;
      continue;
    }
    const double clamped = std::clamp(x[i], lower_[i], upper_[i]);
    const double s = 2.0 * (clamped - lower_[i]) / (upper_[i] - lower_[i]) - 1.0;
    z[i] = std::atanh(std::clamp(s, -1.0 + margin_, 1.0 - margin_));
  }
}

void BoundedTransform::GradientZFromX(const double* z, const double* gradient_x,
                                      double* gradient_z) const {
  for (size_t i = 0; i < lower_.size(); ++i) {
    if (IsFixed(static_cast<int>(i))) {
      gradient_z[i] = 0.0;
      continue;
    }
    const double t = std::tanh(z[i]);
    gradient_z[i] = gradient_x[i] * 0.5 * (upper_[i] - lower_[i]) * (1.0 - t * t);
  }
}

std::vector<double> BoundedTransform::XFromZ(const std::vector<double>& z) const {
  std::vector<double> x(lower_.size());
  XFromZ(z.data(), x.data());
  return x;
}

std::vector<double> BoundedTransform::ZFromX(const std::vector<double>& x) const {
  std::vector<double> z(lower_.size());
  ZFromX(x.data(), z.data());
  return z;
}

std::vector<double> BoundedTransform::GradientZFromX(const std::vector<double>& z,
                                                     const std::vector<double>& gradient_x) const {
  std::vector<double> gradient_z(lower_.size());
  GradientZFromX(z.data(), gradient_x.data(), gradient_z.data());
  return gradient_z;
}

}  // namespace flowdesign::design
