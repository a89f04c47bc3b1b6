// Weight averaging of models fine-tuned from one start (a "model soup"): runs that share their
// starting weights stay in one basin, and their average is usually a smoother simulator than
// any one of them, whose checkpoint-to-checkpoint swings are as large as a fine-tune's gain.
#pragma once

#include <string>
#include <vector>

#include "simulator/learned/model_file.h"

namespace flowdesign::simulator::learned {

// The element-wise mean of the network parameters of the model files at `paths` (optimizer and
// averaging extras of checkpoints are dropped). Every file must have the same model config,
// normalization and parameter shapes; otherwise throws std::invalid_argument naming the file.
// The metadata lists the sources and their checksums.
ModelFile AverageModels(const std::vector<std::string>& paths);

}  // namespace flowdesign::simulator::learned
