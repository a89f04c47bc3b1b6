// How restart targets (training's pushforward_restart_targets) differ from the plain ones: draws
// pushed-forward windows of a model on a data folder recorded with record_mpm_state, builds each
// example's target both ways (the ground-truth twin's next frame kept at the window's offset,
// and MPM restarted at the window's state) and prints, per pushforward length, the difference in
// normalized acceleration units: its mean per axis (the mean over examples of each example's
// mean over its fluid) with the standard error over examples (a
// systematic push that a trained model would integrate into drift), its rms, and the rms of the
// plain target for scale. A mean of 0.02 is ~1.2e-5 m per frame^2, 0.4 spacings after 25 frames.
//
//   ./build/benchmarks/restart_targets [--model models/default/model.fdm] [--data data/restart]
//                                      [--examples 200] [--noise 0] [--seed 7]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>

#include "simulator/ground_truth/mpm_solver.h"
#include "simulator/learned/blas_kernels.h"
#include "simulator/learned/model_file.h"
#include "simulator/training/dataset.h"
#include "simulator/training/example.h"

using namespace flowdesign::simulator;

int main(int argc, char** argv) {
  learned::RestartWithFittingOpenBlasKernels(argv);
  std::string model_path = "models/default/model.fdm", data_dir = "data/restart";
  int examples = 200;
  double noise = 0.0;
  uint64_t seed = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--model") model_path = argv[i + 1];
    else if (flag == "--data") data_dir = argv[i + 1];
    else if (flag == "--examples") examples = std::atoi(argv[i + 1]);
    else if (flag == "--noise") noise = std::atof(argv[i + 1]);
    else if (flag == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  try {
    const auto simulator = learned::LoadModel(model_path);
    const int history = simulator->Config().history;
    const training::Dataset data = training::LoadSplit(data_dir, "train", history, examples);
    const GroundTruthRun ground_truth = MpmGroundTruthRun();
    std::printf("%s on %s (train split), %d examples per row from frames 30-129, noise %g m\n", model_path.c_str(),
                data_dir.c_str(), examples, noise);
    std::printf("%12s  %24s  %24s  %16s  %16s\n", "pushforward", "mean x (+- s.e.)", "mean y (+- s.e.)",
                "rms x, y", "plain rms x, y");
    std::mt19937_64 rng(seed);
    for (int steps : {0, 2, 10, 25}) {
      double sum_example_means[2] = {0, 0}, sum_example_means2[2] = {0, 0};
      double squared[2] = {0, 0}, plain_squared[2] = {0, 0}, components = 0;
      for (int k = 0; k < examples; ++k) {
        const training::TrajectoryTensors& t = data.trajectories[k % data.trajectories.size()];
        const int frame = 30 + static_cast<int>(rng() % 100);
        training::ExampleDraw draw = training::DrawExample(t, frame, history, noise, steps, rng);
        const torch::Tensor plain = training::MakeExample(*simulator, draw, torch::kCPU).target;
        draw.restart = &ground_truth;
        const torch::Tensor difference = training::MakeExample(*simulator, draw, torch::kCPU).target - plain;
        for (int a = 0; a < 2; ++a) {
          const double example_mean = difference.select(1, a).mean().item<double>();
          sum_example_means[a] += example_mean;
          sum_example_means2[a] += example_mean * example_mean;
          squared[a] += difference.select(1, a).pow(2).sum().item<double>();
          plain_squared[a] += plain.select(1, a).pow(2).sum().item<double>();
        }
        components += static_cast<double>(difference.size(0));
      }
      std::printf("%12d", steps);
      for (int a = 0; a < 2; ++a) {
        const double mean_of_means = sum_example_means[a] / examples;
        const double spread = std::sqrt(std::max(0.0, sum_example_means2[a] / examples - mean_of_means * mean_of_means));
        std::printf("  %11.4f +- %9.4f", mean_of_means, spread / std::sqrt(examples));
      }
      std::printf("  %7.3f, %6.3f  %7.3f, %6.3f\n", std::sqrt(squared[0] / components), std::sqrt(squared[1] / components),
                  std::sqrt(plain_squared[0] / components), std::sqrt(plain_squared[1] / components));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "restart_targets: %s\n", e.what());
    return 1;
  }
  return 0;
}
