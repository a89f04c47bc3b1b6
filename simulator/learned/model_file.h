// flowdesign's own model file: readable by any LibTorch version (no TorchScript archive).
// Layout: 8-byte magic "FDGNSMDL", uint32 format version, uint32 zero, uint64 header length,
// a JSON header (config, normalization, metadata, tensor table, checksum), then the tensors as
// little-endian float32, in header order.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "simulator/learned/learned_simulator.h"

namespace flowdesign::simulator::learned {

inline constexpr uint32_t kModelFormatVersion = 1;

struct ModelFile {
  ModelConfig config;
  Normalization normalization;
  nlohmann::json metadata = nlohmann::json::object();  // provenance: data, steps, command...
  std::map<std::string, torch::Tensor> tensors;         // network parameters and extras
  std::string checksum;                                 // of the tensor data (FNV-1a 64, hex)
};

// Writes atomically. Tensors are stored as float32.
void WriteModelFile(const std::string& path, const ModelFile& file);
// Throws std::runtime_error naming the file for a missing, truncated, corrupt or newer file.
ModelFile ReadModelFile(const std::string& path);

// The simulator's network parameters under their module names (e.g. "block0.edge_mlp.linear0.weight").
std::map<std::string, torch::Tensor> NetworkTensors(LearnedSimulator& simulator);

void SaveModel(const std::string& path, LearnedSimulator& simulator, const nlohmann::json& metadata,
               const std::map<std::string, torch::Tensor>& extra_tensors = {});
// Loads a simulator; every network parameter must be present with the config's shape.
std::unique_ptr<LearnedSimulator> LoadModel(const std::string& path, ModelFile* file = nullptr);

}  // namespace flowdesign::simulator::learned
