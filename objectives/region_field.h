// Signed distance to a task region as LibTorch ops, differentiable with respect to the points;
// the tensor twin of tasks::Region::SignedDistance (tasks/geometry.h), which it matches in double.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "tasks/geometry.h"
#include "tasks/task.h"

namespace flowdesign::objectives {

// All functions take points [..., 2] (typically [n, 2]) of a floating dtype on any device and
// return [...] in the same dtype and device. The shape's vertices are converted to that dtype.
// Distances are in metres, negative inside and positive outside.
//
// Gradients: d sd / d p is the unit vector away from the nearest boundary point (pointing
// outward). Where it is undefined (exactly on a polygon edge or box corner, on the medial axis)
// the gradient of one of the candidates is taken; it is always finite.

// Box: outside = |max(d, 0)|, inside = min(max(d.x, d.y), 0), d = |p - centre| - half size.
torch::Tensor BoxSignedDistance(const tasks::Box& box, const torch::Tensor& points);

// Polygon (closed implicitly, either orientation, >= 3 vertices): the distance to the nearest
// edge, negated inside by the even-odd rule of tasks::PolygonContains.
torch::Tensor PolygonSignedDistance(const std::vector<tasks::Vec2>& polygon, const torch::Tensor& points);

// Boolean [...] mask, true where tasks::PolygonContains would be (even-odd rule). Not differentiable.
torch::Tensor PolygonContainsMask(const std::vector<tasks::Vec2>& polygon, const torch::Tensor& points);

// Dispatches on region.shape.
torch::Tensor RegionSignedDistance(const tasks::Region& region, const torch::Tensor& points);

}  // namespace flowdesign::objectives
