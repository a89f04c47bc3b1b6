#include "simulator/npy.h"

#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "tasks/file_util.h"

namespace flowdesign::simulator {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

std::string Header(const char* descr, const std::vector<int64_t>& shape) {
  std::ostringstream dict;
  dict << "{'descr': '" << descr << "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) dict << (i > 0 ? ", " : "") << shape[i];
  if (shape.size() == 1) dict << ",";  // a 1-tuple in Python syntax
  dict << "), }";
  std::string text = dict.str();
  const size_t unpadded = 6 + 2 + 2 + text.size() + 1;  // magic, version, length, text, '\n'
  text.append((64 - unpadded % 64) % 64, ' ');
  text.push_back('\n');
  std::string header(kMagic, 6);
  header.push_back('\x01');
  header.push_back('\x00');
  const uint16_t length = static_cast<uint16_t>(text.size());
  header.push_back(static_cast<char>(length & 0xff));
  header.push_back(static_cast<char>(length >> 8));
  return header + text;
}

int64_t Count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

template <typename T>
void Write(const std::string& path, const char* descr, const std::vector<int64_t>& shape, const T* data) {
  std::string bytes = Header(descr, shape);
  const size_t payload = static_cast<size_t>(Count(shape)) * sizeof(T);
  const size_t offset = bytes.size();
  bytes.resize(offset + payload);
  if (payload > 0) std::memcpy(bytes.data() + offset, data, payload);
  tasks::WriteFileAtomically(path, bytes);
}

template <typename T>
NpyArray<T> Read(const std::string& path, const char* descr) {
  const std::string bytes = tasks::ReadFile(path);
  if (bytes.size() < 10 || bytes.compare(0, 6, kMagic, 6) != 0) {
    throw std::runtime_error(path + ": not a .npy file");
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw std::runtime_error(path + ": truncated .npy header");
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    start = 12;
  } else {
    throw std::runtime_error(path + ": unsupported .npy version " + std::to_string(major));
  }
  if (bytes.size() < start + header_len) throw std::runtime_error(path + ": truncated .npy header");
  const std::string header = bytes.substr(start, header_len);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([^']*)'")) || m[1] != descr) {
    throw std::runtime_error(path + ": expected dtype " + descr);
  }
  if (header.find("'fortran_order': False") == std::string::npos) {
    throw std::runtime_error(path + ": Fortran-ordered arrays are not supported");
  }
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)"))) {
    throw std::runtime_error(path + ": .npy header has no shape");
  }
  NpyArray<T> array;
  const std::string dims = m[1];
  const std::regex number("\\d+");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it) {
    array.shape.push_back(std::stoll(it->str()));
  }
  const size_t payload = static_cast<size_t>(Count(array.shape)) * sizeof(T);
  const size_t offset = start + header_len;
  if (bytes.size() != offset + payload) {
    throw std::runtime_error(path + ": data size does not match its shape (corrupt or truncated)");
  }
  array.data.resize(static_cast<size_t>(Count(array.shape)));
  if (payload > 0) std::memcpy(array.data.data(), bytes.data() + offset, payload);
  return array;
}

}  // namespace

void WriteNpy(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  Write(path, "<f4", shape, data);
}
void WriteNpy(const std::string& path, const std::vector<int64_t>& shape, const int32_t* data) {
  Write(path, "<i4", shape, data);
}
NpyArray<float> ReadNpyFloat(const std::string& path) { return Read<float>(path, "<f4"); }
NpyArray<int32_t> ReadNpyInt(const std::string& path) { return Read<int32_t>(path, "<i4"); }

}  // namespace flowdesign::simulator
