// The graph network of GNS (Sanchez-Gonzalez et al. 2020): encode, process with unshared
// interaction blocks (residual, LayerNorm), decode to a normalized acceleration per node.
// For CPU cost, the first layer of every edge MLP is factorized: W [e, h_s, h_r] =
// W_e e + (W_s h)[s] + (W_r h)[r], so the sender/receiver parts cost once per node, not per edge.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "simulator/learned/model_config.h"

namespace flowdesign::simulator::learned {

// While one lives on a thread, the network's forward passes there take its parameters as
// constants (detached): autograd then records gradients for the inputs only, as a design's
// gradient wants, and the dense edge block keeps one bit per hidden activation instead of the
// activations (edge_block.h). Training, which wants the parameters' gradients, never sets it.
class ParametersAsConstants {
 public:
  ParametersAsConstants();
  ~ParametersAsConstants();
  ParametersAsConstants(const ParametersAsConstants&) = delete;
  ParametersAsConstants& operator=(const ParametersAsConstants&) = delete;
  static bool Active();

 private:
  bool previous_;
};

// Which graph each node belongs to, for a network with a global latent (several graphs side by
// side in one batch must not see each other's fluid).
struct GraphPooling {
  torch::Tensor fluid_mean;  // [G, N]: row g averages graph g's fluid nodes (1 / count there, else 0)
  torch::Tensor node_graph;  // int64 [N]: the graph of every node
  // One graph of `nodes` nodes whose first `fluid` are fluid.
  static GraphPooling Single(int64_t nodes, int64_t fluid, const torch::TensorOptions& options);
  // Graphs side by side, nodes concatenated in the order given.
  static GraphPooling Concatenate(const std::vector<GraphPooling>& parts);
  GraphPooling To(const torch::Device& device) const;
};

// Linear layers with ReLU between them; optional LayerNorm on the output.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int input, int hidden, int hidden_layers, int output, bool layer_norm);
  torch::Tensor forward(torch::Tensor x);
  // The factorized edge MLP's first activation: relu(first layer(x) + projected[senders, 0:H] +
  // projected[receivers, H:2H]), in one pass of the dense kernel when autograd is off.
  torch::Tensor FirstActivationWithNodeParts(const torch::Tensor& x, const torch::Tensor& projected,
                                             const torch::Tensor& senders, const torch::Tensor& receivers);
  // The first layer's pre-activation (used by the factorized edge MLP).
  torch::Tensor FirstPreactivation(const torch::Tensor& x);
  // Forward from the first layer's pre-activation.
  torch::Tensor ForwardFromFirstPreactivation(torch::Tensor z);
  // The layers after the first, from the first layer's activation, without the LayerNorm.
  torch::Tensor ForwardFromFirstActivationBeforeNorm(torch::Tensor x);
  int HiddenLayers() const { return static_cast<int>(layers_.size()) - 1; }
  torch::nn::Linear& LayerAt(size_t i) { return layers_.at(i); }
  torch::nn::LayerNorm& Norm() { return norm_; }
  // flowdesign's dense kernel for the layers (dense_layer.h; the default) or LibTorch's linear.
  void UseDenseKernel(bool use) { dense_kernel_ = use; }

 private:
  torch::Tensor Layer(size_t i, const torch::Tensor& x, bool relu);
  torch::Tensor Normalized(const torch::Tensor& x);
  std::vector<torch::nn::Linear> layers_;
  torch::nn::LayerNorm norm_{nullptr};
  bool dense_kernel_ = true;
};
TORCH_MODULE(Mlp);

class InteractionBlockImpl : public torch::nn::Module {
 public:
  InteractionBlockImpl(const ModelConfig& config);
  // Updates node latents h [N, L] and edge latents e [E, L] in place of the inputs (residual).
  // edge_weights [E, 1] (or undefined: all 1) scale each edge's message in the aggregation.
  // pooling: required when the config has a global latent, ignored otherwise.
  std::pair<torch::Tensor, torch::Tensor> forward(torch::Tensor h, torch::Tensor e,
                                                  const torch::Tensor& senders,
                                                  const torch::Tensor& receivers,
                                                  const torch::Tensor& edge_weights,
                                                  const GraphPooling& pooling = {});
  // Fused CPU kernels for the edge MLP and aggregation (edge_kernels.h) and dense kernels for
  // the layers (dense_layer.h), the default, or the reference composition of LibTorch operators.
  void UseFusedKernels(bool use);
  void UseDenseKernels(bool use);
  // The edge MLP and aggregation as one DenseEdgeBlock (edge_block.h) pass, forward and backward
  // (the default, where it applies: dense kernels on, one hidden layer), or as the three kernels
  // it fuses.
  void UseEdgeBlockKernel(bool use);

 private:
  std::pair<torch::Tensor, torch::Tensor> FusedEdgeUpdate(const torch::Tensor& projected, const torch::Tensor& e,
                                                          const torch::Tensor& senders, const torch::Tensor& receivers,
                                                          const torch::Tensor& edge_weights, int64_t nodes);
  Mlp edge_mlp_{nullptr};
  torch::Tensor Project(const torch::Tensor& h);
  torch::nn::Linear node_projection_{nullptr};  // [W_s; W_r] applied once per node
  Mlp node_mlp_{nullptr};
  // With a global latent: W_g, adding W_g (mean fluid latent of the node's graph) to the node
  // MLP's first pre-activation (the same as widening its input by that mean).
  torch::nn::Linear global_projection_{nullptr};
  torch::Tensor NodeUpdate(const torch::Tensor& h, const torch::Tensor& aggregated, const GraphPooling& pooling);
  int hidden_ = 0;
  bool fused_ = true;
  bool dense_ = true;
  bool edge_block_ = true;
};
TORCH_MODULE(InteractionBlock);

class GraphNetworkImpl : public torch::nn::Module {
 public:
  explicit GraphNetworkImpl(const ModelConfig& config);
  // node_inputs [N, NodeInputSize], edge_inputs [E, 3], senders/receivers int64 [E],
  // edge_weights [E, 1] or undefined (all 1); pooling: required with a global latent.
  // Returns per node the normalized acceleration [N, 2] (with a volume state also the normalized
  // change of J: [N, 3]).
  torch::Tensor forward(const torch::Tensor& node_inputs, const torch::Tensor& edge_inputs,
                        const torch::Tensor& senders, const torch::Tensor& receivers,
                        const torch::Tensor& edge_weights = {}, const GraphPooling& pooling = {});
  const ModelConfig& Config() const { return config_; }
  void UseFusedKernels(bool use);
  // Only the dense layer kernel on or off (benchmarks compare it with LibTorch's linear).
  void UseDenseKernels(bool use);
  // Only the one-pass edge block of forward passes without autograd (benchmarks compare it).
  void UseEdgeBlockKernel(bool use);

 private:
  ModelConfig config_;
  Mlp node_encoder_{nullptr};
  Mlp edge_encoder_{nullptr};
  std::vector<InteractionBlock> blocks_;
  Mlp decoder_{nullptr};
};
TORCH_MODULE(GraphNetwork);

// Floating-point operations of one forward pass (2 per multiply-add of every linear layer) for
// a graph with `nodes` nodes and `edges` edges.
double ForwardFlops(const ModelConfig& config, int64_t nodes, int64_t edges);

}  // namespace flowdesign::simulator::learned
