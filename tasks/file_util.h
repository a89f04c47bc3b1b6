// Small file helpers: atomic writes (temp file + rename) so nothing is ever half-written.
#pragma once

#include <string>

namespace flowdesign::tasks {

// Writes `content` to `path` via a temporary file in the same directory and a rename.
// Throws std::runtime_error naming the path on failure.
void WriteFileAtomically(const std::string& path, const std::string& content);

// Reads a whole file; throws std::runtime_error naming the path on failure.
std::string ReadFile(const std::string& path);

}  // namespace flowdesign::tasks
