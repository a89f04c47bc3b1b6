// The interface through which training asks the ground truth what it does from a given state.
// The training library builds without the ground truth (FLOWDESIGN_LEARNED_ONLY), so programs
// that have it pass one in (MpmGroundTruthRun in simulator/ground_truth/mpm_solver.h).
#pragma once

#include <functional>
#include <vector>

#include "simulator/ground_truth_physics.h"
#include "simulator/scene.h"

namespace flowdesign::simulator {

// The positions after each of `frames` frames from a state of `scene` (its fluid's positions,
// each with kMpmStateWidth floats of MPM state), simulated with the given physics.
using GroundTruthRun = std::function<std::vector<std::vector<Vec2>>(
    const Scene& scene, const GroundTruthPhysics& physics, const std::vector<Vec2>& positions,
    const std::vector<float>& states, int frames)>;

}  // namespace flowdesign::simulator
