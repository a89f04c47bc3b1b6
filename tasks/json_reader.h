// Reading checked values out of parsed JSON. Every failure is a TaskError naming the file, the
// JSON path and the reason, e.g. "tasks/x.json: tools[0].segments: must be >= 1 (got 0)".
// Used by task_io.cc; kept separate so the task format code reads as a list of rules.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tasks/geometry.h"

namespace flowdesign::tasks {

// Shortest text that reads back as `value`: "0.01", "1", "-2.5e-07", "inf".
std::string FormatNumber(double value);
// "[x, y]".
std::string FormatPoint(Vec2 p);

// Allowed range of a number: an optional lower and upper bound, each strict or inclusive.
// Build with the free functions below and chain: Above(0.0).AtMost(1.0).
class Rule {
 public:
  Rule Above(double v) const { return WithLower(v, true); }    // > v
  Rule AtLeast(double v) const { return WithLower(v, false); } // >= v
  Rule Below(double v) const { return WithUpper(v, true); }    // < v
  Rule AtMost(double v) const { return WithUpper(v, false); }  // <= v

  // Empty if `value` obeys the rule, otherwise the reason: "must be > 0 (got -1)".
  std::string Violation(double value) const;

 private:
  struct Bound {
    double value;
    bool strict;
  };
  Rule WithLower(double v, bool strict) const;
  Rule WithUpper(double v, bool strict) const;

  std::optional<Bound> lower_;
  std::optional<Bound> upper_;
};

inline Rule AnyNumber() { return Rule(); }
inline Rule Above(double v) { return Rule().Above(v); }
inline Rule AtLeast(double v) { return Rule().AtLeast(v); }
inline Rule AtMost(double v) { return Rule().AtMost(v); }
inline Rule Between(double lo, double hi) { return Rule().AtLeast(lo).AtMost(hi); }

// A JSON value together with where it came from (file and path). Refers to the parsed
// document, which must outlive it.
class JsonNode {
 public:
  JsonNode(const nlohmann::json& value, const std::string& source);

  const nlohmann::json& value() const { return *value_; }
  // "tools[0].segments"; empty for the document root.
  const std::string& path() const { return path_; }
  // Throws TaskError "<source>: <path>: <reason>" ("<source>: <reason>" at the root).
  [[noreturn]] void Fail(const std::string& reason) const;

  // Objects. Each of these first requires the node to be an object.
  bool Has(const char* key) const;
  JsonNode Field(const char* key) const;                    // fails if missing
  std::optional<JsonNode> Optional(const char* key) const;  // empty if missing
  // Fails on the first field not in `allowed`: "unknown field 'foo'".
  void AllowOnly(std::initializer_list<const char*> allowed) const;

  // Arrays: the items, after checking the node is an array with at least `min_size` items.
  std::vector<JsonNode> Items(size_t min_size = 0, const char* what = "items") const;

  // Scalars. Numbers must be finite and obey `rule`.
  double Number(const Rule& rule = AnyNumber()) const;
  int Integer(const Rule& rule = AnyNumber()) const;  // also within the range of int
  std::uint64_t Unsigned() const;
  bool Boolean() const;
  std::string String() const;
  std::string Name() const;  // a non-empty string
  Vec2 Point() const;        // [x, y], both finite
  std::vector<Vec2> Points(size_t min_count) const;

 private:
  JsonNode(const nlohmann::json* value, std::string path, std::string source);
  void RequireObject() const;
  JsonNode Child(const char* key) const;

  const nlohmann::json* value_;
  std::string path_;
  std::string source_;
};

}  // namespace flowdesign::tasks
