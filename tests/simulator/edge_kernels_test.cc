// The fused edge kernels against the LibTorch operators they replace: values and gradients of
// every differentiable input, on random graphs with repeated receivers and a width that is not a
// multiple of the kernels' column block.
#include "tests/torch_catch.h"

#include <vector>

#include <ATen/Parallel.h>

#include "simulator/learned/edge_kernels.h"
#include "simulator/learned/graph_network.h"
#include "tests/simulator/learned_test_support.h"

namespace flowdesign::simulator::learned {
namespace {

constexpr int64_t kNodes = 30, kEdges = 400;

// Random edges; with `sorted`, receivers ascend as RadiusGraph makes them (the kernels' fast
// path), else in any order (their general path).
struct RandomGraph {
  explicit RandomGraph(bool sorted) {
    if (sorted) receivers = std::get<0>(receivers.sort());
  }
  torch::Tensor senders = torch::randint(kNodes, {kEdges}, torch::kInt64);
  torch::Tensor receivers = torch::randint(kNodes, {kEdges}, torch::kInt64);
};

double MaxDifference(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.defined());
  REQUIRE(b.defined());
  return (a - b).abs().max().item<double>();
}

// Gradients of sum(outputs[i] * probes[i]) with respect to `inputs`.
std::vector<torch::Tensor> Gradients(const std::vector<torch::Tensor>& outputs, const std::vector<torch::Tensor>& inputs) {
  torch::Tensor loss = torch::zeros({}, torch::kFloat64);
  torch::manual_seed(7);  // the same probes for both implementations
  for (const torch::Tensor& out : outputs) loss = loss + (out * torch::randn_like(out)).sum();
  return torch::autograd::grad({loss}, inputs, {}, /*retain_graph=*/true);
}

TEST_CASE("fused gather-add-relu equals the LibTorch composition, values and gradients", "[learned][kernels]") {
  torch::manual_seed(1);
  const int64_t hidden = 21;
  const bool sorted = GENERATE(true, false);
  INFO("receivers sorted " << sorted);
  const RandomGraph g(sorted);
  const torch::Tensor a = torch::randn({kEdges, hidden}, torch::kFloat64).requires_grad_(true);
  const torch::Tensor projected = torch::randn({kNodes, 2 * hidden}, torch::kFloat64).requires_grad_(true);

  const torch::Tensor fused = GatherAddRelu(a, projected, g.senders, g.receivers);
  const torch::Tensor reference = torch::relu(a + projected.narrow(1, 0, hidden).index_select(0, g.senders) +
                                              projected.narrow(1, hidden, hidden).index_select(0, g.receivers));
  CHECK(MaxDifference(fused, reference) < 1e-14);
  CHECK((reference > 0).any().item<bool>());
  CHECK((reference == 0).any().item<bool>());
  const auto fused_grads = Gradients({fused}, {a, projected});
  const auto reference_grads = Gradients({reference}, {a, projected});
  for (size_t i = 0; i < fused_grads.size(); ++i) CHECK(MaxDifference(fused_grads[i], reference_grads[i]) < 1e-12);

  // An index outside the nodes is an error, not a write into someone else's memory.
  torch::Tensor bad = g.receivers.clone();
  bad[3] = kNodes;
  REQUIRE_THROWS_WITH(GatherAddRelu(a, projected, g.senders, bad), Catch::Contains("receivers[3] = 30 is not a node index"));
}

TEST_CASE("fused LayerNorm-residual-aggregate equals the LibTorch composition, values and gradients", "[learned][kernels]") {
  torch::manual_seed(2);
  const int64_t width = 19;
  const bool sorted = GENERATE(true, false);
  INFO("receivers sorted " << sorted);
  const RandomGraph g(sorted);
  const auto make = [](std::vector<int64_t> shape, double scale, double offset) {
    return (torch::randn(shape, torch::kFloat64) * scale + offset).requires_grad_(true);
  };
  const torch::Tensor y = make({kEdges, width}, 3.0, 1.0), e = make({kEdges, width}, 1.0, 0.0);
  const torch::Tensor gamma = make({width}, 0.5, 1.0), beta = make({width}, 0.5, 0.0);
  const torch::Tensor weights = torch::rand({kEdges, 1}, torch::kFloat64).requires_grad_(true);
  const double eps = 1e-5;

  for (const bool weighted : {true, false}) {
    INFO("weighted " << weighted);
    const torch::Tensor w = weighted ? weights : torch::Tensor();
    const auto [e_next, aggregated] = NormResidualAggregate(y, gamma, beta, eps, e, w, g.receivers, kNodes);
    const torch::Tensor u = torch::layer_norm(y, {width}, gamma, beta, eps);
    const torch::Tensor messages = weighted ? u * weights : u;
    const torch::Tensor ref_next = e + u;
    const torch::Tensor ref_aggregated = torch::zeros({kNodes, width}, torch::kFloat64).index_add(0, g.receivers, messages);
    CHECK(MaxDifference(e_next, ref_next) < 1e-12);
    CHECK(MaxDifference(aggregated, ref_aggregated) < 1e-12);

    std::vector<torch::Tensor> inputs = {y, gamma, beta, e};
    if (weighted) inputs.push_back(weights);
    const auto fused_grads = Gradients({e_next, aggregated}, inputs);
    const auto reference_grads = Gradients({ref_next, ref_aggregated}, inputs);
    for (size_t i = 0; i < inputs.size(); ++i) {
      INFO("input " << i);
      CHECK(MaxDifference(fused_grads[i], reference_grads[i]) < 1e-10);
    }
    // Only the aggregate used (the last block's edge latents feed nothing).
    const auto fused_only_aggregate = Gradients({aggregated}, {y, gamma});
    const auto reference_only_aggregate = Gradients({ref_aggregated}, {y, gamma});
    CHECK(MaxDifference(fused_only_aggregate[0], reference_only_aggregate[0]) < 1e-10);
    CHECK(MaxDifference(fused_only_aggregate[1], reference_only_aggregate[1]) < 1e-10);
  }

  // An index outside the nodes is an error, not a write into someone else's memory.
  torch::Tensor bad = g.receivers.clone();
  bad[3] = kNodes;
  REQUIRE_THROWS_WITH(NormResidualAggregate(y, gamma, beta, eps, e, weights, bad, kNodes),
                      Catch::Contains("receivers[3] = 30 is not a node index"));
}

TEST_CASE("fused LayerNorm-residual-aggregate on float rows (its AVX2 path) equals the LibTorch composition",
          "[learned][kernels]") {
  torch::manual_seed(6);
  const int64_t width = 32;  // a multiple of 8: the AVX2 row on CPUs that have it
  const RandomGraph g(GENERATE(true, false));
  const torch::Tensor y = (torch::randn({kEdges, width}) * 3.0 + 1.0).requires_grad_(true);
  const torch::Tensor e = torch::randn({kEdges, width}).requires_grad_(true);
  const torch::Tensor gamma = (torch::randn({width}) * 0.5 + 1.0).requires_grad_(true);
  const torch::Tensor beta = (torch::randn({width}) * 0.5).requires_grad_(true);
  const torch::Tensor weights = torch::rand({kEdges, 1}).requires_grad_(true);
  const auto [e_next, aggregated] = NormResidualAggregate(y, gamma, beta, 1e-5, e, weights, g.receivers, kNodes);
  const torch::Tensor u = torch::layer_norm(y, {width}, gamma, beta, 1e-5);
  const torch::Tensor ref_next = e + u;
  const torch::Tensor ref_aggregated = torch::zeros({kNodes, width}).index_add(0, g.receivers, u * weights);
  CHECK(MaxDifference(e_next, ref_next) < 1e-5);
  CHECK(MaxDifference(aggregated, ref_aggregated) < 1e-4);
  const std::vector<torch::Tensor> inputs = {y, gamma, beta, e, weights};
  const auto fused_grads = Gradients({e_next.to(torch::kFloat64), aggregated.to(torch::kFloat64)}, inputs);
  const auto reference_grads = Gradients({ref_next.to(torch::kFloat64), ref_aggregated.to(torch::kFloat64)}, inputs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    INFO("input " << i);
    CHECK(MaxDifference(fused_grads[i], reference_grads[i]) < 1e-4 * (1.0 + reference_grads[i].abs().max().item<double>()));
  }
}

TEST_CASE("the fused kernels accept a graph without edges", "[learned][kernels]") {
  const torch::Tensor none = torch::zeros({0}, torch::kInt64);
  const torch::Tensor a = torch::zeros({0, 8}, torch::kFloat64).requires_grad_(true);
  const torch::Tensor projected = torch::randn({kNodes, 16}, torch::kFloat64).requires_grad_(true);
  const torch::Tensor out = GatherAddRelu(a, projected, none, none);
  CHECK(out.size(0) == 0);
  const torch::Tensor gamma = torch::ones({8}, torch::kFloat64).requires_grad_(true);
  const auto [next, aggregated] = NormResidualAggregate(a, gamma, torch::zeros({8}, torch::kFloat64), 1e-5, a, {}, none, kNodes);
  CHECK(aggregated.abs().sum().item<double>() == 0.0);
  const auto grads = torch::autograd::grad({(aggregated.sum() + next.sum() + out.sum())}, {projected, gamma}, {}, true, false, true);
  CHECK(grads[0].abs().sum().item<double>() == 0.0);
  CHECK(grads[1].abs().sum().item<double>() == 0.0);
}

TEST_CASE("the fused kernels run on two threads and give bit-identical results on one", "[learned][kernels]") {
  REQUIRE(FusedEdgeKernelsUseIntraOpThreads());
  // Large enough that every kernel splits its work (rows per task: 256 edges, 32 nodes).
  const int64_t nodes = 700, edges = 6000, width = 16;
  torch::manual_seed(3);
  const torch::Tensor senders = torch::randint(nodes, {edges}, torch::kInt64);
  const torch::Tensor sorted_receivers = std::get<0>(torch::randint(nodes, {edges}, torch::kInt64).sort());
  const torch::Tensor shuffled_receivers = torch::randint(nodes, {edges}, torch::kInt64);
  auto leaf = [](const torch::Tensor& t) { return t.clone().requires_grad_(true); };
  const torch::Tensor a = torch::randn({edges, width}), projected = torch::randn({nodes, 2 * width});
  const torch::Tensor y = torch::randn({edges, width}), e = torch::randn({edges, width}), w = torch::rand({edges, 1});
  auto run = [&](int threads) {
    const int saved = at::get_num_threads();
    at::set_num_threads(threads);
    std::vector<torch::Tensor> results;
    for (const torch::Tensor& receivers : {sorted_receivers, shuffled_receivers}) {
      const std::vector<torch::Tensor> inputs{leaf(a), leaf(projected), leaf(y), leaf(e), leaf(w)};
      const torch::Tensor gathered = GatherAddRelu(inputs[0], inputs[1], senders, receivers);
      const auto [next, aggregated] = NormResidualAggregate(inputs[2], torch::ones({width}), torch::zeros({width}), 1e-5,
                                                            inputs[3], inputs[4], receivers, nodes);
      for (const torch::Tensor& out : {gathered, next, aggregated}) results.push_back(out.detach());
      for (const torch::Tensor& g : Gradients({gathered.to(torch::kFloat64), next.to(torch::kFloat64), aggregated.to(torch::kFloat64)}, inputs)) {
        results.push_back(g);
      }
    }
    at::set_num_threads(saved);
    return results;
  };
  const auto one = run(1), two = run(2);
  REQUIRE(one.size() == two.size());
  for (size_t i = 0; i < one.size(); ++i) {
    INFO("result " << i);
    CHECK(torch::equal(one[i], two[i]));
  }
}

TEST_CASE("a graph network gives the same outputs and gradients with and without the fused kernels", "[learned][kernels]") {
  torch::manual_seed(3);
  ModelConfig config = testing::TinyConfig();
  config.latent_size = 20;
  config.mlp_hidden_size = 24;
  config.mlp_hidden_layers = 2;
  GraphNetwork network(config);
  network->to(torch::kFloat64);
  {
    torch::NoGradGuard no_grad;  // LayerNorm starts at gamma 1, beta 0: perturb it so it matters
    for (const auto& p : network->named_parameters()) {
      if (p.key().find("norm") != std::string::npos) p.value().add_(torch::randn_like(p.value()) * 0.3);
    }
  }
  const RandomGraph g(GENERATE(true, false));
  const torch::Tensor nodes = torch::randn({kNodes, NodeInputSize(config)}, torch::kFloat64).requires_grad_(true);
  const torch::Tensor edges = torch::randn({kEdges, 3}, torch::kFloat64).requires_grad_(true);
  const torch::Tensor weights = torch::rand({kEdges, 1}, torch::kFloat64).requires_grad_(true);
  std::vector<torch::Tensor> inputs = {nodes, edges, weights};
  for (const auto& p : network->parameters()) inputs.push_back(p);

  auto run = [&](bool fused) {
    network->UseFusedKernels(fused);
    const torch::Tensor out = network->forward(nodes, edges, g.senders, g.receivers, weights);
    std::vector<torch::Tensor> result = Gradients({out}, inputs);
    result.insert(result.begin(), out.detach());
    return result;
  };
  const auto fused = run(true), reference = run(false);
  CHECK(MaxDifference(fused[0], reference[0]) < 1e-10);
  for (size_t i = 1; i < fused.size(); ++i) {
    INFO("gradient " << i - 1);
    CHECK(MaxDifference(fused[i], reference[i]) < 1e-9 * (1.0 + reference[i].abs().max().item<double>()));
  }
}

}  // namespace
}  // namespace flowdesign::simulator::learned
