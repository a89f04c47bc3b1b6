// The dense edge block (edge_block.h) against the three kernels it fuses (DenseLayer,
// GatherAddRelu, NormResidualAggregate, each tested against LibTorch's operators): the forward
// pass bit for bit, with and without autograd, and the gradients of every input.
#include "tests/torch_catch.h"

#include <vector>

#include <ATen/Parallel.h>

#include "simulator/learned/dense_layer.h"
#include "simulator/learned/dense_product.h"
#include "simulator/learned/edge_block.h"
#include "simulator/learned/edge_kernels.h"

namespace flowdesign::simulator::learned {
namespace {

constexpr int64_t kNodes = 90, kLatent = 32, kHidden = 64;

// A random edge block's inputs; receivers ascend (as RadiusGraph makes them).
struct BlockCase {
  EdgeMlpWeights w;
  torch::Tensor e, projected, edge_weights, senders, receivers;
};

BlockCase RandomCase(int64_t rows, bool weighted) {
  BlockCase c;
  c.w = {torch::randn({kHidden, kLatent}) * 0.2, torch::randn({kHidden}), torch::randn({kLatent, kHidden}) * 0.2,
         torch::randn({kLatent}),             torch::rand({kLatent}) + 0.5, torch::randn({kLatent}),
         1e-5};
  c.e = torch::randn({rows, kLatent});
  c.projected = torch::randn({kNodes, 2 * kHidden});
  c.edge_weights = weighted ? torch::rand({rows, 1}) : torch::Tensor();
  c.senders = torch::randint(kNodes, {rows}, torch::kInt64);
  c.receivers = std::get<0>(torch::randint(kNodes, {rows}, torch::kInt64).sort());
  return c;
}

// The three kernels one after the other: the reference.
std::pair<torch::Tensor, torch::Tensor> ThreeKernels(const EdgeMlpWeights& w, const torch::Tensor& e,
                                                     const torch::Tensor& projected, const torch::Tensor& edge_weights,
                                                     const BlockCase& c) {
  const torch::Tensor activation = GatherAddRelu(DenseLayer(e, w.first_weight, w.first_bias, false), projected,
                                                 c.senders, c.receivers);
  return NormResidualAggregate(DenseLayer(activation, w.second_weight, w.second_bias, false), w.norm_weight,
                               w.norm_bias, w.norm_eps, e, edge_weights, c.receivers, kNodes);
}

// Outputs and the gradients of every input of sum(next * probe_next) + sum(aggregated *
// probe_aggregated) (a probe may be undefined: that output unused), with the fused block or the
// three kernels.
std::vector<torch::Tensor> OutputsAndGradients(const BlockCase& c, bool fused, const torch::Tensor& probe_next,
                                               const torch::Tensor& probe_aggregated) {
  auto leaf = [](const torch::Tensor& t) { return t.defined() ? t.clone().requires_grad_(true) : t; };
  const EdgeMlpWeights w{leaf(c.w.first_weight),  leaf(c.w.first_bias), leaf(c.w.second_weight),
                         leaf(c.w.second_bias),   leaf(c.w.norm_weight), leaf(c.w.norm_bias),
                         c.w.norm_eps};
  const torch::Tensor e = leaf(c.e), projected = leaf(c.projected), edge_weights = leaf(c.edge_weights);
  const auto [next, aggregated] = fused ? DenseEdgeBlock(w, e, projected, c.senders, c.receivers, edge_weights, kNodes)
                                        : ThreeKernels(w, e, projected, edge_weights, c);
  std::vector<torch::Tensor> inputs = {e, projected, w.first_weight, w.first_bias, w.second_weight, w.second_bias,
                                       w.norm_weight, w.norm_bias};
  if (edge_weights.defined()) inputs.push_back(edge_weights);
  torch::Tensor loss = torch::zeros({});
  if (probe_next.defined()) loss = loss + (next * probe_next).sum();
  if (probe_aggregated.defined()) loss = loss + (aggregated * probe_aggregated).sum();
  std::vector<torch::Tensor> result =
      torch::autograd::grad({loss}, inputs, {}, false, false, /*allow_unused=*/true);
  result.insert(result.begin(), {next.detach(), aggregated.detach()});
  return result;
}

TEST_CASE("the dense edge block computes what the edge kernels compute one after the other, bit for bit",
          "[learned][kernels]") {
  if (!DenseKernelApplies(torch::zeros({1, 64}), 64)) return;  // no AVX2: the network never calls it
  torch::manual_seed(9);
  const int64_t rows = GENERATE(0, 5, 1001);
  const bool weighted = GENERATE(false, true);
  INFO("rows " << rows << (weighted ? ", weighted edges" : ""));
  const BlockCase c = RandomCase(rows, weighted);
  REQUIRE(DenseEdgeBlockApplies(c.e, kHidden, c.receivers));
  torch::NoGradGuard no_grad;
  const auto [next, aggregated] = DenseEdgeBlock(c.w, c.e, c.projected, c.senders, c.receivers, c.edge_weights, kNodes);
  const torch::Tensor activation =
      DenseGatherAddRelu(c.e, c.w.first_weight, c.w.first_bias, c.projected, c.senders, c.receivers);
  const auto [next_separate, aggregated_separate] =
      NormResidualAggregate(DenseLayer(activation, c.w.second_weight, c.w.second_bias, false), c.w.norm_weight,
                            c.w.norm_bias, c.w.norm_eps, c.e, c.edge_weights, c.receivers, kNodes);
  CHECK(torch::equal(next, next_separate));
  CHECK(torch::equal(aggregated, aggregated_separate));
  if (rows > 1) {
    CHECK(aggregated.abs().sum().item<double>() > 0.0);
    CHECK_FALSE(DenseEdgeBlockApplies(c.e, kHidden, c.receivers.flip(0)));  // descending: threads cannot own receivers
    CHECK_FALSE(DenseEdgeBlockApplies(c.e, 24, c.receivers));
    torch::Tensor bad = c.senders.clone();
    bad[rows - 1] = -1;
    REQUIRE_THROWS_WITH(DenseEdgeBlock(c.w, c.e, c.projected, bad, c.receivers, c.edge_weights, kNodes),
                        Catch::Contains("DenseEdgeBlock: senders[") && Catch::Contains("is not a node index"));
    REQUIRE_THROWS_WITH(DenseEdgeBlock(c.w, c.e, c.projected.narrow(1, 0, kHidden), c.senders, c.receivers,
                                       c.edge_weights, kNodes),
                        Catch::Contains("projected must be float with 2 x 64 columns"));
  }
}

TEST_CASE("the dense edge block's gradients match the edge kernels' under autograd", "[learned][kernels]") {
  if (!DenseKernelApplies(torch::zeros({1, 64}), 64)) return;
  torch::manual_seed(11);
  // 1100 rows: three of the backward pass's 512-edge blocks, the last one partial.
  const int64_t rows = GENERATE(0, 7, 1100);
  const bool weighted = GENERATE(false, true);
  const int outputs_used = GENERATE(0, 1, 2);  // 0: both, 1: only next, 2: only aggregated
  INFO("rows " << rows << (weighted ? ", weighted edges" : "") << ", outputs used " << outputs_used);
  const BlockCase c = RandomCase(rows, weighted);
  const torch::Tensor probe_next = outputs_used != 2 ? torch::randn({rows, kLatent}) : torch::Tensor();
  const torch::Tensor probe_aggregated = outputs_used != 1 ? torch::randn({kNodes, kLatent}) : torch::Tensor();
  const auto fused = OutputsAndGradients(c, true, probe_next, probe_aggregated);
  const auto reference = OutputsAndGradients(c, false, probe_next, probe_aggregated);
  REQUIRE(fused.size() == reference.size());
  const char* names[] = {"next", "aggregated", "e", "projected", "W1", "b1", "W2", "b2", "gamma", "beta", "edge weights"};
  // The forward pass under autograd computes the same bits as without it and as the kernels.
  CHECK(torch::equal(fused[0], reference[0]));
  CHECK(torch::equal(fused[1], reference[1]));
  for (size_t i = 2; i < fused.size(); ++i) {
    INFO(names[i]);
    if (!reference[i].defined()) {  // an input this loss does not depend on (beta without next, say)
      CHECK((!fused[i].defined() || fused[i].abs().max().item<double>() == 0.0));
      continue;
    }
    REQUIRE(fused[i].defined());
    REQUIRE(fused[i].sizes() == reference[i].sizes());
    if (rows == 0) continue;
    const double scale = 1.0 + reference[i].abs().max().item<double>();
    CHECK((fused[i] - reference[i]).abs().max().item<double>() / scale < 1e-4);
    const bool zero = i == 10 && outputs_used == 1;  // the edge weights scale only the aggregate
    CHECK((reference[i].abs().max().item<double>() > 0.0) != zero);  // the comparison is not vacuous
  }
}

TEST_CASE("the dense edge block's gradients do not depend on the thread count", "[learned][kernels]") {
  if (!DenseKernelApplies(torch::zeros({1, 64}), 64)) return;
  torch::manual_seed(13);
  const BlockCase c = RandomCase(2000, true);
  const torch::Tensor probe_next = torch::randn({2000, kLatent}), probe_aggregated = torch::randn({kNodes, kLatent});
  auto run = [&](int threads) {
    const int saved = at::get_num_threads();
    at::set_num_threads(threads);
    const auto result = OutputsAndGradients(c, true, probe_next, probe_aggregated);
    at::set_num_threads(saved);
    return result;
  };
  const auto one = run(1), two = run(2);
  for (size_t i = 0; i < one.size(); ++i) {
    INFO("result " << i);
    CHECK(torch::equal(one[i], two[i]));
  }
}

TEST_CASE("with constant parameters the dense edge block keeps activity bits and gives the same input gradients",
          "[learned][kernels]") {
  if (!DenseKernelApplies(torch::zeros({1, 64}), 64)) return;
  torch::manual_seed(17);
  const int64_t rows = GENERATE(7, 1100);
  const bool weighted = GENERATE(false, true);
  INFO("rows " << rows << (weighted ? ", weighted edges" : ""));
  const BlockCase c = RandomCase(rows, weighted);
  const torch::Tensor probe_next = torch::randn({rows, kLatent}), probe_aggregated = torch::randn({kNodes, kLatent});
  // The parameters as leaves (the hidden activations kept) or as constants (only their bits).
  auto run = [&](bool parameters_need_gradients) {
    auto leaf = [](const torch::Tensor& t, bool wanted) {
      return t.defined() && wanted ? t.clone().requires_grad_(true) : t;
    };
    const bool p = parameters_need_gradients;
    const EdgeMlpWeights w{leaf(c.w.first_weight, p),  leaf(c.w.first_bias, p),  leaf(c.w.second_weight, p),
                           leaf(c.w.second_bias, p),   leaf(c.w.norm_weight, p), leaf(c.w.norm_bias, p),
                           c.w.norm_eps};
    const torch::Tensor e = leaf(c.e, true), projected = leaf(c.projected, true);
    const torch::Tensor edge_weights = leaf(c.edge_weights, true);
    const auto [next, aggregated] = DenseEdgeBlock(w, e, projected, c.senders, c.receivers, edge_weights, kNodes);
    std::vector<torch::Tensor> inputs = {e, projected};
    if (weighted) inputs.push_back(edge_weights);
    const torch::Tensor loss = (next * probe_next).sum() + (aggregated * probe_aggregated).sum();
    std::vector<torch::Tensor> result = torch::autograd::grad({loss}, inputs);
    result.insert(result.begin(), {next.detach(), aggregated.detach()});
    return result;
  };
  const auto kept = run(true), bits = run(false);
  for (size_t i = 0; i < kept.size(); ++i) {
    INFO("result " << i << " (next, aggregated, then the gradients of e, projected, edge weights)");
    CHECK(torch::equal(kept[i], bits[i]));
    CHECK(bits[i].abs().max().item<double>() > 0.0);
  }
}

TEST_CASE("activity bits mask a product's columns and an addend joins its rows as separate passes would",
          "[learned][kernels]") {
  if (!DenseKernelApplies(torch::zeros({1, 64}), 64)) return;
  torch::manual_seed(19);
  const int64_t rows = 13, inner = 32, columns = 48;
  const torch::Tensor a = torch::randn({rows, inner}), b = torch::randn({inner, columns});
  const torch::Tensor activity = torch::randn({rows, columns}), addend = torch::randn({rows, columns});
  torch::Tensor bits = torch::empty({rows, columns / kPanel}, torch::kInt16);
  auto* pbits = reinterpret_cast<uint16_t*>(bits.data_ptr<int16_t>());
  ActivityBits(activity.data_ptr<float>(), rows, columns, pbits);
  torch::Tensor masked = torch::empty({rows, columns}), summed = torch::empty({rows, columns});
  DenseProduct product{rows, columns, inner, a.data_ptr<float>(), inner, 1, b.data_ptr<float>(), columns,
                       nullptr, false, masked.data_ptr<float>(), columns};
  product.mask_bits = pbits;
  product.mask_row = columns / kPanel;
  product.RunSerial();
  DenseProduct plus = product;
  plus.mask_bits = nullptr;
  plus.addend = addend.data_ptr<float>();
  plus.ld_addend = columns;
  plus.c = summed.data_ptr<float>();
  plus.RunSerial();
  torch::Tensor plain = torch::empty({rows, columns});
  DenseProduct unmasked = product;
  unmasked.mask_bits = nullptr;
  unmasked.c = plain.data_ptr<float>();
  unmasked.RunSerial();
  CHECK(torch::equal(masked, torch::where(activity > 0, plain, torch::zeros_like(plain))));
  CHECK(torch::equal(summed, plain + addend));
  CHECK(torch::allclose(plain, torch::mm(a, b), 1e-4, 1e-4));
  CHECK((masked == 0).sum().item<int64_t>() > rows * columns / 4);  // about half the columns were off
}

}  // namespace
}  // namespace flowdesign::simulator::learned
