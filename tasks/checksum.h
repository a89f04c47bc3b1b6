// FNV-1a (64 bit) over byte buffers: a cheap fingerprint of model data and of data sets' scenes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

namespace flowdesign::tasks {

class Fnv1a64 {
 public:
  Fnv1a64& Add(const void* data, size_t size) {
    const unsigned char* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) {
      hash_ ^= bytes[i];
      hash_ *= 1099511628211ull;
    }
    return *this;
  }
  std::string Hex() const {
    std::ostringstream out;
    out << std::hex << hash_;
    return out.str();
  }

 private:
  uint64_t hash_ = 1469598103934665603ull;
};

}  // namespace flowdesign::tasks
