// The graph's edge inputs and fade weights: the CPU loop computes what the reference in LibTorch
// operators computes, values and position gradients, with and without the fade.
#include "tests/torch_catch.h"

#include "simulator/learned/edge_features.h"

namespace flowdesign::simulator::learned {
namespace {

TEST_CASE("edge features: the CPU loop matches the LibTorch reference, gradients included", "[learned][gradient]") {
  const double radius = 0.022;
  for (const torch::Dtype dtype : {torch::kFloat32, torch::kFloat64}) {
    for (const double fade : {0.0, 0.23}) {
      INFO("dtype " << dtype << ", fade " << fade);
      torch::manual_seed(13);
      // 60 particles within a few radii: pair distances from 0 to beyond R, through the fade band.
      const torch::Tensor positions = 0.5 + 0.03 * torch::rand({60, 2}, dtype);
      const torch::Tensor senders = torch::randint(0, 60, {400}, torch::kInt64);
      const torch::Tensor receivers = std::get<0>(torch::randint(0, 60, {400}, torch::kInt64).sort());
      const torch::Tensor probe_inputs = torch::randn({400, 3}, dtype), probe_weights = torch::randn({400, 1}, dtype);
      auto run = [&](bool reference) {
        torch::Tensor x = positions.clone().requires_grad_(true);
        const EdgeFeatureTensors f = reference ? EdgeFeaturesReference(x, senders, receivers, radius, fade)
                                               : EdgeFeatures(x, senders, receivers, radius, fade);
        torch::Tensor loss = (f.inputs * probe_inputs).sum();
        if (fade > 0.0) loss = loss + (f.weights * probe_weights).sum();
        loss.backward();
        return std::tuple<EdgeFeatureTensors, torch::Tensor>{f, x.grad()};
      };
      const auto [features, grad] = run(false);
      const auto [reference, grad_reference] = run(true);
      const double tolerance = dtype == torch::kFloat32 ? 1e-5 : 1e-12;
      CHECK((features.inputs - reference.inputs).abs().max().item<double>() < tolerance);
      CHECK(features.weights.defined() == (fade > 0.0));
      if (fade > 0.0) {
        CHECK((features.weights - reference.weights).abs().max().item<double>() < tolerance);
        const torch::Tensor w = reference.weights;
        CHECK(((w > 0) & (w < 1)).sum().item<int64_t>() > 10);  // pairs inside the fade band
        CHECK((w == 0).any().item<bool>());
      }
      REQUIRE(grad.defined());
      const double scale = grad_reference.abs().max().item<double>();
      CHECK(scale > 1.0);
      CHECK((grad - grad_reference).abs().max().item<double>() < tolerance * scale);
    }
  }
}

}  // namespace
}  // namespace flowdesign::simulator::learned
