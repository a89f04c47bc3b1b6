// Where a data folder keeps its trajectories: DATA_DIR/{train,valid,test}/NNNNN/.
// Shared by the data generator (ground truth) and the trainer (LibTorch only).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace flowdesign::simulator {

inline const std::vector<std::string> kDataSplits = {"train", "valid", "test"};

inline std::string TrajectoryDirectory(const std::string& data_dir, const std::string& split, int index) {
  char name[16];
  std::snprintf(name, sizeof(name), "%05d", index);
  return data_dir + "/" + split + "/" + name;
}

}  // namespace flowdesign::simulator
