#pragma once
// Shared between loader.cpp (YAML to structs) and validate.cpp (cross-key rules):
// where each key path stood in the file, so every error can carry its location.
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"

namespace sb::config::detail {

struct Position {
  int line = 1;
  int column = 1;
};

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  void remember(const std::string& path, Position pos) { positions_[path] = pos; }
  // Position of `path`, or of its nearest recorded ancestor.
  Position where(const std::string& path) const;
  void error(const std::string& path, std::string message);
  void errorAt(Position pos, const std::string& path, std::string message);
  std::vector<Diagnostic> take() { return std::move(errors_); }
  bool empty() const { return errors_.empty(); }

 private:
  std::string file_;
  std::unordered_map<std::string, Position> positions_;
  std::vector<Diagnostic> errors_;
};

// Rules that span keys: uniqueness, references, ranges that depend on each other.
void validate(const Config& config, Diagnostics& diag);

}  // namespace sb::config::detail
