#include "cli/default_model.h"

#include <filesystem>

#include "cli/commands.h"

namespace flowdesign::cli {

std::string ModelPathOrDefault(const std::string& given) {
  std::string path = given;
  if (path.empty()) {
    const std::string relative = "models/default/model.fdm";
    path = std::filesystem::exists(relative) ? relative : std::string(FLOWDESIGN_SOURCE_DIR) + "/" + relative;
  }
  if (!std::filesystem::exists(path)) {
    throw BadInput("--model " + path + ": no such model file" +
                   (given.empty() ? " (the default model ships in models/default/; see its README)" : ""));
  }
  return path;
}

}  // namespace flowdesign::cli
