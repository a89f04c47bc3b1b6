// Reading plain option structs from JSON against their defaults: unknown fields and wrong types
// are rejected with the source and the field named; missing fields keep their defaults.
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace flowdesign::simulator::learned {

// Returns `defaults` overridden by `json`, after checking every field of `json` exists in
// `defaults` with a compatible type (any number for a float field, an integer for an integer).
inline nlohmann::json MergeWithDefaults(const nlohmann::json& json, const nlohmann::json& defaults,
                                        const std::string& source) {
  if (!json.is_object()) throw std::invalid_argument(source + ": must be a JSON object");
  for (const auto& [key, value] : json.items()) {
    if (!defaults.contains(key)) throw std::invalid_argument(source + ": " + key + ": unknown field");
    const nlohmann::json& expected = defaults.at(key);
    const bool ok = expected.is_number_integer()  ? value.is_number_integer()
                    : expected.is_number()        ? value.is_number()
                                                  : value.type() == expected.type();
    if (!ok) {
      throw std::invalid_argument(source + ": " + key + ": wrong type (expected a value like " +
                                  expected.dump() + ", got " + value.dump() + ")");
    }
  }
  nlohmann::json merged = defaults;
  for (const auto& [key, value] : json.items()) merged[key] = value;
  return merged;
}

}  // namespace flowdesign::simulator::learned
