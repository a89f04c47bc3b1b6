// `flowdesign train`: trains the learned simulator on a data folder, resumable.
#include <iostream>

#include "cli/commands.h"
#include "simulator/training/trainer.h"

namespace flowdesign::cli {

void AddTrainCommand(CLI::App& root, Action& action, simulator::GroundTruthRun ground_truth) {
  auto* cmd = root.add_subcommand("train", "Train the learned simulator (resumes from OUT/checkpoint.fdm)");
  auto data = std::make_shared<std::string>();
  auto config = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto minutes = std::make_shared<double>(-1.0);
  auto steps = std::make_shared<int64_t>(-1);
  auto threads = std::make_shared<int>(-1);
  auto init_from = std::make_shared<std::string>();
  cmd->add_option("--data", *data, "Data folder written by `flowdesign generate`")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--config", *config, "Model and training config (JSON), e.g. models/default/config.json")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", *out, "Output folder: model.fdm, checkpoint.fdm, log.csv")->required();
  cmd->add_option("--minutes", *minutes, "Stop with a checkpoint after this many minutes (overrides the config)");
  cmd->add_option("--steps", *steps, "Total training steps (overrides the config)");
  cmd->add_option("--threads", *threads,
                  "cores to use (overrides the config; 0 = all cores; 1 leaves a core free for other work): LibTorch threads for one-step training on the CPU, examples side by side for unrolled losses and on a GPU")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--init-from", *init_from,
                  "Start a fresh run from this model's weights (fine-tuning; overrides the config's init_from)")
      ->check(CLI::ExistingFile);
  cmd->callback([=, &action] {
    action = [=] {
      simulator::training::TrainConfig train_config = simulator::training::LoadTrainConfig(*config);
      if (*minutes >= 0) train_config.training.max_minutes = *minutes;
      if (*steps > 0) train_config.training.steps = *steps;
      if (*threads >= 0) train_config.training.threads = *threads;
      if (!init_from->empty()) train_config.training.init_from = *init_from;
      const auto summary = simulator::training::Train(
          *data, train_config, *out, [](const std::string& line) { std::cerr << line << "\n"; }, ground_truth);
      std::cout << (summary.finished ? "finished" : "stopped (resume with the same command)") << " at step "
                << summary.steps << "; best validation rollout error " << summary.best_validation_error_spacings
                << " spacings; model: " << summary.model_path << "\n";
      return kExitOk;
    };
  });
}

}  // namespace flowdesign::cli
