#pragma once
// The loader's reading of one YAML mapping (Fields): every key checked against
// the allowed set, typed, ranged, and its position remembered for errors.
// Shared by loader.cpp (the top-level sections) and loader_directory.cpp (the
// lists of extensions, agents, skill groups, numbers and trunks).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "config/loader_internal.hpp"

namespace sb::config::detail {

inline Position posOf(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return {1, 1};
  return {m.line + 1, m.column + 1};
}

inline std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }
inline std::string index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

// A mapping whose keys were checked against the allowed set.
class Fields {
 public:
  Fields(Diagnostics& d, std::string path) : diag_(d), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  Diagnostics& diag() { return diag_; }

  bool open(const YAML::Node& node, std::initializer_list<const char*> allowed) {
    if (!node.IsMap()) {
      diag_.errorAt(posOf(node), path_, "expected a mapping");
      return false;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = it->first.Scalar();
      const Position pos = posOf(it->first);
      const std::string child = join(path_, key);
      if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }) == allowed.end()) {
        std::string known;
        for (const char* a : allowed) known += std::string(known.empty() ? "" : ", ") + a;
        diag_.errorAt(pos, child, "unknown key (known keys: " + known + ")");
        continue;
      }
      if (values_.count(key)) {
        diag_.errorAt(pos, child, "duplicate key");
        continue;
      }
      values_[key] = it->second;
      // A null value has no useful mark of its own: point at its key.
      diag_.remember(child, it->second.IsNull() ? pos : posOf(it->second));
    }
    diag_.remember(path_, posOf(node));
    return true;
  }

  bool has(const char* key) const {
    auto it = values_.find(key);
    return it != values_.end() && !it->second.IsNull();
  }
  YAML::Node get(const char* key) const { return values_.at(key); }

  void required(const char* key) {
    if (!has(key)) diag_.error(join(path_, key), "required key is missing");
  }

  void readString(const char* key, std::string& out, bool req = false) {
    if (!has(key)) {
      if (req) required(key);
      return;
    }
    const YAML::Node n = get(key);
    if (!n.IsScalar()) {
      diag_.error(join(path_, key), "expected a string");
      return;
    }
    out = n.Scalar();
    if (req && out.empty()) diag_.error(join(path_, key), "must not be empty");
  }

  void readInt(const char* key, int& out, int min, int max, bool req = false) {
    if (!has(key)) {
      if (req) required(key);
      return;
    }
    const YAML::Node n = get(key);
    const std::string p = join(path_, key);
    if (!n.IsScalar()) {
      diag_.error(p, "expected an integer");
      return;
    }
    long long v = 0;
    try {
      v = n.as<long long>();
    } catch (const YAML::Exception&) {
      diag_.error(p, "expected an integer, got '" + n.Scalar() + "'");
      return;
    }
    if (v < min || v > max) {
      diag_.error(p, std::to_string(v) + " is outside " + std::to_string(min) + ".." + std::to_string(max));
      return;
    }
    out = static_cast<int>(v);
  }

  void readBool(const char* key, bool& out) {
    if (!has(key)) return;
    const YAML::Node n = get(key);
    const std::string v = n.IsScalar() ? n.Scalar() : std::string();
    if (v == "true")
      out = true;
    else if (v == "false")
      out = false;
    else
      diag_.error(join(path_, key), "expected true or false");
  }

  // Calls `each` for every element of a sequence key, with its path and index.
  void readList(const char* key, const std::function<void(const YAML::Node&, const std::string&, size_t)>& each,
                bool req = false) {
    if (!has(key)) {
      if (req) required(key);
      return;
    }
    const YAML::Node n = get(key);
    const std::string p = join(path_, key);
    if (!n.IsSequence()) {
      diag_.error(p, "expected a list");
      return;
    }
    for (size_t i = 0; i < n.size(); ++i) {
      diag_.remember(index(p, i), posOf(n[i]));
      each(n[i], index(p, i), i);
    }
  }

  void readStringList(const char* key, std::vector<std::string>& out) {
    std::vector<std::string> tmp;
    bool allStrings = true;
    readList(key, [&](const YAML::Node& n, const std::string& p, size_t) {
      if (n.IsScalar()) {
        tmp.push_back(n.Scalar());
      } else {
        diag_.error(p, "expected a string");
        allStrings = false;
      }
    });
    // A list with a bad element keeps the default rather than a shortened list,
    // so rules over the list do not report a second, derived error.
    if (has(key) && allStrings) out = std::move(tmp);
  }

 private:
  Diagnostics& diag_;
  std::string path_;
  std::map<std::string, YAML::Node> values_;
};

// A "host[:port]" string key into `out` (loader_directory.cpp).
void readHostPort(Fields& f, const char* key, HostPort& out, bool req);

// The list readers of loader_directory.cpp: each appends what it read of one
// element to `out`, or nothing when the element is not a mapping.
void readExtension(const YAML::Node& n, const std::string& p, Diagnostics& d, std::vector<Extension>& out);
void readAgent(const YAML::Node& n, const std::string& p, Diagnostics& d, std::vector<Agent>& out);
void readSkillGroup(const YAML::Node& n, const std::string& p, Diagnostics& d, std::vector<SkillGroup>& out);
void readNumber(const YAML::Node& n, const std::string& p, Diagnostics& d, std::vector<Number>& out);
void readTrunk(const YAML::Node& n, const std::string& p, Diagnostics& d, std::vector<Trunk>& out);

}  // namespace sb::config::detail
