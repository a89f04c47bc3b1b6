// Where commands find the learned model: --model if given, else the shipped default model.
#pragma once

#include <string>

namespace flowdesign::cli {

// `given` if not empty, else models/default/model.fdm in the working folder or the source tree.
// Throws BadInput naming the path if the file does not exist.
std::string ModelPathOrDefault(const std::string& given);

}  // namespace flowdesign::cli
