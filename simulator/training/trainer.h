// `flowdesign train`: one-step training of the learned simulator on ground-truth data, as in
// GNS (random-walk input noise, loss on normalized fluid accelerations, Adam with exponential
// learning-rate decay), with periodic validation, checkpoints and resume.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "simulator/learned/model_config.h"
#include "simulator/training/example.h"

namespace flowdesign::simulator::training {

struct TrainingOptions {
  int64_t steps = 200000;                 // total optimizer steps
  double max_minutes = 0.0;               // stop (with a checkpoint) after this long; 0 = no limit
  int batch_size = 2;                     // frames per step
  double learning_rate = 1e-3;            // initial
  double final_learning_rate = 1e-5;      // approached exponentially
  int64_t decay_steps = 100000;           // learning rate falls 10x every decay_steps
  double noise_std_m = 3e-4;              // random-walk noise on the last input velocity, metres
  double volume_noise_std = 0.0;          // Gaussian noise on the input J (a volume state's)
  // Pushforward: this fraction of the examples takes its input window from the model's own
  // rollout of 1..pushforward_max_steps steps (uniform) instead of the ground truth (0 = off).
  int pushforward_max_steps = 0;
  double pushforward_fraction = 0.5;
  // Pushed-forward examples learn what the ground truth does from the positions the model's
  // rollout reached (MPM restarted there with the data's recorded velocities, J and C, for one
  // step or unroll_steps; DAgger) instead of following the ground truth's own displacements. Needs data generated with record_mpm_state and a
  // program built with the ground truth (Train's ground_truth).
  bool pushforward_restart_targets = false;
  // Exponential moving average of the weights (0 = off): validation and model.fdm use the
  // average, which smooths the checkpoint-to-checkpoint swings of a noisy fine-tune.
  double ema_decay = 0.0;
  // Loss over this many steps of the model's own rollout from each example's window, with
  // gradients through the rollout and its projections (1 = the one-step loss). Penalizes what
  // one-step training cannot see, e.g. velocity lost over several steps (fluid that damps).
  int unroll_steps = 1;
  std::string loss = "mse";               // "mse" or "huber"
  double huber_delta = 1.0;               // in normalized acceleration units
  double checkpoint_minutes = 5.0;
  int64_t validate_every = 2000;          // steps
  int validation_samples = 64;            // one-step loss samples from the valid split
  int validation_rollouts = 4;            // valid trajectories rolled out
  int validation_rollout_steps = 100;
  int64_t log_every = 100;
  uint64_t seed = 1;
  int threads = 0;                        // cores to use, 0 = all (see Train)
  std::string device = "cpu";             // "cpu" or "cuda"
  int max_train_trajectories = -1;        // -1 = all
  // A model file whose network weights start a fresh run (fine-tuning, e.g. after a config
  // change that keeps the shapes); "" = random initialization. Ignored when resuming.
  std::string init_from;
};

nlohmann::json TrainingOptionsToJson(const TrainingOptions& options);
TrainingOptions TrainingOptionsFromJson(const nlohmann::json& json, const std::string& source);

// MODEL.json: {"model": {ModelConfig fields}, "training": {TrainingOptions fields}}; the
// model's physical setup (spacing, frame dt, gravity) is taken from the data's recipe.
struct TrainConfig {
  learned::ModelConfig model;
  TrainingOptions training;
};
TrainConfig LoadTrainConfig(const std::string& path);

struct TrainSummary {
  int64_t steps = 0;
  double best_validation_error_spacings = 0.0;
  std::string model_path;
  bool finished = false;  // reached `steps` (false: stopped by the time limit or a signal)
};

// Trains into out_dir (model.fdm = best validation rollout error, checkpoint.fdm = latest,
// log.csv, config.json). Resumes from out_dir/checkpoint.fdm when present. `threads` cores:
// one-step training on the CPU runs LibTorch's operators on them; unrolled losses, and every
// run on a GPU, build (and unroll) a batch's examples side by side, one per core. Examples are
// drawn in order from the step's generator, so what a step trains on never depends on the
// thread count. One-step runs on the CPU, and unrolled-loss runs on one thread, compute what
// they did before examples were built in parallel. Unrolled losses on several threads sum the
// examples' gradients in example order (each example back-propagates on its own thread), so
// such a run is the same on any number of threads from two up, and differs from a one-thread
// run in the last bits.
// `ground_truth` is needed by pushforward_restart_targets only.
TrainSummary Train(const std::string& data_dir, const TrainConfig& config, const std::string& out_dir,
                   const std::function<void(const std::string&)>& progress, const GroundTruthRun& ground_truth = {});

}  // namespace flowdesign::simulator::training
