#include "simulator/learned/model_file.h"

#include <cstring>
#include <sstream>
#include <stdexcept>

#include "tasks/checksum.h"
#include "tasks/file_util.h"

namespace flowdesign::simulator::learned {
namespace {

constexpr char kMagic[8] = {'F', 'D', 'G', 'N', 'S', 'M', 'D', 'L'};

template <typename T>
void Append(std::string* bytes, T value) {
  bytes->append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <typename T>
T ReadAt(const std::string& bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

}  // namespace

void WriteModelFile(const std::string& path, const ModelFile& file) {
  nlohmann::json header;
  header["format_version"] = kModelFormatVersion;
  header["config"] = ModelConfigToJson(file.config);
  header["normalization"] = NormalizationToJson(file.normalization);
  header["metadata"] = file.metadata;
  header["tensors"] = nlohmann::json::array();
  std::string data;
  for (const auto& [name, tensor] : file.tensors) {
    const torch::Tensor t = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    header["tensors"].push_back({{"name", name}, {"shape", t.sizes().vec()}, {"offset", data.size()}});
    data.append(reinterpret_cast<const char*>(t.data_ptr<float>()), t.numel() * sizeof(float));
  }
  header["data_bytes"] = data.size();
  header["checksum"] = tasks::Fnv1a64().Add(data.data(), data.size()).Hex();
  const std::string text = header.dump();
  std::string bytes(kMagic, sizeof(kMagic));
  Append<uint32_t>(&bytes, kModelFormatVersion);
  Append<uint32_t>(&bytes, 0);
  Append<uint64_t>(&bytes, text.size());
  bytes += text;
  bytes += data;
  tasks::WriteFileAtomically(path, bytes);
}

ModelFile ReadModelFile(const std::string& path) {
  const std::string bytes = tasks::ReadFile(path);
  auto fail = [&](const std::string& reason) { return std::runtime_error(path + ": " + reason); };
  if (bytes.size() < 24 || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    throw fail("not a flowdesign model file");
  }
  const uint32_t version = ReadAt<uint32_t>(bytes, 8);
  if (version != kModelFormatVersion) {
    throw fail("unsupported model format version " + std::to_string(version) + " (this build reads " +
               std::to_string(kModelFormatVersion) + ")");
  }
  const uint64_t header_length = ReadAt<uint64_t>(bytes, 16);
  if (bytes.size() < 24 + header_length) throw fail("truncated header");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(24, header_length));
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("corrupt header: ") + e.what());
  }
  ModelFile file;
  const size_t data_offset = 24 + header_length;
  try {
    file.config = ModelConfigFromJson(header.at("config"), path);
    file.normalization = NormalizationFromJson(header.at("normalization"));
    file.metadata = header.value("metadata", nlohmann::json::object());
    const size_t data_bytes = header.at("data_bytes").get<size_t>();
    if (bytes.size() != data_offset + data_bytes) throw fail("truncated or padded tensor data");
    file.checksum = tasks::Fnv1a64().Add(bytes.data() + data_offset, data_bytes).Hex();
    if (file.checksum != header.at("checksum").get<std::string>()) {
      throw fail("checksum mismatch (corrupt file)");
    }
    for (const nlohmann::json& entry : header.at("tensors")) {
      const auto shape = entry.at("shape").get<std::vector<int64_t>>();
      const size_t offset = entry.at("offset").get<size_t>();
      int64_t count = 1;
      for (int64_t d : shape) count *= d;
      if (offset + count * sizeof(float) > data_bytes) throw fail("tensor out of range: " + entry.at("name").get<std::string>());
      torch::Tensor t = torch::empty(shape, torch::kFloat32);
      std::memcpy(t.data_ptr<float>(), bytes.data() + data_offset + offset, count * sizeof(float));
      file.tensors[entry.at("name").get<std::string>()] = t;
    }
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("corrupt header: ") + e.what());
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
  return file;
}

std::map<std::string, torch::Tensor> NetworkTensors(LearnedSimulator& simulator) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& item : simulator.Network()->named_parameters()) tensors[item.key()] = item.value();
  return tensors;
}

void SaveModel(const std::string& path, LearnedSimulator& simulator, const nlohmann::json& metadata,
               const std::map<std::string, torch::Tensor>& extra_tensors) {
  ModelFile file;
  file.config = simulator.Config();
  file.normalization = simulator.Norm();
  file.metadata = metadata;
  file.tensors = NetworkTensors(simulator);
  for (const auto& [name, tensor] : extra_tensors) file.tensors[name] = tensor;
  WriteModelFile(path, file);
}

std::unique_ptr<LearnedSimulator> LoadModel(const std::string& path, ModelFile* file_out) {
  ModelFile file = ReadModelFile(path);
  auto simulator = std::make_unique<LearnedSimulator>(file.config, file.normalization);
  torch::NoGradGuard no_grad;
  for (const auto& item : simulator->Network()->named_parameters()) {
    const auto it = file.tensors.find(item.key());
    if (it == file.tensors.end()) throw std::runtime_error(path + ": missing tensor " + item.key());
    if (it->second.sizes() != item.value().sizes()) {
      std::ostringstream message;
      message << path << ": tensor " << item.key() << " has shape " << it->second.sizes()
              << ", the config needs " << item.value().sizes();
      throw std::runtime_error(message.str());
    }
    item.value().copy_(it->second);
  }
  if (file_out != nullptr) *file_out = std::move(file);
  return simulator;
}

}  // namespace flowdesign::simulator::learned
