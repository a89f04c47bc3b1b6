#include "simulator/learned/graph_network.h"

#include "simulator/learned/dense_layer.h"
#include "simulator/learned/edge_block.h"
#include "simulator/learned/edge_kernels.h"

namespace flowdesign::simulator::learned {

namespace {

thread_local bool parameters_as_constants = false;

// A parameter as the forward pass uses it: detached while ParametersAsConstants lives.
torch::Tensor Parameter(const torch::Tensor& p) {
  return parameters_as_constants && p.defined() ? p.detach() : p;
}

}  // namespace

GraphPooling GraphPooling::Single(int64_t nodes, int64_t fluid, const torch::TensorOptions& options) {
  GraphPooling pooling;
  pooling.fluid_mean = torch::zeros({1, nodes}, options);
  if (fluid > 0) pooling.fluid_mean.narrow(1, 0, fluid).fill_(1.0 / static_cast<double>(fluid));
  pooling.node_graph = torch::zeros({nodes}, options.dtype(torch::kInt64));
  return pooling;
}

GraphPooling GraphPooling::Concatenate(const std::vector<GraphPooling>& parts) {
  std::vector<torch::Tensor> means, graphs;
  int64_t offset = 0;
  for (const GraphPooling& part : parts) {
    means.push_back(part.fluid_mean);
    graphs.push_back(part.node_graph + offset);
    offset += part.fluid_mean.size(0);
  }
  return {torch::block_diag(means), torch::cat(graphs)};
}

GraphPooling GraphPooling::To(const torch::Device& device) const {
  if (!fluid_mean.defined()) return *this;
  return {fluid_mean.to(device), node_graph.to(device)};
}

ParametersAsConstants::ParametersAsConstants() : previous_(parameters_as_constants) { parameters_as_constants = true; }

ParametersAsConstants::~ParametersAsConstants() { parameters_as_constants = previous_; }

bool ParametersAsConstants::Active() { return parameters_as_constants; }

MlpImpl::MlpImpl(int input, int hidden, int hidden_layers, int output, bool layer_norm) {
  int in = input;
  for (int i = 0; i < hidden_layers; ++i) {
    layers_.push_back(register_module("linear" + std::to_string(i), torch::nn::Linear(in, hidden)));
    in = hidden;
  }
  layers_.push_back(register_module("linear" + std::to_string(hidden_layers), torch::nn::Linear(in, output)));
  if (layer_norm) norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({output})));
}

torch::Tensor MlpImpl::Layer(size_t i, const torch::Tensor& x, bool relu) {
  torch::nn::Linear& layer = layers_[i];
  const torch::Tensor weight = Parameter(layer->weight), bias = Parameter(layer->bias);
  if (dense_kernel_) return DenseLayer(x, weight, bias, relu);
  const torch::Tensor y = torch::linear(x, weight, bias);
  return relu ? torch::relu(y) : y;
}

torch::Tensor MlpImpl::Normalized(const torch::Tensor& x) {
  if (norm_.is_empty()) return x;
  return torch::layer_norm(x, norm_->options.normalized_shape(), Parameter(norm_->weight), Parameter(norm_->bias),
                           norm_->options.eps());
}

torch::Tensor MlpImpl::forward(torch::Tensor x) {
  // With no hidden layers the first layer is the output layer: no activation after it.
  if (layers_.size() == 1) return Normalized(Layer(0, x, false));
  return Normalized(ForwardFromFirstActivationBeforeNorm(Layer(0, x, true)));
}

torch::Tensor MlpImpl::FirstPreactivation(const torch::Tensor& x) { return Layer(0, x, false); }

torch::Tensor MlpImpl::FirstActivationWithNodeParts(const torch::Tensor& x, const torch::Tensor& projected,
                                                    const torch::Tensor& senders, const torch::Tensor& receivers) {
  torch::nn::Linear& first = layers_.front();
  if (dense_kernel_ && !torch::GradMode::is_enabled() && DenseKernelApplies(x, first->weight.size(0))) {
    return DenseGatherAddRelu(x, Parameter(first->weight), Parameter(first->bias), projected, senders, receivers);
  }
  return GatherAddRelu(FirstPreactivation(x), projected, senders, receivers);
}

torch::Tensor MlpImpl::ForwardFromFirstActivationBeforeNorm(torch::Tensor x) {
  for (size_t i = 1; i < layers_.size(); ++i) x = Layer(i, x, i + 1 < layers_.size());
  return x;
}

torch::Tensor MlpImpl::ForwardFromFirstPreactivation(torch::Tensor z) {
  if (layers_.size() > 1) z = ForwardFromFirstActivationBeforeNorm(torch::relu(z));
  return Normalized(z);
}

InteractionBlockImpl::InteractionBlockImpl(const ModelConfig& c) {
  const int L = c.latent_size;
  // With no hidden layers the "first layer" is the output layer of width L.
  hidden_ = c.mlp_hidden_layers > 0 ? c.mlp_hidden_size : L;
  edge_mlp_ = register_module("edge_mlp", Mlp(L, c.mlp_hidden_size, c.mlp_hidden_layers, L, true));
  node_projection_ = register_module(
      "node_projection", torch::nn::Linear(torch::nn::LinearOptions(L, 2 * hidden_).bias(false)));
  node_mlp_ = register_module("node_mlp", Mlp(2 * L, c.mlp_hidden_size, c.mlp_hidden_layers, L, true));
  if (c.global_latent) {
    global_projection_ = register_module(
        "global_projection", torch::nn::Linear(torch::nn::LinearOptions(L, hidden_).bias(false)));
  }
}

torch::Tensor InteractionBlockImpl::NodeUpdate(const torch::Tensor& h, const torch::Tensor& aggregated,
                                               const GraphPooling& pooling) {
  const torch::Tensor input = torch::cat({h, aggregated}, 1);
  if (global_projection_.is_empty()) return node_mlp_->forward(input);
  if (!pooling.fluid_mean.defined()) {
    throw std::invalid_argument("a network with a global latent needs the graph's pooling (GraphPooling)");
  }
  const torch::Tensor global = pooling.fluid_mean.mm(h);  // [G, L]
  const torch::Tensor per_graph = torch::linear(global, Parameter(global_projection_->weight));  // [G, H]
  return node_mlp_->ForwardFromFirstPreactivation(node_mlp_->FirstPreactivation(input) +
                                                  per_graph.index_select(0, pooling.node_graph));
}

std::pair<torch::Tensor, torch::Tensor> InteractionBlockImpl::forward(
    torch::Tensor h, torch::Tensor e, const torch::Tensor& senders, const torch::Tensor& receivers,
    const torch::Tensor& edge_weights, const GraphPooling& pooling) {
  const torch::Tensor projected = Project(h);  // [N, 2H]
  if (fused_ && edge_mlp_->HiddenLayers() > 0 && FusedEdgeKernelsApply(e)) {
    const auto [e_next, aggregated] = FusedEdgeUpdate(projected, e, senders, receivers, edge_weights, h.size(0));
    return {h + NodeUpdate(h, aggregated, pooling), e_next};
  }
  const torch::Tensor from_senders = projected.narrow(1, 0, hidden_).index_select(0, senders);
  const torch::Tensor from_receivers = projected.narrow(1, hidden_, hidden_).index_select(0, receivers);
  const torch::Tensor z = edge_mlp_->FirstPreactivation(e) + from_senders + from_receivers;
  const torch::Tensor e_update = edge_mlp_->ForwardFromFirstPreactivation(z);
  const torch::Tensor messages = edge_weights.defined() ? e_update * edge_weights : e_update;
  const torch::Tensor aggregated = torch::zeros_like(h).index_add(0, receivers, messages);
  return {h + NodeUpdate(h, aggregated, pooling), e + e_update};
}

std::pair<torch::Tensor, torch::Tensor> InteractionBlockImpl::FusedEdgeUpdate(
    const torch::Tensor& projected, const torch::Tensor& e, const torch::Tensor& senders,
    const torch::Tensor& receivers, const torch::Tensor& edge_weights, int64_t nodes) {
  if (edge_block_ && dense_ && edge_mlp_->HiddenLayers() == 1 &&
      DenseEdgeBlockApplies(e, hidden_, receivers)) {
    torch::nn::LayerNorm& norm = edge_mlp_->Norm();
    const EdgeMlpWeights weights{Parameter(edge_mlp_->LayerAt(0)->weight), Parameter(edge_mlp_->LayerAt(0)->bias),
                                 Parameter(edge_mlp_->LayerAt(1)->weight), Parameter(edge_mlp_->LayerAt(1)->bias),
                                 Parameter(norm->weight),                  Parameter(norm->bias),
                                 norm->options.eps()};
    return DenseEdgeBlock(weights, e, projected, senders, receivers, edge_weights, nodes);
  }
  const torch::Tensor activation = edge_mlp_->FirstActivationWithNodeParts(e, projected, senders, receivers);
  const torch::Tensor y = edge_mlp_->ForwardFromFirstActivationBeforeNorm(activation);
  torch::nn::LayerNorm& norm = edge_mlp_->Norm();
  return NormResidualAggregate(y, Parameter(norm->weight), Parameter(norm->bias), norm->options.eps(), e, edge_weights,
                               receivers, nodes);
}

torch::Tensor InteractionBlockImpl::Project(const torch::Tensor& h) {
  const torch::Tensor weight = Parameter(node_projection_->weight);
  return dense_ ? DenseLayer(h, weight, torch::Tensor(), false) : torch::linear(h, weight);
}

void InteractionBlockImpl::UseFusedKernels(bool use) {
  fused_ = use;
  UseDenseKernels(use);
}

void InteractionBlockImpl::UseEdgeBlockKernel(bool use) { edge_block_ = use; }

void InteractionBlockImpl::UseDenseKernels(bool use) {
  dense_ = use;
  edge_mlp_->UseDenseKernel(use);
  node_mlp_->UseDenseKernel(use);
}

GraphNetworkImpl::GraphNetworkImpl(const ModelConfig& c) : config_(c) {
  const int L = c.latent_size;
  node_encoder_ = register_module("node_encoder", Mlp(NodeInputSize(c), c.mlp_hidden_size, c.mlp_hidden_layers, L, true));
  edge_encoder_ = register_module("edge_encoder", Mlp(kEdgeInputSize, c.mlp_hidden_size, c.mlp_hidden_layers, L, true));
  for (int m = 0; m < c.message_passing_steps; ++m) {
    blocks_.push_back(register_module("block" + std::to_string(m), InteractionBlock(c)));
  }
  decoder_ = register_module("decoder", Mlp(L, c.mlp_hidden_size, c.mlp_hidden_layers, NodeOutputSize(c), false));
}

torch::Tensor GraphNetworkImpl::forward(const torch::Tensor& node_inputs, const torch::Tensor& edge_inputs,
                                        const torch::Tensor& senders, const torch::Tensor& receivers,
                                        const torch::Tensor& edge_weights, const GraphPooling& pooling) {
  torch::Tensor h = node_encoder_->forward(node_inputs);
  torch::Tensor e = edge_encoder_->forward(edge_inputs);
  for (InteractionBlock& block : blocks_) {
    std::tie(h, e) = block->forward(h, e, senders, receivers, edge_weights, pooling);
  }
  return decoder_->forward(h);
}

void GraphNetworkImpl::UseFusedKernels(bool use) {
  for (InteractionBlock& block : blocks_) block->UseFusedKernels(use);
  UseDenseKernels(use);
}

void GraphNetworkImpl::UseEdgeBlockKernel(bool use) {
  for (InteractionBlock& block : blocks_) block->UseEdgeBlockKernel(use);
}

void GraphNetworkImpl::UseDenseKernels(bool use) {
  for (InteractionBlock& block : blocks_) block->UseDenseKernels(use);
  for (Mlp* mlp : {&node_encoder_, &edge_encoder_, &decoder_}) (*mlp)->UseDenseKernel(use);
}

namespace {

// Multiply-adds of an MLP per row.
double MlpMacs(int input, int hidden, int hidden_layers, int output) {
  double macs = 0.0;
  int in = input;
  for (int i = 0; i < hidden_layers; ++i) {
    macs += static_cast<double>(in) * hidden;
    in = hidden;
  }
  return macs + static_cast<double>(in) * output;
}

}  // namespace

double ForwardFlops(const ModelConfig& c, int64_t nodes, int64_t edges) {
  const int L = c.latent_size, H = c.mlp_hidden_size, layers = c.mlp_hidden_layers;
  const int first = layers > 0 ? H : L;
  double macs = nodes * MlpMacs(NodeInputSize(c), H, layers, L) + edges * MlpMacs(kEdgeInputSize, H, layers, L);
  for (int m = 0; m < c.message_passing_steps; ++m) {
    macs += nodes * static_cast<double>(L) * 2 * first;              // sender/receiver projections
    macs += edges * MlpMacs(L, H, layers, L);                         // edge MLP (factorized first layer)
    macs += nodes * MlpMacs(2 * L, H, layers, L);                     // node MLP
    if (c.global_latent) macs += nodes * static_cast<double>(L);     // pooling (graphs' projections: negligible)
  }
  macs += nodes * MlpMacs(L, H, layers, NodeOutputSize(c));  // decoder
  return 2.0 * macs;
}

}  // namespace flowdesign::simulator::learned
