// Shared test helpers: paths, output folders, small scenes. One place for tolerances and seeds.
#pragma once

#include <filesystem>
#include <string>

namespace flowdesign::testing {

inline std::string SourcePath(const std::string& relative) {
  return std::string(FLOWDESIGN_SOURCE_DIR) + "/" + relative;
}

// A fresh, empty directory under the build tree for one test's output.
inline std::string OutputDir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(FLOWDESIGN_TEST_OUTPUT_DIR) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace flowdesign::testing
