// `flowdesign average-models MODEL... --out OUT`: the weight average of models fine-tuned from
// one start (see simulator/learned/model_average.h).
#include <iostream>

#include "cli/commands.h"
#include "simulator/learned/model_average.h"

namespace flowdesign::cli {

void AddAverageModelsCommand(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand("average-models",
                                  "Average the weights of models fine-tuned from the same model (a model soup)");
  auto models = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  cmd->add_option("MODEL", *models, "Model or checkpoint files (.fdm) with the same config and normalization")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", *out, "The averaged model file (.fdm)")->required();
  cmd->callback([=, &action] {
    action = [=] {
      simulator::learned::ModelFile average;
      try {
        average = simulator::learned::AverageModels(*models);
      } catch (const std::exception& e) {  // unreadable or mismatched input models
        throw BadInput(e.what());
      }
      simulator::learned::WriteModelFile(*out, average);
      std::cout << "averaged " << models->size() << " models into " << *out << "\n";
      return kExitOk;
    };
  });
}

}  // namespace flowdesign::cli
