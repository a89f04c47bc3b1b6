#include "simulator/learned/rollout.h"

#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include <ATen/Parallel.h>

namespace flowdesign::simulator::learned {
namespace {

// Number of particles alive while computing frame t + 1 (birth frames are non-decreasing).
int64_t AliveAtStep(const RolloutSetup& setup, int t) {
  return std::upper_bound(setup.birth_frame.begin(), setup.birth_frame.end(), t) - setup.birth_frame.begin();
}

// One step run with autograd: its inputs as leaves and its outputs.
struct DifferentiableStep {
  int t = 0;
  torch::Tensor window, volume, obstacles, capsules, next, next_volume;
};

// What the backward pass needs besides tensors: the simulator, the setup and the steps whose
// autograd graphs the forward pass kept.
struct RolloutContext : torch::CustomClassHolder {
  LearnedSimulator* simulator = nullptr;
  const RolloutSetup* setup = nullptr;
  GradientOptions gradient;
  bool differentiable = false;  // whether a backward pass may follow
  torch::Tensor volumes;        // [steps + 1, particles]: J over time, with a volume state
  std::mutex kept_mutex;        // the pipelined backward pass takes kept steps on its producer thread
  std::map<int, DifferentiableStep> kept;
};

// J of every particle at every frame before the rollout fills it: its initial value throughout.
torch::Tensor InitialVolumes(const RolloutSetup& setup, const torch::TensorOptions& options) {
  const int64_t n = static_cast<int64_t>(setup.birth_frame.size());
  const torch::Tensor start = setup.initial_volume.defined() ? setup.initial_volume.to(options) : torch::ones({n}, options);
  return start.unsqueeze(0).repeat({setup.steps + 1, 1});
}

// Step t with autograd, from leaves holding `window` and `volume` (undefined without a volume
// state), with the network's parameters as constants (only the inputs' gradients are wanted).
DifferentiableStep StepWithAutograd(LearnedSimulator& simulator, const RolloutSetup& setup, int t,
                                    const torch::Tensor& window, const torch::Tensor& volume,
                                    const torch::Tensor& obstacles, const torch::Tensor& capsules,
                                    StepGraphSize* graph_size = nullptr) {
  DifferentiableStep step;
  step.t = t;
  step.window = window.detach().requires_grad_(true);
  step.obstacles = obstacles.detach().requires_grad_(true);
  step.capsules = capsules.detach().requires_grad_(true);
  if (volume.defined()) step.volume = volume.detach().requires_grad_(true);
  torch::AutoGradMode enable(true);
  ParametersAsConstants constants;
  step.next = simulator.Step(step.window, step.obstacles, step.capsules, setup.domain, step.volume,
                             &step.next_volume, graph_size);
  return step;
}

class RolloutFunction : public torch::autograd::Function<RolloutFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor obstacles,
                               torch::Tensor capsules, c10::intrusive_ptr<RolloutContext> context) {
    const RolloutSetup& setup = *context->setup;
    LearnedSimulator& simulator = *context->simulator;
    const int c = setup.history;
    torch::Tensor states = setup.initial_states.clone();
    const bool with_volume = simulator.Config().volume_state;
    // Row t: J at frame t (with a volume state; else an empty placeholder).
    const torch::Tensor volumes = with_volume ? InitialVolumes(setup, states.options()) : torch::empty({0});
    int64_t kept_bytes = 0;
    {
      torch::NoGradGuard no_grad;
      for (int t = 0; t < setup.steps; ++t) {
        const int64_t alive = AliveAtStep(setup, t);
        if (alive == 0) continue;
        const torch::Tensor window = states.narrow(0, t, c + 1).narrow(1, 0, alive);
        const torch::Tensor volume = with_volume ? volumes.select(0, t).narrow(0, 0, alive) : torch::Tensor();
        torch::Tensor next, next_volume;  // next_volume: set with a volume state only
        if (context->differentiable && kept_bytes < context->gradient.kept_activation_bytes) {
          // Copies of the window and J: the rows of `states` and `volumes` change in place later.
          StepGraphSize size;
          DifferentiableStep step = StepWithAutograd(simulator, setup, t, window.clone(),
                                                     with_volume ? volume.clone() : torch::Tensor(), obstacles,
                                                     capsules, &size);
          kept_bytes += simulator.StepActivationBytes(size);
          next = step.next.detach();
          if (with_volume) next_volume = step.next_volume.detach();
          context->kept.emplace(t, std::move(step));
        } else {
          next = simulator.Step(window, obstacles, capsules, setup.domain, volume, &next_volume);
        }
        if (!torch::isfinite(next).all().item<bool>()) {
          throw std::runtime_error("learned rollout: non-finite particle position at frame " +
                                   std::to_string(t + 1) + " (model diverged)");
        }
        states.select(0, c + t + 1).narrow(0, 0, alive).copy_(next);
        if (with_volume) volumes.select(0, t + 1).narrow(0, 0, alive).copy_(next_volume);
      }
    }
    context->volumes = volumes;
    ctx->save_for_backward({obstacles, capsules, states, volumes});
    ctx->saved_data["context"] = c10::IValue::make_capsule(context);
    return states.narrow(0, c, setup.steps + 1).clone();
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor obstacles = saved[0].detach();
    const torch::Tensor capsules = saved[1].detach();
    const torch::Tensor states = saved[2];
    const torch::Tensor volumes = saved[3];
    auto context = c10::static_intrusive_pointer_cast<RolloutContext>(ctx->saved_data["context"].toCapsule());
    const RolloutSetup& setup = *context->setup;
    LearnedSimulator& simulator = *context->simulator;
    const int c = setup.history;
    const bool with_volume = simulator.Config().volume_state;

    // Step t's graph: kept by the forward pass (handed over once: its memory goes with it) or
    // recomputed.
    auto recompute = [&](int t) {
      {
        std::lock_guard<std::mutex> lock(context->kept_mutex);
        const auto kept = context->kept.find(t);
        if (kept != context->kept.end()) {
          DifferentiableStep step = std::move(kept->second);
          context->kept.erase(kept);
          return step;
        }
      }
      const int64_t alive = AliveAtStep(setup, t);
      return StepWithAutograd(simulator, setup, t, states.narrow(0, t, c + 1).narrow(1, 0, alive),
                              with_volume ? volumes.select(0, t).narrow(0, 0, alive) : torch::Tensor(),
                              obstacles, capsules);
    };

    // adjoint[k] = dL/d states[k], completed for row k once every step reading it is done;
    // volume_adjoint[k] = dL/d J at frame k likewise (the loss reads positions only).
    torch::Tensor adjoint = torch::zeros_like(states);
    adjoint.narrow(0, c, setup.steps + 1).add_(grad_outputs[0]);
    torch::Tensor volume_adjoint = torch::zeros_like(volumes);
    torch::Tensor obstacles_grad = torch::zeros_like(obstacles);
    torch::Tensor capsules_grad = torch::zeros_like(capsules);
    auto back_propagate = [&](const DifferentiableStep& r) {
      const int64_t alive = r.window.size(1);
      torch::autograd::variable_list outputs{r.next}, inputs{r.window, r.obstacles, r.capsules};
      torch::autograd::variable_list output_grads{adjoint.select(0, c + r.t + 1).narrow(0, 0, alive)};
      if (with_volume) {
        outputs.push_back(r.next_volume);
        output_grads.push_back(volume_adjoint.select(0, r.t + 1).narrow(0, 0, alive));
        inputs.push_back(r.volume);
      }
      const torch::autograd::variable_list grads =
          torch::autograd::grad(outputs, inputs, output_grads,
                                /*retain_graph=*/false, /*create_graph=*/false, /*allow_unused=*/true);
      if (grads[0].defined()) adjoint.narrow(0, r.t, c + 1).narrow(1, 0, alive).add_(grads[0]);
      if (grads[1].defined()) obstacles_grad.add_(grads[1]);
      if (grads[2].defined()) capsules_grad.add_(grads[2]);
      if (with_volume && grads[3].defined()) volume_adjoint.select(0, r.t).narrow(0, 0, alive).add_(grads[3]);
    };
    std::vector<int> order;  // steps with fluid, last first
    for (int t = setup.steps - 1; t >= 0; --t)
      if (AliveAtStep(setup, t) > 0) order.push_back(t);

    if (context->gradient.backward == Backward::kSerial) {
      for (int t : order) back_propagate(recompute(t));
    } else {
      PipelinedBackward(order, recompute, back_propagate);
    }
    return {obstacles_grad, capsules_grad, torch::Tensor()};
  }

 private:
  // Runs recompute(t) for every t of `order` on a second thread, at most two steps ahead, and
  // back_propagate on this one in the same order, each on one intra-op thread: the two sides
  // keep two cores busy, so the forward pass before may use both (LibTorch threads of the caller,
  // restored afterwards) without the pipeline oversubscribing them.
  template <typename Recompute, typename BackPropagate>
  static void PipelinedBackward(const std::vector<int>& order, Recompute& recompute, BackPropagate& back_propagate) {
    struct OneIntraOpThread {
      // at::set_num_threads sets this thread's count and the one that new threads (the
      // producer) start with.
      int saved = at::get_num_threads();
      OneIntraOpThread() { at::set_num_threads(1); }
      ~OneIntraOpThread() { at::set_num_threads(saved); }
    } one_thread;
    using Item = decltype(recompute(0));
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<Item> ready;
    bool stop = false, finished = false;
    std::exception_ptr error;
    std::thread producer([&] {
      try {
        for (int t : order) {
          {
            std::unique_lock<std::mutex> lock(mutex);
            changed.wait(lock, [&] { return stop || ready.size() < 2; });
            if (stop) break;
          }
          Item item = recompute(t);
          std::lock_guard<std::mutex> lock(mutex);
          ready.push_back(std::move(item));
          changed.notify_all();
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        error = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex);
      finished = true;
      changed.notify_all();
    });
    auto join = [&] {
      {
        std::lock_guard<std::mutex> lock(mutex);
        stop = true;
        changed.notify_all();
      }
      producer.join();
    };
    try {
      for (size_t k = 0; k < order.size(); ++k) {
        Item item;
        {
          std::unique_lock<std::mutex> lock(mutex);
          changed.wait(lock, [&] { return !ready.empty() || finished; });
          if (ready.empty()) break;  // the producer failed
          item = std::move(ready.front());
          ready.pop_front();
          changed.notify_all();
        }
        back_propagate(item);
      }
    } catch (...) {
      join();
      throw;
    }
    join();
    if (error) std::rethrow_exception(error);
  }
};

}  // namespace

RolloutSetup MakeRolloutSetup(const Scene& scene, int history) {
  RolloutSetup setup;
  setup.domain = scene.domain;
  setup.steps = scene.frames;
  setup.history = history;
  struct Start {
    Vec2 position, velocity_per_frame;
    int birth;
  };
  std::vector<Start> starts;
  for (size_t i = 0; i < scene.fluid_positions.size(); ++i) {
    starts.push_back({scene.fluid_positions[i], scene.frame_dt_s * scene.fluid_velocities[i], 0});
  }
  for (int frame = 1; frame <= scene.frames; ++frame) {
    for (const EmittedParticle& e : EmittedDuringFrame(scene, frame)) {
      starts.push_back({e.position, scene.frame_dt_s * e.velocity, frame});
    }
  }
  const int64_t rows = history + scene.frames + 1;
  const int64_t n = static_cast<int64_t>(starts.size());
  setup.initial_states = torch::zeros({rows, n, 2});
  std::vector<double> velocity_per_frame;
  {
    auto states = setup.initial_states.accessor<float, 3>();
    for (int64_t i = 0; i < n; ++i) {
      const Start& s = starts[i];
      setup.birth_frame.push_back(s.birth);
      states[history + s.birth][i][0] = static_cast<float>(s.position.x);
      states[history + s.birth][i][1] = static_cast<float>(s.position.y);
      velocity_per_frame.insert(velocity_per_frame.end(), {s.velocity_per_frame.x, s.velocity_per_frame.y});
    }
  }
  ExtrapolateBeforeBirth(setup.initial_states, history, setup.birth_frame, velocity_per_frame);
  return setup;
}

void ExtrapolateBeforeBirth(torch::Tensor& states, int history, const std::vector<int>& birth_frame,
                            const std::vector<double>& velocity_per_frame) {
  auto rows = states.accessor<float, 3>();
  for (size_t i = 0; i < birth_frame.size(); ++i) {
    const int birth_row = history + birth_frame[i];
    for (int d = 0; d < 2; ++d) {
      for (int row = 0; row < birth_row; ++row) {
        rows[row][i][d] = static_cast<float>(rows[birth_row][i][d] - (birth_row - row) * velocity_per_frame[2 * i + d]);
      }
    }
  }
}

std::vector<int64_t> ObstacleParticleCounts(const std::vector<tasks::Capsule>& capsules, double spacing) {
  std::vector<int64_t> counts;
  for (const tasks::Capsule& c : capsules) {
    counts.push_back(static_cast<int64_t>(std::ceil(Norm(c.b - c.a) / spacing - 1e-9)) + 1);
  }
  return counts;
}

torch::Tensor SampleObstacleParticles(const torch::Tensor& capsules, const std::vector<int64_t>& counts) {
  std::vector<torch::Tensor> pieces;
  for (size_t k = 0; k < counts.size(); ++k) {
    const torch::Tensor a = capsules[k].narrow(0, 0, 2);
    const torch::Tensor b = capsules[k].narrow(0, 2, 2);
    const torch::Tensor t = torch::linspace(0.0, 1.0, counts[k], capsules.options()).unsqueeze(1);
    pieces.push_back(a + t * (b - a));
  }
  if (pieces.empty()) return torch::zeros({0, 2}, capsules.options());
  return torch::cat(pieces, 0);
}

torch::Tensor SampleObstacleParticles(const torch::Tensor& capsules, double spacing) {
  std::vector<tasks::Capsule> plain;
  const torch::Tensor c = capsules.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  for (int64_t k = 0; k < c.size(0); ++k) {
    const double* v = c.data_ptr<double>() + 5 * k;
    plain.push_back({{v[0], v[1]}, {v[2], v[3]}, v[4]});
  }
  return SampleObstacleParticles(capsules, ObstacleParticleCounts(plain, spacing));
}

torch::Tensor Rollout(LearnedSimulator& simulator, const RolloutSetup& setup,
                      const torch::Tensor& obstacles, const torch::Tensor& capsules, const GradientOptions& gradient,
                      torch::Tensor* volumes) {
  if (setup.history != simulator.Config().history) {
    throw std::invalid_argument("rollout setup history " + std::to_string(setup.history) +
                                " does not match the model's history " +
                                std::to_string(simulator.Config().history));
  }
  auto context = c10::make_intrusive<RolloutContext>();
  context->simulator = &simulator;
  context->setup = &setup;
  context->gradient = gradient;
  context->differentiable = torch::GradMode::is_enabled() && (obstacles.requires_grad() || capsules.requires_grad());
  torch::Tensor positions = RolloutFunction::apply(obstacles, capsules, context);
  if (volumes != nullptr) *volumes = context->volumes;
  return positions;
}

Trajectory RolloutTrajectory(LearnedSimulator& simulator, const Scene& scene) {
  const RolloutSetup setup = MakeRolloutSetup(scene, simulator.Config().history);
  const torch::Tensor capsules = CapsuleTensor(scene.solids);
  torch::Tensor positions;
  {
    torch::NoGradGuard no_grad;
    positions = Rollout(simulator, setup, SampleObstacleParticles(capsules, scene.particle_spacing_m), capsules);
  }
  const int particles = static_cast<int>(setup.birth_frame.size());
  Trajectory trajectory = EmptyTrajectory(scene, particles, scene.frames + 1);
  trajectory.simulator = "learned";
  const torch::Tensor flat = positions.contiguous();
  const float* data = flat.data_ptr<float>();
  for (int f = 0; f <= scene.frames; ++f) {
    for (int i = 0; i < particles; ++i) {
      if (setup.birth_frame[i] > f) continue;  // stays NaN before birth
      const size_t k = (static_cast<size_t>(f) * particles + i) * 2;
      trajectory.positions[k] = data[k];
      trajectory.positions[k + 1] = data[k + 1];
    }
  }
  trajectory.birth_frame.assign(setup.birth_frame.begin(), setup.birth_frame.end());
  // The setup's rows before a birth move at the birth velocity.
  const auto rows = setup.initial_states.accessor<float, 3>();
  for (int i = 0; i < particles; ++i) {
    const int row = setup.history + setup.birth_frame[i];
    for (int d = 0; d < 2; ++d) {
      trajectory.birth_velocity[2 * i + d] = static_cast<float>((rows[row][i][d] - rows[row - 1][i][d]) / scene.frame_dt_s);
    }
  }
  return trajectory;
}

}  // namespace flowdesign::simulator::learned
