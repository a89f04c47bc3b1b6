// flowdesign's dense layer kernel against LibTorch's linear (+ relu): values and the gradients of
// input, weight and bias, for row counts that do and do not fill the kernel's 6-row tiles, input
// widths that do and do not fill its 16-column panels, and on one or two threads.
#include "tests/torch_catch.h"

#include <optional>
#include <vector>

#include <ATen/Parallel.h>

#include "simulator/learned/dense_layer.h"
#include "simulator/learned/edge_kernels.h"
#include "simulator/learned/graph_network.h"
#include "tests/simulator/learned_test_support.h"

namespace flowdesign::simulator::learned {
namespace {

// Relative to the reference's largest magnitude: float sums in another order.
double RelativeDifference(const torch::Tensor& a, const torch::Tensor& reference) {
  REQUIRE(a.defined());
  REQUIRE(reference.defined());
  REQUIRE(a.sizes() == reference.sizes());
  if (a.numel() == 0) return 0.0;
  return (a - reference).abs().max().item<double>() / (1.0 + reference.abs().max().item<double>());
}

struct LayerRun {
  torch::Tensor out, grad_x, grad_weight, grad_bias;
};

LayerRun RunLayer(bool dense, const torch::Tensor& x_in, const torch::Tensor& weight_in, const torch::Tensor& bias_in,
                  bool relu, const torch::Tensor& probe) {
  const torch::Tensor x = x_in.clone().requires_grad_(true), weight = weight_in.clone().requires_grad_(true);
  const torch::Tensor bias = bias_in.defined() ? bias_in.clone().requires_grad_(true) : torch::Tensor();
  torch::Tensor out;
  if (dense) {
    out = DenseLayer(x, weight, bias, relu);
  } else {
    out = torch::linear(x, weight, bias);
    if (relu) out = torch::relu(out);
  }
  std::vector<torch::Tensor> inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  const auto grads = torch::autograd::grad({(out * probe).sum()}, inputs);
  return {out.detach(), grads[0], grads[1], bias.defined() ? grads[2] : torch::Tensor()};
}

TEST_CASE("the dense layer equals LibTorch's linear and relu, values and gradients", "[learned][kernels]") {
  const int64_t rows = GENERATE(0, 1, 5, 6, 13, 1100);
  const int64_t inputs = GENERATE(3, 64);
  const int64_t outputs = GENERATE(16, 128);
  const bool relu = GENERATE(false, true);
  const bool with_bias = GENERATE(true, false);
  INFO("rows " << rows << " inputs " << inputs << " outputs " << outputs << " relu " << relu << " bias " << with_bias);
  INFO("own kernel: " << DenseKernelApplies(torch::zeros({1, inputs}), outputs));
  torch::manual_seed(rows + inputs + outputs);
  const torch::Tensor x = torch::randn({rows, inputs}), weight = torch::randn({outputs, inputs}) * 0.2;
  const torch::Tensor bias = with_bias ? torch::randn({outputs}) : torch::Tensor();
  const torch::Tensor probe = torch::randn({rows, outputs});
  const LayerRun dense = RunLayer(true, x, weight, bias, relu, probe);
  const LayerRun reference = RunLayer(false, x, weight, bias, relu, probe);
  CHECK(RelativeDifference(dense.out, reference.out) < 1e-5);
  CHECK(RelativeDifference(dense.grad_x, reference.grad_x) < 1e-5);
  CHECK(RelativeDifference(dense.grad_weight, reference.grad_weight) < 1e-5);
  if (with_bias) CHECK(RelativeDifference(dense.grad_bias, reference.grad_bias) < 1e-5);
  if (relu && rows > 1) {
    CHECK((dense.out == 0).any().item<bool>());  // the relu mattered
    CHECK((dense.out > 0).any().item<bool>());
  }
}

TEST_CASE("the dense kernel applies to CPU float inputs with outputs in multiples of 16", "[learned][kernels]") {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return;  // LibTorch's linear everywhere
  CHECK(DenseKernelApplies(torch::zeros({4, 64}), 64));
  CHECK(DenseKernelApplies(torch::zeros({4, 3}), 16));
  CHECK_FALSE(DenseKernelApplies(torch::zeros({4, 64}), 2));  // the decoder's output layer
  CHECK_FALSE(DenseKernelApplies(torch::zeros({4, 64}, torch::kFloat64), 64));
}

TEST_CASE("the dense layer gives bit-identical results on one and two threads", "[learned][kernels]") {
  // Enough rows for several parallel tasks and several blocks of the weight gradient's sum.
  torch::manual_seed(5);
  const torch::Tensor x = torch::randn({2000, 64}), weight = torch::randn({64, 64}) * 0.2, bias = torch::randn({64});
  const torch::Tensor probe = torch::randn({2000, 64});
  auto run = [&](int threads) {
    const int saved = at::get_num_threads();
    at::set_num_threads(threads);
    const LayerRun r = RunLayer(true, x, weight, bias, true, probe);
    at::set_num_threads(saved);
    return r;
  };
  const LayerRun one = run(1), two = run(2);
  CHECK(torch::equal(one.out, two.out));
  CHECK(torch::equal(one.grad_x, two.grad_x));
  CHECK(torch::equal(one.grad_weight, two.grad_weight));
  CHECK(torch::equal(one.grad_bias, two.grad_bias));
}

TEST_CASE("the fused first edge layer computes what the dense layer and gather-add-relu compute, bit for bit",
          "[learned][kernels]") {
  if (!DenseKernelApplies(torch::zeros({1, 64}), 64)) return;  // no AVX2: the network never calls it
  torch::manual_seed(8);
  const int64_t rows = GENERATE(0, 5, 1001), nodes = 90, hidden = 64;
  INFO("rows " << rows);
  const torch::Tensor x = torch::randn({rows, 64}), weight = torch::randn({hidden, 64}) * 0.2;
  const torch::Tensor bias = torch::randn({hidden}), projected = torch::randn({nodes, 2 * hidden});
  const torch::Tensor senders = torch::randint(nodes, {rows}, torch::kInt64);
  const torch::Tensor receivers = std::get<0>(torch::randint(nodes, {rows}, torch::kInt64).sort());
  torch::NoGradGuard no_grad;
  const torch::Tensor fused = DenseGatherAddRelu(x, weight, bias, projected, senders, receivers);
  const torch::Tensor separate = GatherAddRelu(DenseLayer(x, weight, bias, false), projected, senders, receivers);
  CHECK(torch::equal(fused, separate));
  if (rows > 0) {
    CHECK((fused == 0).any().item<bool>());
    torch::Tensor bad = senders.clone();
    bad[rows - 1] = nodes;
    REQUIRE_THROWS_WITH(DenseGatherAddRelu(x, weight, bias, projected, bad, receivers),
                        Catch::Contains("is not a node index"));
  }
}

TEST_CASE("the fused first edge layer refuses inputs that need gradients", "[learned][kernels]") {
  if (!DenseKernelApplies(torch::zeros({1, 64}), 64)) return;
  const torch::Tensor x = torch::randn({7, 64}).requires_grad_(true), weight = torch::randn({64, 64});
  const torch::Tensor index = torch::zeros({7}, torch::kInt64);
  REQUIRE_THROWS_WITH(DenseGatherAddRelu(x, weight, torch::zeros({64}), torch::randn({3, 128}), index, index),
                      Catch::Contains("not differentiable"));
}

TEST_CASE("a float graph network gives the same outputs and gradients with its own kernels and with LibTorch's",
          "[learned][kernels]") {
  torch::manual_seed(4);
  ModelConfig config = testing::TinyConfig();
  config.latent_size = 32;  // multiples of 16: the dense kernel runs every layer but the decoder's last
  config.mlp_hidden_size = 32;
  // One hidden layer: the edge MLPs run as dense edge blocks.
  config.mlp_hidden_layers = GENERATE(1, 2);
  INFO(config.mlp_hidden_layers << " hidden layers");
  GraphNetwork network(config);
  const int64_t nodes = 40, edges = 500;
  const torch::Tensor senders = torch::randint(nodes, {edges}, torch::kInt64);
  const torch::Tensor receivers = std::get<0>(torch::randint(nodes, {edges}, torch::kInt64).sort());
  const torch::Tensor edge_weights = torch::rand({edges, 1});
  const torch::Tensor node_inputs = torch::randn({nodes, NodeInputSize(config)}).requires_grad_(true);
  const torch::Tensor edge_inputs = torch::randn({edges, 3}).requires_grad_(true);
  std::vector<torch::Tensor> inputs = {node_inputs, edge_inputs};
  for (const auto& p : network->parameters()) inputs.push_back(p);
  const torch::Tensor probe = torch::randn({nodes, 2});
  auto run = [&](bool own_kernels) {
    network->UseFusedKernels(own_kernels);
    const torch::Tensor out = network->forward(node_inputs, edge_inputs, senders, receivers, edge_weights);
    std::vector<torch::Tensor> result = torch::autograd::grad({(out * probe).sum()}, inputs);
    result.insert(result.begin(), out.detach());
    return result;
  };
  const auto own = run(true), reference = run(false);
  for (size_t i = 0; i < own.size(); ++i) {
    INFO("result " << i << " (0: the output, then gradients)");
    CHECK(RelativeDifference(own[i], reference[i]) < 1e-4);
  }
  // A forward pass without autograd (fused first edge layer or dense edge blocks) computes the
  // same bits as one with it, so a checkpointed backward pass recomputes exactly the steps its
  // forward pass took.
  network->UseFusedKernels(true);
  torch::NoGradGuard no_grad;
  CHECK(torch::equal(network->forward(node_inputs, edge_inputs, senders, receivers, edge_weights), own[0]));
}

TEST_CASE("a graph network with its parameters as constants gives the same outputs and input gradients, bit for bit",
          "[learned][kernels]") {
  torch::manual_seed(6);
  ModelConfig config = testing::TinyConfig();
  config.latent_size = 32;
  config.mlp_hidden_size = 32;
  config.mlp_hidden_layers = GENERATE(1, 2);
  const bool own_kernels = GENERATE(true, false);
  INFO(config.mlp_hidden_layers << " hidden layers, " << (own_kernels ? "own kernels" : "LibTorch's operators"));
  GraphNetwork network(config);
  network->UseFusedKernels(own_kernels);
  const int64_t nodes = 40, edges = 500;
  const torch::Tensor senders = torch::randint(nodes, {edges}, torch::kInt64);
  const torch::Tensor receivers = std::get<0>(torch::randint(nodes, {edges}, torch::kInt64).sort());
  const torch::Tensor edge_weights = torch::rand({edges, 1}).requires_grad_(true);
  const torch::Tensor node_inputs = torch::randn({nodes, NodeInputSize(config)}).requires_grad_(true);
  const torch::Tensor edge_inputs = torch::randn({edges, 3}).requires_grad_(true);
  const torch::Tensor probe = torch::randn({nodes, 2});
  auto run = [&](bool constants) {
    std::optional<ParametersAsConstants> guard;
    if (constants) guard.emplace();
    CHECK(ParametersAsConstants::Active() == constants);
    const torch::Tensor out = network->forward(node_inputs, edge_inputs, senders, receivers, edge_weights);
    const torch::Tensor loss = (out * probe).sum();
    std::vector<torch::Tensor> result = torch::autograd::grad({loss}, {node_inputs, edge_inputs, edge_weights},
                                                              {}, /*retain_graph=*/true);
    // With constants, no parameter is reachable from the output.
    const auto parameter_gradients = torch::autograd::grad({loss}, {network->parameters()[0]}, {}, false, false, true);
    CHECK(parameter_gradients[0].defined() != constants);
    result.insert(result.begin(), out.detach());
    return result;
  };
  const auto leaves = run(false), constants = run(true);
  CHECK_FALSE(ParametersAsConstants::Active());
  for (size_t i = 0; i < leaves.size(); ++i) {
    INFO("result " << i << " (0: the output, then the inputs' gradients)");
    CHECK(torch::equal(leaves[i], constants[i]));
  }
}

}  // namespace
}  // namespace flowdesign::simulator::learned
