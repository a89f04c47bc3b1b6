#include "simulator/learned/model_average.h"

#include <stdexcept>

namespace flowdesign::simulator::learned {
namespace {

bool IsExtra(const std::string& name) { return name.rfind("adam.", 0) == 0 || name.rfind("ema.", 0) == 0; }

}  // namespace

ModelFile AverageModels(const std::vector<std::string>& paths) {
  if (paths.empty()) throw std::invalid_argument("no models to average");
  ModelFile average = ReadModelFile(paths.front());
  for (auto it = average.tensors.begin(); it != average.tensors.end();) {
    it = IsExtra(it->first) ? average.tensors.erase(it) : std::next(it);
  }
  for (auto& [name, tensor] : average.tensors) tensor = tensor.to(torch::kFloat64);
  const nlohmann::json config = ModelConfigToJson(average.config);
  const nlohmann::json normalization = NormalizationToJson(average.normalization);
  nlohmann::json sources = nlohmann::json::array({{{"path", paths.front()}, {"checksum", average.checksum}}});
  for (size_t k = 1; k < paths.size(); ++k) {
    const ModelFile file = ReadModelFile(paths[k]);
    const std::string& path = paths[k];
    if (ModelConfigToJson(file.config) != config) {
      throw std::invalid_argument(path + ": its model config differs from " + paths.front() + "'s");
    }
    if (NormalizationToJson(file.normalization) != normalization) {
      throw std::invalid_argument(path + ": its normalization differs from " + paths.front() +
                                  "'s (not fine-tuned from the same model?)");
    }
    for (auto& [name, sum] : average.tensors) {
      const auto found = file.tensors.find(name);
      if (found == file.tensors.end() || !found->second.sizes().equals(sum.sizes())) {
        throw std::invalid_argument(path + ": has no parameter '" + name + "' of shape " + c10::str(sum.sizes()));
      }
      sum.add_(found->second.to(torch::kFloat64));
    }
    sources.push_back({{"path", path}, {"checksum", file.checksum}});
  }
  for (auto& [name, tensor] : average.tensors) tensor = (tensor / static_cast<double>(paths.size())).to(torch::kFloat32);
  average.metadata = {{"averaged_from", sources}};
  return average;
}

}  // namespace flowdesign::simulator::learned
