// `flowdesign evaluate-model`: accuracy of a learned simulator on held-out data, and a
// side-by-side animation (ground truth | learned) of one scene.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "design/render.h"
#include "simulator/data_layout.h"
#include "simulator/learned/model_file.h"
#include "simulator/training/evaluation.h"
#include "tasks/file_util.h"

namespace flowdesign::cli {

void AddEvaluateModelCommand(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand("evaluate-model", "Measure a learned simulator on held-out trajectories");
  auto model = std::make_shared<std::string>("models/default/model.fdm");
  auto data = std::make_shared<std::string>();
  auto split = std::make_shared<std::string>("test");
  auto out = std::make_shared<std::string>();
  auto limit = std::make_shared<int>(-1);
  auto scene = std::make_shared<int>(0);
  auto threads = std::make_shared<int>(0);
  cmd->add_option("--model", *model, "Model file (.fdm)")->capture_default_str();
  cmd->add_option("--data", *data, "Data folder written by `flowdesign generate`")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--split", *split, "Which split to evaluate")->capture_default_str()->check(CLI::IsMember({"train", "valid", "test"}));
  cmd->add_option("--out", *out, "Folder for evaluation.json and comparison.gif (default: no files)");
  cmd->add_option("--max", *limit, "Evaluate at most this many trajectories (default: all)");
  cmd->add_option("--scene", *scene, "Index of the trajectory animated side by side")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", *threads, "LibTorch threads (0 = all cores)")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->callback([=, &action] {
    action = [=] {
      if (!std::filesystem::exists(*model)) throw BadInput("--model " + *model + ": no such file");
      simulator::learned::ConfigureTorchThreads(*threads);
      auto simulator = simulator::learned::LoadModel(*model);
      const simulator::training::Dataset dataset = simulator::training::LoadSplit(*data, *split, simulator->Config().history, *limit);
      std::cerr << "evaluating " << *model << " on " << dataset.trajectories.size() << " " << *split << " trajectories\n";
      const auto report = simulator::training::EvaluateModel(*simulator, dataset, {});
      std::cout << report.Table();
      if (!out->empty()) {
        std::filesystem::create_directories(*out);
        tasks::WriteFileAtomically(*out + "/evaluation.json", report.ToJson().dump(2) + "\n");
        const simulator::Trajectory truth = simulator::LoadTrajectory(simulator::TrajectoryDirectory(*data, *split, *scene));
        const simulator::Trajectory learned = simulator::training::LearnedRolloutOfData(*simulator, truth);
        design::WriteSideBySideGif(truth, learned, *out + "/comparison.gif");
        std::cout << "wrote " << *out << "/evaluation.json and " << *out << "/comparison.gif (ground truth | learned)\n";
      }
      return kExitOk;
    };
  });
}

}  // namespace flowdesign::cli
