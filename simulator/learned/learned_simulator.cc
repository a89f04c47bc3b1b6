#include "simulator/learned/learned_simulator.h"

#include <stdexcept>
#include <thread>
#include <vector>

#include <ATen/record_function.h>

#include <dlfcn.h>
#include <malloc.h>

#include "simulator/learned/blas_kernels.h"
#include "simulator/learned/density_projection.h"
#include "simulator/learned/edge_features.h"
#include "simulator/learned/radius_graph.h"

namespace flowdesign::simulator::learned {
namespace {

torch::Tensor Pair(const std::array<double, 2>& v) {
  return torch::tensor({static_cast<float>(v[0]), static_cast<float>(v[1])});
}

}  // namespace

StepGraph StepGraph::To(const torch::Device& device) const {
  auto move = [&](const torch::Tensor& t) { return t.defined() ? t.to(device) : t; };
  return {move(node_inputs), move(edge_inputs), move(senders), move(receivers), move(edge_weights), pooling.To(device)};
}

torch::Tensor CapsuleTensor(const std::vector<tasks::Capsule>& capsules) {
  std::vector<float> data;
  for (const tasks::Capsule& c : capsules) {
    for (double v : {c.a.x, c.a.y, c.b.x, c.b.y, c.radius}) data.push_back(static_cast<float>(v));
  }
  return torch::from_blob(data.data(), {static_cast<int64_t>(capsules.size()), 5}, torch::kFloat32).clone();
}

torch::Tensor ClampToDomain(const torch::Tensor& points, const tasks::Box& domain, double margin) {
  const torch::Tensor x = points.select(1, 0).clamp(domain.min.x + margin, domain.max.x - margin);
  const torch::Tensor y = points.select(1, 1).clamp(domain.min.y + margin, domain.max.y - margin);
  return torch::stack({x, y}, 1);
}

LearnedSimulator::LearnedSimulator(const ModelConfig& config, const Normalization& normalization)
    : config_(config), network_(GraphNetwork(config)) {
  ValidateModelConfig(config);
  SetNormalization(normalization);
}

void LearnedSimulator::SetNormalization(const Normalization& n) {
  normalization_ = n;
  velocity_mean_ = Pair(n.velocity_mean);
  velocity_std_ = Pair(n.velocity_std);
  acceleration_mean_ = Pair(n.acceleration_mean);
  acceleration_std_ = Pair(n.acceleration_std);
  velocity_mean_cpu_ = velocity_mean_;
  velocity_std_cpu_ = velocity_std_;
}

void LearnedSimulator::To(torch::Dtype dtype) {
  network_->to(dtype);
  for (torch::Tensor* t : {&velocity_mean_, &velocity_std_, &acceleration_mean_, &acceleration_std_,
                           &velocity_mean_cpu_, &velocity_std_cpu_}) {
    *t = t->to(dtype);
  }
}

void LearnedSimulator::ToDevice(const torch::Device& device) {
  network_->to(device);
  for (torch::Tensor* t : {&velocity_mean_, &velocity_std_, &acceleration_mean_, &acceleration_std_}) {
    *t = t->to(device);
  }
}

StepGraph LearnedSimulator::BuildGraph(const torch::Tensor& window, int fluid_count, const tasks::Box& domain,
                                       const torch::Tensor& volume) const {
  const int64_t n = window.size(1);
  const double radius = RadiusMetres();
  const torch::Tensor last = window.select(0, window.size(0) - 1);  // [N, 2]

  // Node inputs: normalized velocity history, clipped wall distances, particle type.
  const bool on_cpu = window.device().is_cpu();
  const torch::Tensor velocities = (window.narrow(0, 1, config_.history) - window.narrow(0, 0, config_.history) -
                                    (on_cpu ? velocity_mean_cpu_ : velocity_mean_)) /
                                   (on_cpu ? velocity_std_cpu_ : velocity_std_);  // [C, N, 2]
  const torch::Tensor history = velocities.permute({1, 0, 2}).reshape({n, 2 * config_.history});
  const torch::Tensor x = last.select(1, 0), y = last.select(1, 1);
  const torch::Tensor walls =
      torch::stack({x - domain.min.x, domain.max.x - x, y - domain.min.y, domain.max.y - y}, 1)
          .div(radius)
          .clamp(-1.0, 1.0);
  torch::Tensor type = torch::zeros({n, 2}, window.options());
  type.narrow(0, 0, fluid_count).select(1, 0).fill_(1.0);
  type.narrow(0, fluid_count, n - fluid_count).select(1, 1).fill_(1.0);

  // Edges from the last positions; only fluid particles receive messages.
  const torch::Tensor last_cpu = last.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  std::vector<uint8_t> receives(static_cast<size_t>(n), 0);
  std::fill(receives.begin(), receives.begin() + fluid_count, 1);
  EdgeList edges = RadiusGraph(last_cpu.data_ptr<float>(), static_cast<int>(n), receives, radius);
  const auto index_options = torch::TensorOptions().dtype(torch::kInt64);
  StepGraph graph;
  const int64_t e = static_cast<int64_t>(edges.senders.size());
  graph.senders = torch::from_blob(edges.senders.data(), {e}, index_options).clone().to(window.device());
  graph.receivers = torch::from_blob(edges.receivers.data(), {e}, index_options).clone().to(window.device());
  // In units of R: 0 at the radius, 1 a fade width inside it.
  const double fade = config_.edge_fade_spacings / config_.connectivity_radius_spacings;
  EdgeFeatureTensors features = EdgeFeatures(last, graph.senders, graph.receivers, radius, fade);
  graph.edge_inputs = features.inputs;
  graph.edge_weights = features.weights;
  if (config_.volume_state) {
    if (!volume.defined() || volume.dim() != 1 || volume.size(0) != fluid_count) {
      throw std::invalid_argument("a model with a volume state needs J of every fluid particle");
    }
    // Obstacle particles read 0 (the mean J).
    torch::Tensor j = torch::zeros({n, 1}, window.options());
    j.narrow(0, 0, fluid_count).copy_(((volume.to(window.device()) - normalization_.volume_mean) /
                                       normalization_.volume_std).unsqueeze(1));
    graph.node_inputs = torch::cat({history, walls, type, j}, 1);
  } else {
    graph.node_inputs = torch::cat({history, walls, type}, 1);
  }
  if (config_.global_latent) graph.pooling = GraphPooling::Single(n, fluid_count, window.options());
  return graph;
}

torch::Tensor LearnedSimulator::PredictNormalizedAcceleration(const StepGraph& graph) {
  return network_->forward(graph.node_inputs, graph.edge_inputs, graph.senders, graph.receivers, graph.edge_weights,
                           graph.pooling);
}

torch::Tensor LearnedSimulator::Step(const torch::Tensor& fluid_window, const torch::Tensor& obstacles,
                                     const torch::Tensor& capsules, const tasks::Box& domain,
                                     const torch::Tensor& volume, torch::Tensor* next_volume,
                                     StepGraphSize* graph_size) {
  if (config_.volume_state && next_volume == nullptr) {
    throw std::invalid_argument("a model with a volume state steps J too: pass its next_volume");
  }
  const int64_t n = fluid_window.size(1);
  const torch::Tensor window = torch::cat(
      {fluid_window, obstacles.unsqueeze(0).expand({fluid_window.size(0), -1, -1})}, 1);
  StepGraph graph;
  {
    RECORD_FUNCTION("flowdesign::BuildGraph", std::vector<c10::IValue>());
    graph = BuildGraph(window, static_cast<int>(n), domain, volume);
  }
  if (graph_size != nullptr) *graph_size = {n, window.size(1), graph.senders.size(0)};
  torch::Tensor normalized;
  {
    RECORD_FUNCTION("flowdesign::GraphNetwork", std::vector<c10::IValue>());
    normalized = PredictNormalizedAcceleration(graph).narrow(0, 0, n);
  }
  if (config_.volume_state) {
    const torch::Tensor change = normalized.select(1, 2);
    *next_volume = volume + (change * normalization_.volume_change_std + normalization_.volume_change_mean);
    normalized = normalized.narrow(1, 0, 2);
  }
  const torch::Tensor acceleration = normalized * acceleration_std_ + acceleration_mean_;
  const torch::Tensor last = fluid_window.select(0, fluid_window.size(0) - 1);
  const torch::Tensor previous = fluid_window.select(0, fluid_window.size(0) - 2);
  torch::Tensor next = last + (last - previous) + acceleration;
  RECORD_FUNCTION("flowdesign::Projections", std::vector<c10::IValue>());
  if (config_.density_projection_iterations > 0) {
    next = ProjectDensity(next, obstacles, {config_.particle_spacing_m, config_.density_kernel_spacings,
                                            config_.density_projection_iterations});
  }
  return ClampToDomain(ProjectOutOfSolids(next, last, capsules), domain, 0.0);
}

int64_t LearnedSimulator::StepActivationBytes(const StepGraphSize& size) const {
  // Values kept per row. An MLP keeps each hidden layer's ReLU output and its LayerNorm's input,
  // mean and 1 / std (its layers' inputs serve the constant weights' gradients only); the edge
  // block kernel (one hidden layer) its normalized output rows, their 1 / std and one activity
  // bit per hidden unit. Besides: the edge features, each edge's message weight, and int64
  // indices: senders and receivers, and the density projection's pairs (two per pair, each
  // iteration; about as many pairs as edges, scaled by the area of its kernel).
  const double latent = config_.latent_size, hidden = config_.mlp_hidden_size;
  const double hidden_layers = config_.mlp_hidden_layers, blocks = config_.message_passing_steps;
  const double mlp = hidden * hidden_layers + latent + 2.0;
  const double edge_block = config_.mlp_hidden_layers == 1 ? latent + 1.0 + hidden / 32.0 : mlp;
  const double per_edge = kEdgeInputSize + 1.0 + mlp + blocks * edge_block;
  const double per_node = mlp * (1.0 + blocks) + hidden * hidden_layers /* decoder */;
  const double density_ratio = config_.density_kernel_spacings / config_.connectivity_radius_spacings;
  const double indices_per_edge = 2.0 + 2.0 * config_.density_projection_iterations * density_ratio * density_ratio;
  const double value_bytes = static_cast<double>(network_->parameters().front().element_size());
  const double edges = static_cast<double>(size.edges), nodes = static_cast<double>(size.nodes);
  return static_cast<int64_t>(value_bytes * (per_edge * edges + per_node * nodes) + 8.0 * indices_per_edge * edges);
}

void ConfigureTorchThreads(int threads) {
  // LibTorch allocates and frees tensors of a few hundred KB every step; glibc would map and
  // unmap each one (page faults took ~1/3 of a design iteration). Keep freed memory instead.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  using SetThreads = void (*)(int);
  if (auto set_blas_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set_blas_threads(1);
  }
  const int count = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(count);
}

std::string BlasLibraryInUse() {
  const std::string path = BlasProviderPath();
  if (path.empty()) return "no sgemm_ found";
  const std::string config = OpenBlasConfig();
  return config.empty() ? path : path + " (" + config + ")";
}

}  // namespace flowdesign::simulator::learned
