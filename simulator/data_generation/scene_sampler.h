// Random training scenes that look like what designers build: water blocks falling onto
// chains of segments with random joint angles, cups and spoons, ramps and walls.
#pragma once

#include <random>

#include "simulator/data_generation/recipe.h"
#include "simulator/scene.h"

namespace flowdesign::simulator::data {

// One scene drawn from the recipe; deterministic for a given generator state.
Scene SampleScene(const Recipe& recipe, std::mt19937_64& rng);

}  // namespace flowdesign::simulator::data
