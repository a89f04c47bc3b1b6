// NumPy .npy files (format 1.0, little-endian, C order) for float32 and int32 arrays, so
// trajectories and data sets open directly in NumPy and other tools.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flowdesign::simulator {

template <typename T>
struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<T> data;  // C order
};

void WriteNpy(const std::string& path, const std::vector<int64_t>& shape, const float* data);
void WriteNpy(const std::string& path, const std::vector<int64_t>& shape, const int32_t* data);
// Throw std::runtime_error naming the file for a missing file, a bad header or a dtype mismatch.
NpyArray<float> ReadNpyFloat(const std::string& path);
NpyArray<int32_t> ReadNpyInt(const std::string& path);

}  // namespace flowdesign::simulator
