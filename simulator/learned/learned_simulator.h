// The learned simulator: features from a particle window, the graph network, semi-implicit
// integration (dt folded to 1: v' = v + a, x' = x + v') and a post-step projection of fluid
// particles out of solids and back into the domain, all as differentiable LibTorch ops.
#pragma once

#include <string>

#include <torch/torch.h>

#include "simulator/learned/graph_network.h"
#include "simulator/learned/model_config.h"
#include "simulator/learned/normalization.h"
#include "simulator/learned/solid_projection.h"
#include "tasks/geometry.h"

namespace flowdesign::simulator::learned {

// Graph inputs of one scene at one step.
struct StepGraph {
  torch::Tensor node_inputs;  // [N, NodeInputSize]
  torch::Tensor edge_inputs;  // [E, 3]
  torch::Tensor senders;      // int64 [E]
  torch::Tensor receivers;    // int64 [E]
  torch::Tensor edge_weights; // [E, 1] message weights fading to 0 at the radius, or undefined (off)
  GraphPooling pooling;       // with a global latent: the nodes' graphs; else undefined

  // The same graph with every tensor on `device`.
  StepGraph To(const torch::Device& device) const;
};

// The size of one step's graph.
struct StepGraphSize {
  int64_t fluid = 0, nodes = 0, edges = 0;  // nodes: fluid, then obstacle particles
};

// Capsules as a tensor [K, 5]: (ax, ay, bx, by, radius).
torch::Tensor CapsuleTensor(const std::vector<tasks::Capsule>& capsules);

// Clamps points into the domain shrunk by `margin`.
torch::Tensor ClampToDomain(const torch::Tensor& points, const tasks::Box& domain, double margin);

class LearnedSimulator {
 public:
  LearnedSimulator(const ModelConfig& config, const Normalization& normalization);

  const ModelConfig& Config() const { return config_; }
  const Normalization& Norm() const { return normalization_; }
  void SetNormalization(const Normalization& n);
  // Moves the network and statistics to a dtype (kFloat32 by default; kFloat64 for gradient checks).
  void To(torch::Dtype dtype);
  // Moves the network and statistics to a device (CPU or CUDA).
  void ToDevice(const torch::Device& device);
  GraphNetwork& Network() { return network_; }
  double RadiusMetres() const { return config_.connectivity_radius_spacings * config_.particle_spacing_m; }

  // window [C+1, N, 2] positions, oldest first; rows [0, fluid_count) are fluid, the rest
  // obstacles. Edges come from the last positions (not differentiated: which edges exist is
  // treated as constant, as in the released GNS design code). The window may be on the
  // simulator's device or on the CPU (training builds graphs there, in parallel, for a GPU).
  // With a volume state, `volume` holds the fluid's J [fluid_count] (required).
  StepGraph BuildGraph(const torch::Tensor& window, int fluid_count, const tasks::Box& domain,
                       const torch::Tensor& volume = {}) const;
  // The network's output for every node: normalized acceleration [N, 2] (with a volume state
  // [N, 3]: also the normalized change of J).
  torch::Tensor PredictNormalizedAcceleration(const StepGraph& graph);

  // One step: fluid window [C+1, n, 2], static obstacle particles [m, 2], solid capsules
  // [K, 5] -> next fluid positions [n, 2] after projection. With a volume state, `volume` is
  // the fluid's J [n] and *next_volume receives J after the step (both required; a model
  // without one ignores them). *graph_size (if given) receives the size of the step's graph.
  torch::Tensor Step(const torch::Tensor& fluid_window, const torch::Tensor& obstacles,
                     const torch::Tensor& capsules, const tasks::Box& domain, const torch::Tensor& volume = {},
                     torch::Tensor* next_volume = nullptr, StepGraphSize* graph_size = nullptr);

  // About how many bytes the autograd graph of one step of this size holds when the network's
  // parameters are constants (ParametersAsConstants, as for a design's gradient): what a
  // rollout keeps for each step whose back-propagation it does not recompute.
  int64_t StepActivationBytes(const StepGraphSize& size) const;

 private:
  ModelConfig config_;
  Normalization normalization_;
  torch::Tensor velocity_mean_, velocity_std_, acceleration_mean_, acceleration_std_;
  torch::Tensor velocity_mean_cpu_, velocity_std_cpu_;  // for graphs built on the CPU
  GraphNetwork network_{nullptr};
};

// Uses `threads` intra-op threads (LibTorch defaults to one on some machines); 0 = all cores.
// Also keeps freed memory in the process (glibc's mallopt) to avoid page faults every step.
// Also makes OpenBLAS single-threaded inside each LibTorch thread: its own OpenMP threads
// fight LibTorch's (measured here: a [9000 x 64] x [64 x 64] product at 21 GFLOP/s on 2 threads
// without this, 140 with it).
void ConfigureTorchThreads(int threads);

// The BLAS LibTorch's matrix products call: the file that provides the sgemm_ symbol the
// dynamic linker binds (first in the global lookup scope), plus OpenBLAS's own description
// when that file is OpenBLAS, e.g.
// "/lib/x86_64-linux-gnu/libblas.so.3 (OpenBLAS 0.3.21 ... USE_OPENMP ...)". Another library
// (Debian's Ceres pulls in ATLAS's libf77blas) can win the lookup and slow LibTorch ~10x.
std::string BlasLibraryInUse();

}  // namespace flowdesign::simulator::learned
