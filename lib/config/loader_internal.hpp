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
  // A list element that fails to load is left out of the structs, so the n-th
  // struct may stand for a later element of the file. The loader records which
  // file element each struct came from; validate.cpp names elements through
  // item() so its errors point at the right one.
  void recordItem(const std::string& list, size_t fileIndex) { items_[list].push_back(fileIndex); }
  std::string item(const std::string& list, size_t i) const;
  // Errors in file order (line, then column); equal positions keep the order found.
  std::vector<Diagnostic> take();
  bool empty() const { return errors_.empty(); }

 private:
  std::string file_;
  std::unordered_map<std::string, Position> positions_;
  std::unordered_map<std::string, std::vector<size_t>> items_;
  std::vector<Diagnostic> errors_;
};

// Rules that span keys: uniqueness, references, ranges that depend on each other.
void validate(const Config& config, Diagnostics& diag);

}  // namespace sb::config::detail
