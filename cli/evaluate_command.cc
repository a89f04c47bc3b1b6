// `flowdesign evaluate-model`: accuracy of a learned simulator on held-out data, and a
// side-by-side animation (ground truth | learned) of one scene.
#include <algorithm>
#include <filesystem>
#include <functional>
#include <iostream>

#include "cli/commands.h"
#include "design/render.h"
#include "simulator/data_layout.h"
#include "simulator/learned/model_file.h"
#include "simulator/training/evaluation.h"
#include "simulator/training/paired_comparison.h"
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
  auto baseline = std::make_shared<std::string>();
  auto horizons = std::make_shared<std::vector<int>>(simulator::training::EvaluationOptions{}.horizons);
  cmd->add_option("--model", *model, "Model file (.fdm)")->capture_default_str();
  cmd->add_option("--data", *data, "Data folder written by `flowdesign generate`")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--split", *split, "Which split to evaluate")->capture_default_str()->check(CLI::IsMember({"train", "valid", "test"}));
  cmd->add_option("--out", *out, "Folder for evaluation.json and comparison.gif (default: no files)");
  cmd->add_option("--max", *limit, "Evaluate at most this many trajectories (default: all)");
  cmd->add_option("--scene", *scene, "Index of the trajectory animated side by side")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", *threads, "LibTorch threads (0 = all cores)")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--baseline", *baseline,
                  "evaluation.json of another model on the same data: compare trajectory by trajectory")
      ->check(CLI::ExistingFile);
  cmd->add_option("--horizons", *horizons,
                  "Rollout steps at which errors are reported, besides the end (e.g. 50,100,200 for a model with half the frame step)")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->callback([=, &action] {
    action = [=] {
      if (std::adjacent_find(horizons->begin(), horizons->end(), std::greater_equal<int>()) != horizons->end()) {
        throw BadInput("--horizons: steps must be increasing");
      }
      if (!std::filesystem::exists(*model)) throw BadInput("--model " + *model + ": no such file");
      nlohmann::json baseline_evaluation;
      if (!baseline->empty()) {
        try {
          baseline_evaluation = nlohmann::json::parse(tasks::ReadFile(*baseline));
        } catch (const nlohmann::json::exception& e) {
          throw BadInput(*baseline + ": not valid JSON: " + e.what());
        }
      }
      nlohmann::json source{{"model", *model},
                            {"data", std::filesystem::weakly_canonical(*data).string()},
                            {"split", *split}};
      simulator::learned::ConfigureTorchThreads(*threads);
      auto simulator = simulator::learned::LoadModel(*model);
      const simulator::training::Dataset dataset = simulator::training::LoadSplit(*data, *split, simulator->Config().history, *limit);
      source["scenes"] = simulator::training::ScenesFingerprint(dataset.trajectories);
      try {
        if (!baseline->empty()) simulator::training::CheckSameSource(source, baseline_evaluation, *baseline);
      } catch (const std::invalid_argument& e) {
        throw BadInput(e.what());
      }
      if (!baseline->empty() && baseline_evaluation.value("data", source["data"]) != source["data"]) {
        std::cerr << "the baseline was evaluated on " << baseline_evaluation["data"].dump()
                  << ": other data, the same scenes\n";
      }
      if (!baseline->empty() && baseline_evaluation.value("trajectories", -1) != static_cast<int>(dataset.trajectories.size())) {
        throw BadInput(*baseline + ": field \"trajectories\": " + baseline_evaluation.value("trajectories", nlohmann::json()).dump() +
                       ", this evaluation has " + std::to_string(dataset.trajectories.size()) + " (another --max?)");
      }
      std::cerr << "evaluating " << *model << " on " << dataset.trajectories.size() << " " << *split << " trajectories\n";
      simulator::training::EvaluationOptions options;
      options.horizons = *horizons;
      const auto report = simulator::training::EvaluateModel(*simulator, dataset, options);
      nlohmann::json evaluation = report.ToJson();
      evaluation.update(source);
      std::string paired_table;
      if (!baseline->empty()) {
        std::vector<simulator::training::PairedDifference> differences;
        try {
          differences = simulator::training::ComparePaired(report, source, baseline_evaluation, *baseline);
        } catch (const std::invalid_argument& e) {
          throw BadInput(e.what());
        }
        paired_table = simulator::training::PairedTable(differences, *baseline);
        evaluation["against_baseline"] = simulator::training::PairedToJson(differences, *baseline);
      }
      std::cout << report.Table() << paired_table;
      if (!out->empty()) {
        std::filesystem::create_directories(*out);
        tasks::WriteFileAtomically(*out + "/evaluation.json", evaluation.dump(2) + "\n");
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
