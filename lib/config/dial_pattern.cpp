#include "config/dial_pattern.hpp"

#include <cctype>

namespace sb::config {
namespace {

bool isDialChar(char c) { return (c >= '0' && c <= '9') || c == '*' || c == '#'; }

// One position of a pattern: the set of characters it accepts.
struct Step {
  std::string accept;  // characters it matches
};

// Parses the pattern into steps and its tail ('.', '!' or none). False on error.
bool compile(std::string_view p, std::vector<Step>& steps, char& tail, std::string* why) {
  tail = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    const char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (c == '.' || c == '!') {
      if (i + 1 != p.size()) {
        if (why) *why = std::string("'") + c + "' must be the last character of a pattern";
        return false;
      }
      tail = c;
    } else if (u == 'X') {
      steps.push_back({"0123456789"});
    } else if (u == 'Z') {
      steps.push_back({"123456789"});
    } else if (u == 'N') {
      steps.push_back({"23456789"});
    } else if (c == '[') {
      const size_t close = p.find(']', i);
      if (close == std::string_view::npos || close == i + 1) {
        if (why) *why = "'[' opens a digit set that is empty or never closed";
        return false;
      }
      std::string set;
      for (size_t k = i + 1; k < close; ++k) {
        const char d = p[k];
        if (d >= '0' && d <= '9' && k + 2 < close && p[k + 1] == '-' && p[k + 2] >= d && p[k + 2] <= '9') {
          for (char x = d; x <= p[k + 2]; ++x) set += x;
          k += 2;
        } else if (d >= '0' && d <= '9') {
          set += d;
        } else {
          if (why) *why = std::string("'") + d + "' in a digit set (only digits and ranges like 2-7)";
          return false;
        }
      }
      steps.push_back({set});
      i = close;
    } else if (isDialChar(c) || (c == '+' && i == 0)) {
      steps.push_back({std::string(1, c)});
    } else {
      if (why) *why = std::string("'") + c + "' is not part of the pattern notation (0-9 + * # X Z N [..] . !)";
      return false;
    }
  }
  if (steps.empty()) {
    if (why) *why = "a pattern must name at least one character before '.' or '!'";
    return false;
  }
  return true;
}

}  // namespace

std::string dialPatternError(std::string_view pattern) {
  std::vector<Step> steps;
  char tail = 0;
  std::string why;
  if (pattern.empty()) return "empty pattern";
  if (pattern.size() > 64) return "longer than 64 characters";
  return compile(pattern, steps, tail, &why) ? std::string() : why;
}

bool dialPatternMatches(std::string_view pattern, std::string_view number) {
  std::vector<Step> steps;
  char tail = 0;
  if (!compile(pattern, steps, tail, nullptr)) return false;
  if (number.size() < steps.size()) return false;
  for (size_t i = 0; i < steps.size(); ++i)
    if (steps[i].accept.find(number[i]) == std::string::npos) return false;
  const std::string_view rest = number.substr(steps.size());
  for (char c : rest)
    if (!isDialChar(c)) return false;
  if (tail == '.') return !rest.empty();
  if (tail == '!') return true;
  return rest.empty();
}

std::string dialPatternLiteralPrefix(std::string_view pattern) {
  std::string out;
  for (char c : pattern) {
    if (!(isDialChar(c) || c == '+')) break;
    out += c;
  }
  return out;
}

std::optional<std::string> normalizeDialled(std::string_view dialled) {
  std::string out;
  for (size_t i = 0; i < dialled.size(); ++i) {
    const char c = dialled[i];
    if (c == '-' || c == '.' || c == '(' || c == ')') continue;
    if (c == '+' && out.empty()) {
      out += c;
      continue;
    }
    if (!isDialChar(c)) return std::nullopt;
    out += c;
  }
  const size_t digits = out.size() - (!out.empty() && out[0] == '+' ? 1 : 0);
  if (digits == 0 || digits > 32) return std::nullopt;
  return out;
}

bool dialAllowed(const std::vector<std::string>& patterns, std::string_view number,
                 const std::vector<std::string>& restricted) {
  for (const auto& p : patterns) {
    if (!dialPatternMatches(p, number)) continue;
    const std::string literal = dialPatternLiteralPrefix(p);
    bool spelled = true;
    for (const auto& r : restricted)
      if (!r.empty() && number.substr(0, r.size()) == r && literal.compare(0, r.size(), r) != 0) spelled = false;
    if (spelled) return true;
  }
  return false;
}

}  // namespace sb::config
