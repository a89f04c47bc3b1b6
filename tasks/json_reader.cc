#include "tasks/json_reader.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tasks/task_io.h"

namespace flowdesign::tasks {

using nlohmann::json;

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == std::trunc(value) && std::abs(value) < 1e15) {
    return std::to_string(static_cast<long long>(value));
  }
  return json(value).dump();  // shortest text that reads back exactly
}

std::string FormatPoint(Vec2 p) {
  return "[" + FormatNumber(p.x) + ", " + FormatNumber(p.y) + "]";
}

Rule Rule::WithLower(double v, bool strict) const {
  Rule rule = *this;
  rule.lower_ = Bound{v, strict};
  return rule;
}

Rule Rule::WithUpper(double v, bool strict) const {
  Rule rule = *this;
  rule.upper_ = Bound{v, strict};
  return rule;
}

std::string Rule::Violation(double value) const {
  const std::string got = " (got " + FormatNumber(value) + ")";
  if (lower_ && (lower_->strict ? !(value > lower_->value) : !(value >= lower_->value))) {
    return std::string(lower_->strict ? "must be > " : "must be >= ") +
           FormatNumber(lower_->value) + got;
  }
  if (upper_ && (upper_->strict ? !(value < upper_->value) : !(value <= upper_->value))) {
    return std::string(upper_->strict ? "must be < " : "must be <= ") +
           FormatNumber(upper_->value) + got;
  }
  return "";
}

JsonNode::JsonNode(const json& value, const std::string& source)
    : JsonNode(&value, "", source) {}

JsonNode::JsonNode(const json* value, std::string path, std::string source)
    : value_(value), path_(std::move(path)), source_(std::move(source)) {}

void JsonNode::Fail(const std::string& reason) const {
  throw TaskError(source_ + ": " + (path_.empty() ? "" : path_ + ": ") + reason);
}

void JsonNode::RequireObject() const {
  if (!value_->is_object()) Fail("must be an object");
}

JsonNode JsonNode::Child(const char* key) const {
  return JsonNode(&value_->at(key), path_.empty() ? key : path_ + "." + key, source_);
}

bool JsonNode::Has(const char* key) const {
  RequireObject();
  return value_->contains(key);
}

JsonNode JsonNode::Field(const char* key) const {
  if (!Has(key)) Fail(std::string("missing required field '") + key + "'");
  return Child(key);
}

std::optional<JsonNode> JsonNode::Optional(const char* key) const {
  if (!Has(key)) return std::nullopt;
  return Child(key);
}

void JsonNode::AllowOnly(std::initializer_list<const char*> allowed) const {
  RequireObject();
  for (const auto& item : value_->items()) {
    const bool known = std::any_of(allowed.begin(), allowed.end(),
                                   [&](const char* name) { return item.key() == name; });
    if (!known) Fail("unknown field '" + item.key() + "'");
  }
}

std::vector<JsonNode> JsonNode::Items(size_t min_size, const char* what) const {
  if (!value_->is_array()) Fail("must be an array");
  if (value_->size() < min_size) {
    Fail("must have at least " + std::to_string(min_size) + " " + what + " (got " +
         std::to_string(value_->size()) + ")");
  }
  std::vector<JsonNode> items;
  for (size_t i = 0; i < value_->size(); ++i) {
    items.push_back(JsonNode(&(*value_)[i], path_ + "[" + std::to_string(i) + "]", source_));
  }
  return items;
}

double JsonNode::Number(const Rule& rule) const {
  if (!value_->is_number()) Fail("must be a number");
  const double value = value_->get<double>();
  if (!std::isfinite(value)) Fail("must be a finite number (got " + FormatNumber(value) + ")");
  const std::string violation = rule.Violation(value);
  if (!violation.empty()) Fail(violation);
  return value;
}

int JsonNode::Integer(const Rule& rule) const {
  if (!value_->is_number_integer()) Fail("must be an integer");
  // Every JSON integer converts to double exactly enough for range checks.
  const double value = value_->get<double>();
  const std::string violation = rule.Violation(value);
  if (!violation.empty()) Fail(violation);
  const std::string within_int = Between(std::numeric_limits<int>::min(),
                                         std::numeric_limits<int>::max()).Violation(value);
  if (!within_int.empty()) Fail(within_int);
  return value_->get<int>();
}

std::uint64_t JsonNode::Unsigned() const {
  if (!value_->is_number_integer()) Fail("must be an integer");
  if (!value_->is_number_unsigned()) Fail("must be >= 0 (got " + value_->dump() + ")");
  return value_->get<std::uint64_t>();
}

bool JsonNode::Boolean() const {
  if (!value_->is_boolean()) Fail("must be true or false");
  return value_->get<bool>();
}

std::string JsonNode::String() const {
  if (!value_->is_string()) Fail("must be a string");
  return value_->get<std::string>();
}

std::string JsonNode::Name() const {
  std::string name = String();
  if (name.empty()) Fail("must not be empty");
  return name;
}

Vec2 JsonNode::Point() const {
  if (!value_->is_array() || value_->size() != 2 || !(*value_)[0].is_number() ||
      !(*value_)[1].is_number()) {
    Fail("must be an array of 2 numbers");
  }
  const std::vector<JsonNode> xy = Items();
  return {xy[0].Number(), xy[1].Number()};
}

std::vector<Vec2> JsonNode::Points(size_t min_count) const {
  std::vector<Vec2> points;
  for (const JsonNode& item : Items(min_count, "points")) points.push_back(item.Point());
  return points;
}

}  // namespace flowdesign::tasks
