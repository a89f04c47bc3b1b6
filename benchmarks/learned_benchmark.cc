// Speed and memory of the learned simulator: ms per step forward and forward+backward (serial on
// all cores, recomputing every step or keeping activations in a design search's memory budget,
// and pipelined as a one-start design search runs it) at 250, 1000 and 4000 particles, FLOPs per
// step and achieved GFLOP/s next to two reference rates measured in the same run (a large square
// product and a product of the network's own layer shape), and the peak memory of the gradient
// of a 300-step rollout with 1000 particles, both ways.
//
//   ./build/benchmarks/learned_benchmark [MODEL.fdm | CONFIG.json]   (default: models/default/model.fdm)
//   ./build/benchmarks/learned_benchmark MODEL --kernels
//     instead: the fused edge kernels and the dense layer kernel against the LibTorch operators they replace
//   ./build/benchmarks/learned_benchmark MODEL --profile PARTICLES
//     instead: where the time of a 10-step forward and forward+backward goes, by operator (self time)
//   ... --threads N   measure on N LibTorch threads (default: all cores)
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/profiler_legacy.h>

#include "simulator/learned/blas_kernels.h"
#include "simulator/learned/dense_layer.h"
#include "simulator/learned/edge_block.h"
#include "simulator/learned/edge_kernels.h"
#include "simulator/learned/model_file.h"
#include "simulator/learned/radius_graph.h"
#include "simulator/learned/rollout.h"
#include "simulator/training/trainer.h"

using namespace flowdesign;
using namespace flowdesign::simulator;
using namespace flowdesign::simulator::learned;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Median seconds of `reps` runs of f after one warm-up run.
template <typename F>
double Median(int reps, F f) {
  f();
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    const auto t = Clock::now();
    f();
    times.push_back(Seconds(t));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Median seconds of each of `runs`, the runs taking turns for `reps` rounds after one warm-up
// round: the machine's drift (this one swings by 20% from minute to minute) hits them alike.
std::vector<double> InterleavedMedians(int reps, const std::vector<std::function<void()>>& runs) {
  std::vector<std::vector<double>> times(runs.size());
  for (int r = 0; r <= reps; ++r) {
    for (size_t k = 0; k < runs.size(); ++k) {
      const auto t = Clock::now();
      runs[k]();
      if (r > 0) times[k].push_back(Seconds(t));
    }
  }
  std::vector<double> medians;
  for (std::vector<double>& t : times) {
    std::sort(t.begin(), t.end());
    medians.push_back(t[t.size() / 2]);
  }
  return medians;
}

// GFLOP/s of flowdesign's dense layer kernel (no bias, no relu) on the same shape.
double DenseKernelRate(int64_t rows, int64_t inner, int64_t cols, int reps) {
  const torch::Tensor a = torch::randn({rows, inner}), weight = torch::randn({cols, inner});
  torch::NoGradGuard no_grad;
  const double seconds = Median(reps, [&] { DenseLayer(a, weight, torch::Tensor(), false); });
  return 2.0 * rows * inner * cols / seconds / 1e9;
}

double ProductRate(int64_t rows, int64_t inner, int64_t cols, int reps) {
  const torch::Tensor a = torch::randn({rows, inner}), b = torch::randn({inner, cols});
  const double seconds = Median(reps, [&] { torch::mm(a, b); });
  return 2.0 * rows * inner * cols / seconds / 1e9;
}

// What each of two gradient searches on two cores may keep of activations in `flowdesign design`
// (--gradient-memory's default of 2048 MB, shared).
constexpr int64_t kKeptActivationBytes = int64_t{1024} << 20;

// The gradient of the summed final positions of a `steps`-step rollout with respect to the
// scene's capsules (what one design iteration computes).
torch::Tensor RolloutGradient(LearnedSimulator& simulator, const Scene& scene, const RolloutSetup& setup, int steps,
                              const GradientOptions& gradient = {}) {
  torch::Tensor caps = CapsuleTensor(scene.solids).requires_grad_(true);
  Rollout(simulator, setup, SampleObstacleParticles(caps, scene.particle_spacing_m), caps, gradient)
      .select(0, steps)
      .sum()
      .backward();
  return caps.grad();
}

struct StepPhaseTimes {
  double forward, recompute, back_propagate;  // ms
};

// The parts of a gradient for one step (the first of the setup): the step without autograd (as
// the rollout's forward pass runs it), with autograd (as the backward pass recomputes it), and
// the back-propagation of a random output gradient to the window and the obstacles.
StepPhaseTimes StepPhases(LearnedSimulator& simulator, const Scene& scene, const RolloutSetup& setup,
                          const torch::Tensor& obstacles, const torch::Tensor& capsules) {
  const torch::Tensor window = setup.initial_states.narrow(0, 0, setup.history + 1);
  // A model with a volume state steps J too (from rest, as a rollout starts).
  const bool with_volume = simulator.Config().volume_state;
  const torch::Tensor volume = with_volume ? torch::ones({window.size(1)}) : torch::Tensor();
  StepPhaseTimes t;
  t.forward = 1e3 * Median(9, [&] {
    torch::NoGradGuard no_grad;
    torch::Tensor next_volume;
    simulator.Step(window, obstacles, capsules, scene.domain, volume, &next_volume);
  });
  torch::Tensor leaves[4], next, next_volume;
  auto recompute = [&] {
    leaves[0] = window.detach().requires_grad_(true);
    leaves[1] = obstacles.detach().requires_grad_(true);
    leaves[2] = capsules.detach().requires_grad_(true);
    if (with_volume) leaves[3] = volume.detach().requires_grad_(true);
    ParametersAsConstants constants;  // as Rollout's backward pass recomputes a step
    next = simulator.Step(leaves[0], leaves[1], leaves[2], scene.domain, leaves[3], &next_volume);
  };
  t.recompute = 1e3 * Median(9, recompute);
  const torch::Tensor output_grad = torch::randn_like(next);
  t.back_propagate = 1e3 * Median(9, [&] {
    recompute();
    if (with_volume) {
      torch::autograd::grad({next, next_volume}, {leaves[0], leaves[1], leaves[2], leaves[3]},
                            {output_grad, torch::zeros_like(next_volume)}, false, false, true);
    } else {
      torch::autograd::grad({next}, {leaves[0], leaves[1], leaves[2]}, {output_grad}, false, false, true);
    }
  }) - t.recompute;
  return t;
}

// A square block of water (side chosen for `particles`) above a cup-shaped chain.
Scene BenchmarkScene(int particles, int frames, double spacing, double frame_dt) {
  Scene scene;
  const int side = static_cast<int>(std::lround(std::sqrt(particles)));
  const double width = side * spacing;
  scene.domain = {{0.0, 0.0}, {std::max(1.0, width + 0.4), std::max(1.0, width + 0.5)}};
  scene.gravity = {0.0, -9.81};
  scene.particle_spacing_m = spacing;
  scene.frame_dt_s = frame_dt;
  scene.frames = frames;
  const double x0 = 0.5 * scene.domain.Width() - 0.5 * width;
  for (int j = 0; j < side; ++j) {
    for (int i = 0; i < side; ++i) {
      scene.fluid_positions.push_back({x0 + (i + 0.5) * spacing, 0.25 + (j + 0.5) * spacing});
      scene.fluid_velocities.push_back({0.0, 0.0});
    }
  }
  const double cx = 0.5 * scene.domain.Width(), half = 0.5 * width + 0.05;
  scene.solids = {{{cx - half, 0.35}, {cx - half, 0.2}, 0.0075},
                  {{cx - half, 0.2}, {cx + half, 0.2}, 0.0075},
                  {{cx + half, 0.2}, {cx + half, 0.35}, 0.0075}};
  return scene;
}

// Self time per operator (its duration minus that of the operators it called) from the chrome
// trace of LibTorch's profiler, printed largest first.
void PrintOperatorProfile(const std::string& trace, double total_ms) {
  struct Event {
    double start, end;
    std::string name;
  };
  std::map<uint64_t, std::vector<Event>> threads;
  for (const auto& e : nlohmann::json::parse(trace)) {
    if (e.value("ph", "") != "X") continue;
    const double start = e.at("ts").get<double>();
    threads[e.value("tid", uint64_t{0})].push_back({start, start + e.at("dur").get<double>(), e.at("name")});
  }
  std::map<std::string, std::pair<double, int>> self;  // us, calls
  std::map<std::string, double> phases;                 // inclusive us of the step's phases
  for (auto& [tid, events] : threads) {
    std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
      return a.start < b.start || (a.start == b.start && a.end > b.end);
    });
    std::vector<const Event*> open;
    for (const Event& e : events) {
      while (!open.empty() && open.back()->end <= e.start) open.pop_back();
      if (!open.empty()) self[open.back()->name].first -= e.end - e.start;  // the parent did not spend it
      self[e.name].first += e.end - e.start;
      if (e.name == "flowdesign::BuildGraph" || e.name == "flowdesign::GraphNetwork" || e.name == "flowdesign::Projections") {
        phases[e.name] += e.end - e.start;
      }
      ++self[e.name].second;
      open.push_back(&e);
    }
  }
  std::vector<std::pair<double, std::string>> rows;
  double profiled = 0.0;
  for (const auto& [name, value] : self) {
    rows.push_back({value.first, name});
    profiled += value.first;
  }
  std::sort(rows.rbegin(), rows.rend());
  std::printf("%-40s %10s %8s %7s\n", "operator (self time)", "ms", "calls", "share");
  for (size_t i = 0; i < std::min<size_t>(rows.size(), 25); ++i) {
    std::printf("%-40s %10.2f %8d %6.1f%%\n", rows[i].second.c_str(), rows[i].first / 1e3, self[rows[i].second].second,
                100.0 * rows[i].first / profiled);
  }
  std::printf("operators: %.1f ms of %.1f ms wall (the rest: our own code between operators and profiler overhead)\n",
              profiled / 1e3, total_ms);
  std::printf("step phases (inclusive, forward passes only):");
  for (const auto& [name, us] : phases) std::printf("  %s %.1f ms", name.c_str(), us / 1e3);
  std::printf("\n");
}

// Milliseconds of the fused edge kernels against the LibTorch operators they replace, forward
// and forward+backward, on a random graph of the given size.
void CompareEdgeKernels(int64_t nodes, int64_t edges, int64_t width) {
  const torch::Tensor senders = torch::randint(nodes, {edges}, torch::kInt64);
  const torch::Tensor receivers = std::get<0>(torch::randint(nodes, {edges}, torch::kInt64).sort());
  auto leaf = [](torch::Tensor t) { return t.requires_grad_(true); };
  const torch::Tensor a = leaf(torch::randn({edges, width})), projected = leaf(torch::randn({nodes, 2 * width}));
  const torch::Tensor y = leaf(torch::randn({edges, width})), e = leaf(torch::randn({edges, width}));
  const torch::Tensor gamma = leaf(torch::ones({width})), beta = leaf(torch::zeros({width}));
  const torch::Tensor weights = leaf(torch::rand({edges, 1}));
  auto gather_fused = [&] { return GatherAddRelu(a, projected, senders, receivers); };
  auto gather_reference = [&] {
    return torch::relu(a + projected.narrow(1, 0, width).index_select(0, senders) +
                       projected.narrow(1, width, width).index_select(0, receivers));
  };
  auto norm_fused = [&] {
    auto [next, aggregated] = NormResidualAggregate(y, gamma, beta, 1e-5, e, weights, receivers, nodes);
    return next.sum() + aggregated.sum();
  };
  auto norm_reference = [&] {
    const torch::Tensor u = torch::layer_norm(y, {width}, gamma, beta, 1e-5);
    return (e + u).sum() + torch::zeros({nodes, width}).index_add(0, receivers, u * weights).sum();
  };
  auto time = [](auto f) {
    const double forward = Median(9, [&] {
      torch::NoGradGuard no_grad;
      f();
    });
    const double both = Median(9, [&] { f().sum().backward(); });
    return std::pair<double, double>{1e3 * forward, 1e3 * both};
  };
  std::printf("edge kernels, %lld edges x %lld features, %lld nodes: ms forward / forward+backward\n",
              static_cast<long long>(edges), static_cast<long long>(width), static_cast<long long>(nodes));
  const auto gf = time(gather_fused), gr = time(gather_reference), nf = time(norm_fused), nr = time(norm_reference);
  std::printf("  gather-add-relu            fused %6.3f / %6.3f   LibTorch ops %6.3f / %6.3f\n", gf.first, gf.second, gr.first, gr.second);
  std::printf("  layernorm-residual-scatter fused %6.3f / %6.3f   LibTorch ops %6.3f / %6.3f\n", nf.first, nf.second, nr.first, nr.second);
  const torch::Tensor w = leaf(torch::randn({width, width}) * 0.1), bias = leaf(torch::randn({width}));
  const auto df = time([&] { return DenseLayer(a, w, bias, true); });
  const auto dr = time([&] { return torch::relu(torch::linear(a, w, bias)); });
  std::printf("  dense layer + relu         own   %6.3f / %6.3f   LibTorch ops %6.3f / %6.3f%s\n", df.first, df.second,
              dr.first, dr.second, DenseKernelApplies(a, width) ? "" : "   (own kernel does not apply: LibTorch both)");
  if (!DenseEdgeBlockApplies(e, width, receivers)) return;
  // The whole edge half of a block: one pass per tile (forward and backward), or the three kernels.
  const EdgeMlpWeights mlp{w, bias, w, bias, gamma, beta, 1e-5};
  const auto bf = time([&] {
    auto [next, aggregated] = DenseEdgeBlock(mlp, e, projected, senders, receivers, weights, nodes);
    return next.sum() + aggregated.sum();
  });
  const auto br = time([&] {
    const torch::Tensor activation = torch::GradMode::is_enabled()
                                         ? GatherAddRelu(DenseLayer(e, w, bias, false), projected, senders, receivers)
                                         : DenseGatherAddRelu(e, w, bias, projected, senders, receivers);
    auto [next, aggregated] =
        NormResidualAggregate(DenseLayer(activation, w, bias, false), gamma, beta, 1e-5, e, weights, receivers, nodes);
    return next.sum() + aggregated.sum();
  });
  std::printf("  edge block                 one pass %6.3f / %6.3f   three kernels %6.3f / %6.3f\n", bf.first, bf.second,
              br.first, br.second);
}

long PeakRssMb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6)) / 1024;
  }
  return -1;
}

long CurrentRssMb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6)) / 1024;
  }
  return -1;
}

// The model file, or for a training config an untrained network of that shape.
std::unique_ptr<LearnedSimulator> LoadSimulator(const std::string& source) {
  std::unique_ptr<LearnedSimulator> simulator;
  if (source.size() > 5 && source.substr(source.size() - 5) == ".json") {
    simulator = std::make_unique<LearnedSimulator>(training::LoadTrainConfig(source).model, Normalization{});
    Normalization n;  // magnitudes of real data, so the dynamics stay plausible
    n.velocity_std = {0.005, 0.006};
    n.acceleration_std = {0.0006, 0.0006};
    simulator->SetNormalization(n);
    // An untrained network would scatter the particles (and blow up the edge count); a zero
    // decoder keeps the scene as it starts, so the graph sizes are those of a real scene.
    torch::NoGradGuard no_grad;
    for (const auto& item : simulator->Network()->named_parameters()) {
      if (item.key().rfind("decoder.", 0) == 0) item.value().zero_();
    }
  } else {
    simulator = LoadModel(source);
  }
  return simulator;
}

}  // namespace

int main(int argc, char** argv) {
  flowdesign::simulator::learned::RestartWithFittingOpenBlasKernels(argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // show each row as soon as it is measured
  // Arguments: [MODEL | CONFIG] [--kernels | --profile PARTICLES] [--threads N]; --threads
  // measures on N cores (e.g. 1 while a training run holds the other one).
  std::vector<std::string> args(argv + 1, argv + argc);
  int threads = 0;
  if (args.size() >= 2 && args[args.size() - 2] == "--threads") {
    threads = std::atoi(args.back().c_str());
    args.resize(args.size() - 2);
  }
  const std::string source = !args.empty() ? args[0] : "models/default/model.fdm";
  const bool kernels = args.size() == 2 && args[1] == "--kernels";
  const bool profile = args.size() == 3 && args[1] == "--profile";
  if ((!args.empty() && source.rfind("-", 0) == 0) || (args.size() > 1 && !kernels && !profile) || threads < 0) {
    std::fprintf(stderr,
                 "usage: learned_benchmark [MODEL.fdm | CONFIG.json] [--kernels | --profile PARTICLES] [--threads N]\n");
    return 2;
  }
  ConfigureTorchThreads(threads);
  std::unique_ptr<LearnedSimulator> simulator;
  try {
    simulator = LoadSimulator(source);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  const ModelConfig& config = simulator->Config();
  if (kernels) {
    CompareEdgeKernels(1100, 11652, config.latent_size);
    return 0;
  }
  if (profile) {
    const int particles = std::stoi(args[2]), steps = 10;
    const Scene scene = BenchmarkScene(particles, steps, config.particle_spacing_m, config.frame_dt_s);
    const RolloutSetup setup = MakeRolloutSetup(scene, config.history);
    auto forward = [&] {
      torch::NoGradGuard no_grad;
      Rollout(*simulator, setup, SampleObstacleParticles(CapsuleTensor(scene.solids), scene.particle_spacing_m),
              CapsuleTensor(scene.solids));
    };
    auto gradient = [&] { RolloutGradient(*simulator, scene, setup, steps); };
    for (const auto& [name, run] : {std::pair<const char*, std::function<void()>>{"forward", forward}, {"forward+backward", gradient}}) {
      run();  // warm-up
      std::ostringstream trace;
      const auto t = Clock::now();
      {
        torch::autograd::profiler::RecordProfile profile(trace);
        run();
      }
      const double wall_ms = 1e3 * Seconds(t);
      std::printf("\n%d-step %s, %d particles, %d LibTorch thread(s)\n", steps, name, particles, torch::get_num_threads());
      PrintOperatorProfile(trace.str(), wall_ms);
    }
    return 0;
  }
  std::printf("model: %s\n  latent %d, MLP %d x %d, %d blocks, history %d, radius %.2f spacings, %lld parameters\n",
              source.c_str(), config.latent_size, config.mlp_hidden_layers, config.mlp_hidden_size,
              config.message_passing_steps, config.history, config.connectivity_radius_spacings,
              static_cast<long long>([&] {
                int64_t n = 0;
                for (const auto& p : simulator->Network()->parameters()) n += p.numel();
                return n;
              }()));
  std::printf("BLAS: %s; LibTorch threads: %d\n", BlasLibraryInUse().c_str(),
              torch::get_num_threads());

  // Memory of a long differentiable rollout: positions per step, and then also the activations
  // of the first steps up to the budget. Measured first, so that the process peak is not that of
  // the timings below (the peak can only grow: the smaller one first).
  {
    const long before = CurrentRssMb();
    const Scene scene = BenchmarkScene(1000, 300, config.particle_spacing_m, config.frame_dt_s);
    const RolloutSetup setup = MakeRolloutSetup(scene, config.history);
    auto t = Clock::now();
    const torch::Tensor recomputed = RolloutGradient(*simulator, scene, setup, 300);
    std::printf("300-step gradient, 1000 particles, recomputing every step: %.1f s, peak resident memory %ld MB (%ld MB "
                "before), gradient norm %.3g\n",
                Seconds(t), PeakRssMb(), before, recomputed.norm().item<double>());
    t = Clock::now();
    const torch::Tensor kept = RolloutGradient(*simulator, scene, setup, 300, {Backward::kSerial, kKeptActivationBytes});
    std::printf("  keeping up to %lld MB of activations: %.1f s, peak resident memory %ld MB, the same gradient: %s\n",
                static_cast<long long>(kKeptActivationBytes >> 20), Seconds(t), PeakRssMb(),
                torch::equal(kept, recomputed) ? "yes" : "NO");
  }

  // "f+b": the gradient recomputing every step in its backward pass; "f+b kept": keeping the
  // activations in the design default's budget (the 10 steps fit up to ~4000 particles);
  // "2048^3": the large square product's GFLOP/s, "fwd %": the forward pass's GFLOP/s in percent
  // of it; "3 edge kernels": the forward pass with the three kernels the edge block fuses;
  // "LibTorch layers": with LibTorch's linear instead of the dense kernel; "f+b, 3 kernels": the
  // gradient with the three kernels instead of the edge block's forward and backward passes (all
  // of these timed in turns, see InterleavedMedians); "layer GFLOP/s": the network's layer shape
  // as a LibTorch product (OpenBLAS) and in the dense kernel.
  std::printf("\n%9s %7s %9s %12s %12s %10s %9s %6s %10s %12s %8s %7s %15s %16s %18s %20s\n", "particles", "nodes",
              "edges", "fwd ms/step", "f+b ms/step", "f+b / fwd", "f+b kept", "/ fwd", "GFLOP/step", "fwd GFLOP/s",
              "2048^3", "fwd %",
              "3 edge kernels", "LibTorch layers", "f+b, 3 kernels", "layer GFLOP/s BLAS/own");
  std::map<int, double> forward_seconds;
  std::vector<std::pair<int, StepPhaseTimes>> phases;
  const int steps = 10;
  for (int particles : {250, 1000, 4000}) {
    const Scene scene = BenchmarkScene(particles, steps, config.particle_spacing_m, config.frame_dt_s);
    const RolloutSetup setup = MakeRolloutSetup(scene, config.history);
    const torch::Tensor capsules = CapsuleTensor(scene.solids);
    const torch::Tensor obstacles = SampleObstacleParticles(capsules, scene.particle_spacing_m);
    // The forward pass as it runs (own kernels, one-pass edge blocks) and its variants, the
    // gradient and the large square product, in turns.
    GraphNetwork& network = simulator->Network();
    auto use_kernels = [&](bool edge_block, bool dense) {
      network->UseDenseKernels(dense);
      network->UseEdgeBlockKernel(edge_block);
    };
    auto forward_with = [&](bool edge_block, bool dense) {
      return [&, edge_block, dense] {
        use_kernels(edge_block, dense);
        torch::NoGradGuard no_grad;
        Rollout(*simulator, setup, obstacles, capsules);
      };
    };
    const torch::Tensor square = torch::randn({2048, 2048});
    const std::vector<double> forwards = InterleavedMedians(
        5, {forward_with(true, true), forward_with(false, true), forward_with(true, false),
            [&] { torch::mm(square, square); },
            [&] {
              use_kernels(true, true);
              RolloutGradient(*simulator, scene, setup, steps);
            },
            [&] {
              use_kernels(false, true);
              RolloutGradient(*simulator, scene, setup, steps);
            },
            [&] {
              use_kernels(true, true);
              RolloutGradient(*simulator, scene, setup, steps, {Backward::kSerial, kKeptActivationBytes});
            }});
    use_kernels(true, true);
    const double square_rate = 2.0 * 2048 * 2048 * 2048 / forwards[3] / 1e9;
    const double forward = forwards[0] / steps, forward_three_kernels = forwards[1] / steps;
    const double forward_libtorch_layers = forwards[2] / steps;
    const double both = forwards[4] / steps, both_three_kernels = forwards[5] / steps;
    const double both_kept = forwards[6] / steps;
    // Graph size at the first step, for the FLOP count.
    const int64_t nodes = static_cast<int64_t>(scene.fluid_positions.size()) + obstacles.size(0);
    const torch::Tensor all = torch::cat({setup.initial_states.select(0, config.history), obstacles});
    std::vector<uint8_t> receives(nodes, 0);
    std::fill(receives.begin(), receives.begin() + scene.fluid_positions.size(), 1);
    const int64_t edges = static_cast<int64_t>(RadiusGraph(all.contiguous().data_ptr<float>(), static_cast<int>(nodes), receives,
                                                           simulator->RadiusMetres()).senders.size());
    const double flops = ForwardFlops(config, nodes, edges);
    const double layer_rate = ProductRate(edges, config.mlp_hidden_size, config.mlp_hidden_size, 5);
    const double dense_rate = DenseKernelRate(edges, config.mlp_hidden_size, config.mlp_hidden_size, 5);
    std::printf("%9d %7lld %9lld %12.2f %12.2f %10.2f %9.2f %6.2f %10.3f %12.1f %8.1f %7.1f %15.2f %16.2f %18.2f %12.1f / %5.1f\n",
                particles, static_cast<long long>(nodes), static_cast<long long>(edges), 1e3 * forward, 1e3 * both,
                both / forward, 1e3 * both_kept, both_kept / forward, flops / 1e9, flops / forward / 1e9, square_rate,
                100.0 * flops / forward / 1e9 / square_rate,
                1e3 * forward_three_kernels, 1e3 * forward_libtorch_layers, 1e3 * both_three_kernels, layer_rate,
                dense_rate);
    forward_seconds[particles] = forward;
    phases.push_back({particles, StepPhases(*simulator, scene, setup, obstacles, capsules)});
  }
  // Checkpointed back-propagation recomputes each step with autograd, then back-propagates
  // through it: f+b >= forward + recompute + back-propagation of one step.
  std::printf("\none step at frame 0, ms: %9s %12s %12s %14s\n", "particles", "forward", "recompute", "back-propagate");
  for (const auto& [particles, p] : phases) {
    std::printf("%26d %12.2f %12.2f %14.2f   (sum %.2fx forward)\n", particles, p.forward, p.recompute, p.back_propagate,
                (p.forward + p.recompute + p.back_propagate) / p.forward);
  }

  // How a one-start gradient search on two cores back-propagates (design/search.cc): a second
  // thread recomputes steps while the first back-propagates, one core each. The forward pass
  // before it runs on both cores here (a search's runs on one: at task sizes two were no
  // faster). Pipelining needs a second core.
  if (threads != 1) {
    std::printf("\n%9s %22s %18s\n", "particles", "pipelined f+b ms/step", "/ fwd (2 threads)");
    for (int particles : {250, 1000, 4000}) {
      const Scene scene = BenchmarkScene(particles, steps, config.particle_spacing_m, config.frame_dt_s);
      const RolloutSetup setup = MakeRolloutSetup(scene, config.history);
      const double pipelined =
          Median(3, [&] { RolloutGradient(*simulator, scene, setup, steps, {Backward::kPipelined}); }) / steps;
      std::printf("%9d %22.2f %18.2f\n", particles, 1e3 * pipelined, pipelined / forward_seconds[particles]);
    }
  }
  std::printf("goals: forward >= 50%% of the large-product rate; forward+backward <= 3x forward; 300-step gradient < 2 GB\n");
  return 0;
}
