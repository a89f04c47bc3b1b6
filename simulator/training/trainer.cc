#include "simulator/training/trainer.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>
#include <thread>

#include "simulator/learned/json_fields.h"
#include "simulator/learned/model_file.h"
#include "simulator/training/dataset.h"
#include "simulator/training/example.h"
#include "simulator/training/parallel_for.h"
#include "tasks/file_util.h"

namespace flowdesign::simulator::training {
namespace {

namespace fs = std::filesystem;
using learned::LearnedSimulator;
using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop_requested{false};
extern "C" void RequestStop(int) { g_stop_requested = true; }

// A generator for one training step: samples never depend on how often the run was resumed.
std::mt19937_64 StepRng(uint64_t seed, int64_t step) {
  std::seed_seq seq{static_cast<uint64_t>(seed), static_cast<uint64_t>(step), uint64_t{0x5eed}};
  return std::mt19937_64(seq);
}

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

// Loss over examples evaluated as one concatenated graph: the per-component loss summed and
// divided by `normalizer` (the component count of the whole batch, so parts of a batch add up
// to the batch mean).
torch::Tensor BatchLoss(LearnedSimulator& simulator, const std::vector<Example>& batch, const TrainingOptions& options,
                        double normalizer) {
  std::vector<torch::Tensor> nodes, edges, senders, receivers, targets, fluid_rows, weights;
  std::vector<learned::GraphPooling> poolings;
  int64_t offset = 0;
  for (const Example& e : batch) {
    if (e.graph.pooling.fluid_mean.defined()) poolings.push_back(e.graph.pooling);
    nodes.push_back(e.graph.node_inputs);
    edges.push_back(e.graph.edge_inputs);
    if (e.graph.edge_weights.defined()) weights.push_back(e.graph.edge_weights);
    senders.push_back(e.graph.senders + offset);
    receivers.push_back(e.graph.receivers + offset);
    targets.push_back(e.target);
    fluid_rows.push_back(torch::arange(offset, offset + e.fluid, e.graph.senders.options()));
    offset += e.graph.node_inputs.size(0);
  }
  learned::StepGraph graph{torch::cat(nodes), torch::cat(edges), torch::cat(senders), torch::cat(receivers),
                           weights.empty() ? torch::Tensor() : torch::cat(weights),
                           poolings.empty() ? learned::GraphPooling() : learned::GraphPooling::Concatenate(poolings)};
  const torch::Tensor predicted = simulator.PredictNormalizedAcceleration(graph).index_select(0, torch::cat(fluid_rows));
  const torch::Tensor target = torch::cat(targets);
  namespace F = torch::nn::functional;
  const torch::Tensor total =
      options.loss == "huber"
          ? F::huber_loss(predicted, target, F::HuberLossFuncOptions().delta(options.huber_delta).reduction(torch::kSum))
          : torch::mse_loss(predicted, target, at::Reduction::Sum);
  return total / normalizer;
}

double ComponentCount(const std::vector<Example>& batch) {
  double count = 0.0;
  for (const Example& e : batch) count += static_cast<double>(e.target.size(1) * e.fluid);
  return count;
}

// The batch's one-step loss, its gradients accumulated into the network's parameters. The
// examples are built on `workers` threads, then evaluated as one graph.
torch::Tensor OneStepLossAndGradients(LearnedSimulator& simulator, const std::vector<ExampleDraw>& draws,
                                      const TrainingOptions& o, int workers, const torch::Device& device) {
  std::vector<Example> batch(draws.size());
  ParallelFor(static_cast<int>(draws.size()), workers,
              [&](int b) { batch[b] = MakeExample(simulator, draws[b], device); });
  torch::Tensor loss = BatchLoss(simulator, batch, o, ComponentCount(batch));
  loss.backward();
  return loss;
}

// The batch's unrolled loss (the mean over every step's components; each example unrolls on its
// own graph), its gradients set on `params`. On several workers each example also
// back-propagates on its own thread and the gradients are summed in example order: autograd's
// one backward thread per device would otherwise run the whole batch's backward pass serially.
torch::Tensor UnrolledLossAndGradients(LearnedSimulator& simulator, const std::vector<ExampleDraw>& draws,
                                       const TrainingOptions& o, int workers, const torch::Device& device,
                                       const std::vector<torch::Tensor>& params) {
  const bool per_example_gradients = workers > 1;
  std::vector<torch::Tensor> losses(draws.size());
  std::vector<std::vector<torch::Tensor>> gradients(draws.size());
  std::vector<double> components(draws.size());
  ParallelFor(static_cast<int>(draws.size()), workers, [&](int b) {
    const UnrolledExample e = MakeUnrolledExample(simulator, draws[b], o.unroll_steps, device);
    components[b] = static_cast<double>(learned::NodeOutputSize(simulator.Config()) * e.fluid * e.steps);
    losses[b] = UnrolledLoss(simulator, e, o.loss == "huber", o.huber_delta);
    if (per_example_gradients) {
      gradients[b] = torch::autograd::grad({losses[b]}, params, {}, false, false, /*allow_unused=*/true);
      losses[b] = losses[b].detach();
    }
  });
  const double total_components = std::accumulate(components.begin(), components.end(), 0.0);
  torch::Tensor loss = torch::zeros({});
  for (const torch::Tensor& l : losses) loss = loss + l;
  loss = loss / total_components;
  if (!per_example_gradients) {
    loss.backward();
    return loss;
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    torch::Tensor sum;
    for (const auto& g : gradients) {
      if (g[i].defined()) sum = sum.defined() ? sum + g[i] : g[i];
    }
    if (sum.defined()) params[i].mutable_grad() = sum / total_components;
  }
  return loss;
}

// Adam with bias correction; its moments are saved in checkpoints as named tensors.
struct Adam {
  std::vector<std::string> names;
  std::vector<torch::Tensor> params, m, v;
  void Init(LearnedSimulator& simulator) {
    for (const auto& item : simulator.Network()->named_parameters()) {
      names.push_back(item.key());
      params.push_back(item.value());
      m.push_back(torch::zeros_like(item.value()));
      v.push_back(torch::zeros_like(item.value()));
    }
  }
  void Step(double lr, int64_t step) {  // step counts from 1
    torch::NoGradGuard no_grad;
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const double c1 = 1.0 - std::pow(b1, static_cast<double>(step));
    const double c2 = 1.0 - std::pow(b2, static_cast<double>(step));
    for (size_t i = 0; i < params.size(); ++i) {
      const torch::Tensor& g = params[i].grad();
      if (!g.defined()) continue;
      m[i].mul_(b1).add_(g, 1.0 - b1);
      v[i].mul_(b2).addcmul_(g, g, 1.0 - b2);
      params[i].addcdiv_(m[i] / c1, (v[i] / c2).sqrt_().add_(eps), -lr);
      params[i].mutable_grad().zero_();
    }
  }
  std::map<std::string, torch::Tensor> State() const {
    std::map<std::string, torch::Tensor> state;
    for (size_t i = 0; i < names.size(); ++i) {
      state["adam.m." + names[i]] = m[i];
      state["adam.v." + names[i]] = v[i];
    }
    return state;
  }
  void Restore(const std::map<std::string, torch::Tensor>& tensors, const std::string& path) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < names.size(); ++i) {
      for (auto [prefix, target] : {std::pair{"adam.m.", &m[i]}, std::pair{"adam.v.", &v[i]}}) {
        const auto it = tensors.find(prefix + names[i]);
        if (it == tensors.end()) throw std::runtime_error(path + ": checkpoint lacks " + prefix + names[i]);
        target->copy_(it->second);
      }
    }
  }
};

// An exponential moving average of the network weights, kept beside them and in checkpoints
// ("ema.NAME"). It starts as the weights it averages, so it needs no bias correction.
struct WeightAverage {
  std::vector<torch::Tensor> average;
  void Init(const std::vector<torch::Tensor>& params) {
    average.clear();
    for (const auto& p : params) average.push_back(p.detach().clone());
  }
  void Update(const std::vector<torch::Tensor>& params, double decay) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) average[i].mul_(decay).add_(params[i], 1.0 - decay);
  }
  // Exchanges the averaged and the current weights; a second call undoes the first.
  void Swap(const std::vector<torch::Tensor>& params) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
      const torch::Tensor current = params[i].detach().clone();
      params[i].detach().copy_(average[i]);
      average[i].copy_(current);
    }
  }
  std::map<std::string, torch::Tensor> State(const std::vector<std::string>& names) const {
    std::map<std::string, torch::Tensor> state;
    for (size_t i = 0; i < average.size(); ++i) state["ema." + names[i]] = average[i];
    return state;
  }
  // A checkpoint from a run without the average leaves it at the current weights.
  void Restore(const std::map<std::string, torch::Tensor>& tensors, const std::vector<std::string>& names) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < average.size(); ++i) {
      const auto it = tensors.find("ema." + names[i]);
      if (it != tensors.end()) average[i].copy_(it->second);
    }
  }
};

// A model gaining a volume state has one more node input (J, the last column of the node
// encoder's first layer) and one more output (J's change, the last row of the decoder's last
// layer). Copies the file's part of such a parameter and zeros the rest, so the grown network
// predicts what the file's did and no change of J; false for any other parameter.
bool GrownForVolume(const std::string& name, const torch::Tensor& stored, torch::Tensor grown) {
  if (stored.dim() != grown.dim() || stored.sizes().equals(grown.sizes())) return false;
  const bool encoder_input = name == "node_encoder.linear0.weight" && grown.dim() == 2 &&
                             grown.size(0) == stored.size(0) && grown.size(1) == stored.size(1) + 1;
  const bool decoder_output = name.rfind("decoder.", 0) == 0 && grown.size(0) == stored.size(0) + 1 &&
                              (grown.dim() == 1 || grown.size(1) == stored.size(1));
  if (!encoder_input && !decoder_output) return false;
  grown.zero_();
  grown.narrow(encoder_input ? 1 : 0, 0, encoder_input ? stored.size(1) : stored.size(0)).copy_(stored);
  return true;
}

// Copies every network parameter from a model file with the same parameter names and shapes
// (a checkpoint being resumed, or the model a fine-tune starts from). With `grow`, the simulator
// may have more interaction blocks than the file: those start as the identity (their output
// LayerNorms' gain and bias zero, so h and e pass through unchanged and the grown network
// computes what the file's did), and training then teaches them to carry messages further in
// one step.
void CopyNetworkParameters(const learned::ModelFile& file, const std::string& path, LearnedSimulator& simulator,
                           bool grow = false) {
  torch::NoGradGuard no_grad;
  const int file_blocks = file.config.message_passing_steps;
  for (const auto& item : simulator.Network()->named_parameters()) {
    const auto found = file.tensors.find(item.key());
    if (grow && found == file.tensors.end()) {
      // An added block starts as the identity (its LayerNorms output 0), an added global
      // projection as no input at all.
      int block = -1;
      if (std::sscanf(item.key().c_str(), "block%d.", &block) == 1 && block >= file_blocks) {
        if (item.key().find(".norm.") != std::string::npos) item.value().zero_();
        continue;
      }
      if (item.key().find(".global_projection.") != std::string::npos) {
        item.value().zero_();
        continue;
      }
    }
    if (grow && found != file.tensors.end() && GrownForVolume(item.key(), found->second, item.value())) continue;
    if (found == file.tensors.end() || !found->second.sizes().equals(item.value().sizes())) {
      throw std::invalid_argument(path + ": the model has no parameter '" + item.key() + "' of shape " +
                                  c10::str(item.value().sizes()) + " (different network size?)");
    }
    item.value().copy_(found->second);
  }
}

// Throws unless every trajectory of `data` recorded the ground truth's state, naming the option
// that needs it.
void RequireRecordedState(const Dataset& data, const std::string& data_dir, const std::string& split,
                          const std::string& needed_by) {
  for (const TrajectoryTensors& t : data.trajectories) {
    if (!t.mpm_state.defined()) {
      throw std::invalid_argument(data_dir + ": " + needed_by + " needs the ground truth's state in every " + split +
                                  " trajectory (generate the data with \"record_mpm_state\": true)");
    }
  }
}

// How many steps of its own rollout an example's window comes from (0: ground truth). Draws
// nothing when pushforward is off, so such runs sample exactly as before it existed.
int PushforwardSteps(const TrainingOptions& o, int frame, std::mt19937_64& rng) {
  if (o.pushforward_max_steps == 0) return 0;
  const bool pushed = std::uniform_real_distribution<double>(0.0, 1.0)(rng) < o.pushforward_fraction;
  const int steps = 1 + static_cast<int>(rng() % static_cast<uint64_t>(o.pushforward_max_steps));
  return pushed ? std::min(steps, frame) : 0;
}

// A step's examples, drawn in order from the step's generator (built afterwards, in parallel).
std::vector<ExampleDraw> DrawBatch(const Dataset& train, const TrainingOptions& o, const learned::ModelConfig& model,
                                   int64_t step, const GroundTruthRun& ground_truth) {
  std::mt19937_64 rng = StepRng(o.seed, step);
  std::vector<ExampleDraw> draws;
  for (int b = 0; b < o.batch_size; ++b) {
    const TrajectoryTensors& t = train.trajectories[rng() % train.trajectories.size()];
    const int frame = static_cast<int>(rng() % static_cast<uint64_t>(t.Frames() - 1));
    const int pushforward_steps = PushforwardSteps(o, frame, rng);
    draws.push_back(DrawExample(t, frame, model.history, o.noise_std_m, pushforward_steps, rng,
                                model.volume_state ? o.volume_noise_std : 0.0));
    if (pushforward_steps > 0 && o.pushforward_restart_targets) draws.back().restart = &ground_truth;
  }
  return draws;
}

double LearningRate(const TrainingOptions& o, int64_t step) {
  return o.final_learning_rate + (o.learning_rate - o.final_learning_rate) *
                                     std::pow(0.1, static_cast<double>(step) / static_cast<double>(o.decay_steps));
}

struct Validation {
  double one_step_loss = 0.0;
  double rollout_error_spacings = 0.0;
};

Validation Validate(LearnedSimulator& simulator, const Dataset& valid, const TrainingOptions& o,
                    const torch::Device& device) {
  torch::NoGradGuard no_grad;
  Validation result;
  std::mt19937_64 rng(o.seed + 977);  // the same samples at every validation
  std::vector<Example> batch;
  for (int s = 0; s < o.validation_samples; ++s) {
    const TrajectoryTensors& t = valid.trajectories[rng() % valid.trajectories.size()];
    const int frame = static_cast<int>(rng() % static_cast<uint64_t>(t.Frames() - 1));
    batch.push_back(MakeExample(simulator, t, frame, 0.0, rng, device));
  }
  TrainingOptions mse = o;  // validation always reports the MSE
  mse.loss = "mse";
  for (size_t b = 0; b < batch.size(); b += 8) {
    const std::vector<Example> part(batch.begin() + b, batch.begin() + std::min(batch.size(), b + 8));
    result.one_step_loss += BatchLoss(simulator, part, mse, ComponentCount(batch)).item<double>();
  }
  const int rollouts = std::min<int>(o.validation_rollouts, static_cast<int>(valid.trajectories.size()));
  for (int r = 0; r < rollouts; ++r) {
    const TrajectoryTensors& t = valid.trajectories[r];
    // From frame 0, as in a design.
    const int steps = std::min(o.validation_rollout_steps, t.Frames() - 1);
    const torch::Tensor predicted = RolloutFromData(simulator, t, 0, steps, device);
    const torch::Tensor truth = t.Frame(steps, predicted.size(1)).to(device);
    result.rollout_error_spacings +=
        (predicted.select(0, steps) - truth).norm(2, 1).mean().item<double>() / t.particle_spacing_m / rollouts;
  }
  return result;
}

}  // namespace

nlohmann::json TrainingOptionsToJson(const TrainingOptions& o) {
  return {{"steps", o.steps}, {"max_minutes", o.max_minutes}, {"batch_size", o.batch_size},
          {"learning_rate", o.learning_rate}, {"final_learning_rate", o.final_learning_rate},
          {"decay_steps", o.decay_steps}, {"noise_std_m", o.noise_std_m}, {"volume_noise_std", o.volume_noise_std},
          {"pushforward_max_steps", o.pushforward_max_steps}, {"pushforward_fraction", o.pushforward_fraction},
          {"pushforward_restart_targets", o.pushforward_restart_targets},
          {"ema_decay", o.ema_decay}, {"unroll_steps", o.unroll_steps}, {"loss", o.loss},
          {"huber_delta", o.huber_delta}, {"checkpoint_minutes", o.checkpoint_minutes},
          {"validate_every", o.validate_every}, {"validation_samples", o.validation_samples},
          {"validation_rollouts", o.validation_rollouts},
          {"validation_rollout_steps", o.validation_rollout_steps}, {"log_every", o.log_every},
          {"seed", o.seed}, {"threads", o.threads}, {"device", o.device},
          {"max_train_trajectories", o.max_train_trajectories}, {"init_from", o.init_from}};
}

TrainingOptions TrainingOptionsFromJson(const nlohmann::json& json, const std::string& source) {
  const nlohmann::json m = learned::MergeWithDefaults(json, TrainingOptionsToJson(TrainingOptions{}), source);
  TrainingOptions o;
  o.steps = m["steps"];
  o.max_minutes = m["max_minutes"];
  o.batch_size = m["batch_size"];
  o.learning_rate = m["learning_rate"];
  o.final_learning_rate = m["final_learning_rate"];
  o.decay_steps = m["decay_steps"];
  o.noise_std_m = m["noise_std_m"];
  o.volume_noise_std = m["volume_noise_std"];
  o.pushforward_max_steps = m["pushforward_max_steps"];
  o.pushforward_fraction = m["pushforward_fraction"];
  o.pushforward_restart_targets = m["pushforward_restart_targets"];
  o.ema_decay = m["ema_decay"];
  o.unroll_steps = m["unroll_steps"];
  o.loss = m["loss"];
  o.huber_delta = m["huber_delta"];
  o.checkpoint_minutes = m["checkpoint_minutes"];
  o.validate_every = m["validate_every"];
  o.validation_samples = m["validation_samples"];
  o.validation_rollouts = m["validation_rollouts"];
  o.validation_rollout_steps = m["validation_rollout_steps"];
  o.log_every = m["log_every"];
  o.seed = m["seed"];
  o.threads = m["threads"];
  o.device = m["device"];
  o.max_train_trajectories = m["max_train_trajectories"];
  o.init_from = m["init_from"];
  auto require = [&](bool ok, const char* field, const char* rule) {
    if (!ok) throw std::invalid_argument(source + ": " + field + ": " + rule + " (got " + m[field].dump() + ")");
  };
  require(o.steps >= 1, "steps", "must be >= 1");
  require(o.max_minutes >= 0, "max_minutes", "must be >= 0");
  require(o.batch_size >= 1, "batch_size", "must be >= 1");
  require(o.learning_rate > 0, "learning_rate", "must be > 0");
  require(o.final_learning_rate > 0 && o.final_learning_rate <= o.learning_rate, "final_learning_rate", "must be in (0, learning_rate]");
  require(o.decay_steps >= 1, "decay_steps", "must be >= 1");
  require(o.noise_std_m >= 0, "noise_std_m", "must be >= 0");
  require(o.volume_noise_std >= 0, "volume_noise_std", "must be >= 0");
  require(o.pushforward_max_steps >= 0, "pushforward_max_steps", "must be >= 0");
  require(o.pushforward_fraction >= 0 && o.pushforward_fraction <= 1, "pushforward_fraction", "must be in [0, 1]");
  require(o.unroll_steps >= 1, "unroll_steps", "must be >= 1");
  require(!o.pushforward_restart_targets || o.pushforward_max_steps > 0, "pushforward_restart_targets",
          "needs pushforward (pushforward_max_steps > 0)");
  require(o.ema_decay >= 0 && o.ema_decay < 1, "ema_decay", "must be in [0, 1)");
  require(o.loss == "mse" || o.loss == "huber", "loss", "must be \"mse\" or \"huber\"");
  require(o.huber_delta > 0, "huber_delta", "must be > 0");
  require(o.checkpoint_minutes > 0, "checkpoint_minutes", "must be > 0");
  require(o.validate_every >= 1, "validate_every", "must be >= 1");
  require(o.validation_samples >= 1, "validation_samples", "must be >= 1");
  require(o.validation_rollouts >= 1, "validation_rollouts", "must be >= 1");
  require(o.validation_rollout_steps >= 1, "validation_rollout_steps", "must be >= 1");
  require(o.log_every >= 1, "log_every", "must be >= 1");
  require(o.threads >= 0, "threads", "must be >= 0");
  require(o.device == "cpu" || o.device == "cuda", "device", "must be \"cpu\" or \"cuda\"");
  return o;
}

TrainConfig LoadTrainConfig(const std::string& path) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(tasks::ReadFile(path));
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(path + ": not valid JSON: " + e.what());
  }
  const nlohmann::json m = learned::MergeWithDefaults(json, {{"model", nlohmann::json::object()}, {"training", nlohmann::json::object()}}, path);
  TrainConfig config;
  config.model = learned::ModelConfigFromJson(m["model"], path + ": model");
  config.training = TrainingOptionsFromJson(m["training"], path + ": training");
  return config;
}

TrainSummary Train(const std::string& data_dir, const TrainConfig& input_config, const std::string& out_dir,
                   const std::function<void(const std::string&)>& progress, const GroundTruthRun& ground_truth) {
  TrainConfig config = input_config;
  const TrainingOptions& o = config.training;
  const torch::Device device(o.device == "cuda" ? torch::kCUDA : torch::kCPU);
  // How the run uses its cores. One-step training on the CPU gives them to LibTorch's operators
  // (one big batched graph). Unrolled losses (many small graphs, each with its own backward
  // pass) and example building for a GPU go one example per thread, each thread running its
  // operators alone: on 2 cores an unrolled-loss run takes 1.6x the steps of one on 2 LibTorch
  // threads, which lose most of their time waiting for each other on small operators.
  const int cores = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const bool example_parallel = o.unroll_steps > 1 || device.is_cuda();
  const int workers = example_parallel ? cores : 1;
  learned::ConfigureTorchThreads(example_parallel ? 1 : cores);

  // The model's physical setup comes from the data.
  const nlohmann::json recipe = nlohmann::json::parse(tasks::ReadFile(data_dir + "/recipe.json"));
  config.model.particle_spacing_m = recipe.at("particle_spacing").get<double>();
  config.model.frame_dt_s = recipe.at("frame_dt").get<double>();
  config.model.gravity_y = recipe.at("gravity_y").get<double>();
  config.model.physics.shear_viscosity_m2ps = recipe.value("shear_viscosity", 0.0);  // absent in older data
  config.model.physics.soft_solid_boundary = recipe.value("soft_solid_boundary", false);

  progress("loading data from " + data_dir);
  const Dataset train = LoadSplit(data_dir, "train", config.model.history, o.max_train_trajectories);
  const Dataset valid = LoadSplit(data_dir, "valid", config.model.history);
  if (o.pushforward_restart_targets) {
    if (!ground_truth) {
      throw std::invalid_argument("pushforward_restart_targets: this program was built without the ground truth");
    }
    RequireRecordedState(train, data_dir, "training", "pushforward_restart_targets");
  }
  if (config.model.volume_state && o.pushforward_restart_targets) {
    throw std::invalid_argument("pushforward_restart_targets: not available for a model with a volume state");
  }
  const std::string checkpoint_path = out_dir + "/checkpoint.fdm";
  // The weights this run starts from: its checkpoint (resuming), the init_from model, or none.
  // A fine-tune keeps the normalization of the model it starts from, so that it starts as that
  // simulator even on data with other statistics; a resumed run keeps its checkpoint's.
  const bool resuming = fs::exists(checkpoint_path);
  learned::ModelFile start_model;
  if (resuming) learned::LoadModel(checkpoint_path, &start_model);
  else if (!o.init_from.empty()) learned::LoadModel(o.init_from, &start_model);
  const bool from_model = resuming || !o.init_from.empty();
  torch::manual_seed(o.seed);
  learned::Normalization normalization = from_model ? start_model.normalization : LoadNormalization(data_dir);
  if (config.model.volume_state) {
    // Every trajectory must have J; J's statistics come from the training data unless the
    // starting model has them.
    RequireRecordedState(train, data_dir, "training", "volume_state");
    RequireRecordedState(valid, data_dir, "validation", "volume_state");
    if (!normalization.has_volume) {
      SetVolumeStatistics(train, normalization);
      progress("J: mean " + std::to_string(normalization.volume_mean) + ", std " + std::to_string(normalization.volume_std) +
               "; its change per frame: mean " + std::to_string(normalization.volume_change_mean) + ", std " +
               std::to_string(normalization.volume_change_std));
    }
  }
  LearnedSimulator simulator(config.model, normalization);
  Adam adam;
  adam.Init(simulator);

  fs::create_directories(out_dir);
  const std::string model_path = out_dir + "/model.fdm";
  const std::string log_path = out_dir + "/log.csv";
  int64_t step = 0;
  double best = std::numeric_limits<double>::infinity();
  double previous_seconds = 0.0;
  if (resuming) {
    const learned::ModelFile& file = start_model;
    // The density projection acts only in rollouts, not on the one-step training: it may change
    // between runs, but then the best validation error so far is not comparable any more.
    nlohmann::json trained = learned::ModelConfigToJson(file.config), wanted = learned::ModelConfigToJson(config.model);
    const bool same_rollout = trained == wanted;
    for (const char* rollout_only : {"density_projection_iterations", "density_kernel_spacings"}) {
      trained.erase(rollout_only);
      wanted.erase(rollout_only);
    }
    if (trained != wanted) {
      throw std::invalid_argument(checkpoint_path + ": was trained with a different model config; use a new --out folder");
    }
    CopyNetworkParameters(file, checkpoint_path, simulator);
    adam.Restore(file.tensors, checkpoint_path);
    step = file.metadata.at("step").get<int64_t>();
    // Checkpoints from before validation rollouts started at frame 0 carry no comparable best.
    // JSON has no infinity: a run with no validation yet stores null.
    const nlohmann::json stored_best = file.metadata.value("best_rollout_error_from_start_spacings", nlohmann::json());
    if (!same_rollout) progress("the density projection changed: the best model is selected anew from here on");
    else if (stored_best.is_number()) best = stored_best.get<double>();
    previous_seconds = file.metadata.value("training_seconds", 0.0);
    progress("resuming from " + checkpoint_path + " at step " + std::to_string(step));
    // Keep the log consistent with the checkpoint: drop rows written after it.
    std::ifstream in(log_path);
    std::string line, kept;
    for (bool header = true; std::getline(in, line); header = false) {
      if (header || std::stoll(line.substr(0, line.find(','))) <= step) kept += line + "\n";
    }
    tasks::WriteFileAtomically(log_path, kept);
  } else {
    if (from_model) {
      const int added = config.model.message_passing_steps - start_model.config.message_passing_steps;
      if (added < 0) {
        throw std::invalid_argument(o.init_from + ": init_from has " +
                                    std::to_string(start_model.config.message_passing_steps) +
                                    " interaction blocks, the config " +
                                    std::to_string(config.model.message_passing_steps) +
                                    ": a fine-tune may add blocks, not drop them");
      }
      if (start_model.config.global_latent && !config.model.global_latent) {
        throw std::invalid_argument(o.init_from + ": init_from has a global latent and the config not: a fine-tune "
                                    "may add it, not drop it");
      }
      if (start_model.config.volume_state && !config.model.volume_state) {
        throw std::invalid_argument(o.init_from + ": init_from has a volume state and the config not: a fine-tune "
                                    "may add it, not drop it");
      }
      const bool adds_global = config.model.global_latent && !start_model.config.global_latent;
      const bool adds_volume = config.model.volume_state && !start_model.config.volume_state;
      CopyNetworkParameters(start_model, o.init_from + ": init_from", simulator, added > 0 || adds_global || adds_volume);
      if (adds_volume) progress("init_from has no volume state: J's input and output start at zero");
      if (adds_global) progress("init_from has no global latent: its projections start at zero");
      if (added > 0) {
        progress("init_from has " + std::to_string(start_model.config.message_passing_steps) +
                 " interaction blocks: the " + std::to_string(added) + " after them start as the identity");
      }
    }
    nlohmann::json saved{{"model", learned::ModelConfigToJson(config.model)},
                         {"training", TrainingOptionsToJson(o)}, {"data", data_dir}, {"recipe", recipe}};
    tasks::WriteFileAtomically(out_dir + "/config.json", saved.dump(2) + "\n");
    tasks::WriteFileAtomically(log_path, "step,elapsed_s,learning_rate,train_loss,valid_one_step_loss,valid_rollout_error_spacings\n");
  }
  simulator.ToDevice(device);
  for (auto* list : {&adam.m, &adam.v}) for (auto& t : *list) t = t.to(device);
  adam.params.clear();
  for (const auto& p : simulator.Network()->parameters()) adam.params.push_back(p);
  const bool averaging = o.ema_decay > 0.0;
  WeightAverage ema;
  if (averaging) {
    ema.Init(adam.params);
    if (resuming) ema.Restore(start_model.tensors, adam.names);
  }

  g_stop_requested = false;
  auto old_int = std::signal(SIGINT, RequestStop);
  auto old_term = std::signal(SIGTERM, RequestStop);
  std::ofstream log(log_path, std::ios::app);
  const auto start = Clock::now();
  auto last_checkpoint = Clock::now();
  auto last_progress = Clock::now() - std::chrono::hours(1);
  double loss_sum = 0.0;
  int64_t loss_count = 0;
  const int64_t first_step = step;

  auto metadata = [&]() {
    return nlohmann::json{{"step", step}, {"best_rollout_error_from_start_spacings", best},
                          {"training_seconds", previous_seconds + Seconds(start)},
                          {"data", data_dir}, {"recipe", recipe}, {"training", TrainingOptionsToJson(o)}};
  };
  auto save_checkpoint = [&]() {
    std::map<std::string, torch::Tensor> state = adam.State();
    if (averaging) state.merge(ema.State(adam.names));
    learned::SaveModel(checkpoint_path, simulator, metadata(), state);
    last_checkpoint = Clock::now();
  };
  auto validate = [&]() {
    simulator.Network()->eval();
    if (averaging) ema.Swap(adam.params);  // validate and save the averaged weights
    const Validation v = Validate(simulator, valid, o, device);
    simulator.Network()->train();
    log << step << "," << previous_seconds + Seconds(start) << "," << LearningRate(o, step) << ",,"
        << v.one_step_loss << "," << v.rollout_error_spacings << "\n" << std::flush;
    std::ostringstream line;
    line << "validation at step " << step << ": one-step loss " << v.one_step_loss << ", rollout error "
         << v.rollout_error_spacings << " spacings after " << o.validation_rollout_steps << " steps";
    if (v.rollout_error_spacings < best) {
      best = v.rollout_error_spacings;
      learned::SaveModel(model_path, simulator, metadata());
      line << " (best so far, saved " << model_path << ")";
    }
    if (averaging) ema.Swap(adam.params);
    progress(line.str());
  };

  bool stopped_early = false;
  while (step < o.steps) {
    const std::vector<ExampleDraw> draws = DrawBatch(train, o, config.model, step, ground_truth);
    const torch::Tensor loss_tensor = o.unroll_steps == 1
                                          ? OneStepLossAndGradients(simulator, draws, o, workers, device)
                                          : UnrolledLossAndGradients(simulator, draws, o, workers, device, adam.params);
    const double loss = loss_tensor.item<double>();
    if (!std::isfinite(loss)) throw std::runtime_error("training diverged: non-finite loss at step " + std::to_string(step));
    adam.Step(LearningRate(o, step), step + 1);
    if (averaging) ema.Update(adam.params, o.ema_decay);
    ++step;
    loss_sum += loss;
    ++loss_count;
    if (step % o.log_every == 0) {
      log << step << "," << previous_seconds + Seconds(start) << "," << LearningRate(o, step) << ","
          << loss_sum / loss_count << ",,\n" << std::flush;
      if (Seconds(last_progress) > 10.0) {
        const double rate = (step - first_step) / std::max(1e-9, Seconds(start));
        std::ostringstream line;
        line << "step " << step << "/" << o.steps << "  loss " << loss_sum / loss_count << "  lr "
             << LearningRate(o, step) << "  " << rate << " steps/s  ETA "
             << static_cast<int>((o.steps - step) / std::max(rate, 1e-9) / 60) << " min";
        progress(line.str());
        last_progress = Clock::now();
      }
      loss_sum = 0.0;
      loss_count = 0;
    }
    if (step % o.validate_every == 0) validate();
    if (Seconds(last_checkpoint) > 60.0 * o.checkpoint_minutes) save_checkpoint();
    if (g_stop_requested || (o.max_minutes > 0 && Seconds(start) > 60.0 * o.max_minutes)) {
      stopped_early = step < o.steps;
      break;
    }
  }
  if (!stopped_early && step % o.validate_every != 0) validate();
  save_checkpoint();
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  TrainSummary summary;
  summary.steps = step;
  summary.best_validation_error_spacings = best;
  summary.model_path = model_path;
  summary.finished = !stopped_early;
  return summary;
}

}  // namespace flowdesign::simulator::training
