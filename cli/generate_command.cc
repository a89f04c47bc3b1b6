// `flowdesign generate`: training data for the learned simulator from the ground truth.
#include <chrono>
#include <iostream>

#include "cli/commands.h"
#include "simulator/data_generation/generate.h"
#include "simulator/data_generation/recipe.h"
#include "tasks/file_util.h"

namespace flowdesign::cli {

void AddGenerateCommand(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand("generate", "Generate training/validation/test trajectories with the ground-truth simulator");
  auto recipe_path = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto threads = std::make_shared<int>(0);
  cmd->add_option("--recipe", *recipe_path, "Data recipe (JSON); see docs/learned-simulator.md")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", *out, "Output data folder (a killed run resumes in the same folder)")->required();
  cmd->add_option("--threads", *threads, "Worker threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  cmd->callback([=, &action] {
    action = [=] {
      const simulator::data::Recipe recipe = simulator::data::LoadRecipe(*recipe_path);
      simulator::data::GenerateOptions options;
      options.threads = *threads;
      const auto start = std::chrono::steady_clock::now();
      options.progress = [start](int done, int total) {
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::cerr << "\rgenerated " << done << "/" << total << " trajectories, " << static_cast<int>(elapsed)
                  << " s elapsed, ETA " << static_cast<int>(elapsed / done * (total - done)) << " s   " << std::flush;
      };
      simulator::data::GenerateData(recipe, *out, options);
      std::cerr << "\n";
      std::cout << "data written to " << *out << "\n"
                << "normalization: " << tasks::ReadFile(*out + "/normalization.json")
                << "motion statistics: " << tasks::ReadFile(*out + "/statistics.json");
      return kExitOk;
    };
  });
}

}  // namespace flowdesign::cli
