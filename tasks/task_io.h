// Reading and writing task files (JSON, versioned) and design files, with validation.
// Every rejection is a TaskError whose message names the file, the JSON path and the reason,
// e.g. "tasks/x.json: tools[0].segments: must be >= 1 (got 0)".
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tasks/task.h"

namespace flowdesign::tasks {

class TaskError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses and validates; `source` names the file in error messages.
Task ParseTask(const nlohmann::json& json, const std::string& source);
Task LoadTask(const std::string& path);

nlohmann::json TaskToJson(const Task& task);
// Writes atomically (temp file + rename): a failed save leaves any old file untouched.
void SaveTask(const Task& task, const std::string& path);

// A design: one value per parameter of the task's tools, in natural units (degrees, metres).
// File: {"format_version": 1, "task": NAME, "tools": [{"name": TOOL, "parameters": [...]}, ...]}
struct Design {
  std::string task_name;
  std::vector<double> parameters;  // flat, tools in task order
};
nlohmann::json DesignToJson(const Task& task, const Design& design);
// Validates against the task: tool names, parameter counts, finiteness and bounds.
Design ParseDesign(const nlohmann::json& json, const Task& task, const std::string& source);
Design LoadDesign(const std::string& path, const Task& task);
void SaveDesign(const Task& task, const Design& design, const std::string& path);

}  // namespace flowdesign::tasks
