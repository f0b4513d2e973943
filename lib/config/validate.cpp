// Cross-key rules of the schema: uniqueness, references between sections, and
// ranges that depend on other keys.
#include <map>
#include <set>

#include "common/log.hpp"
#include "config/dial_pattern.hpp"
#include "config/loader_internal.hpp"

namespace sb::config::detail {
namespace {

// The path of struct i's key, named after the file element it came from.
std::string at(const Diagnostics& d, const std::string& section, size_t i, const char* key) {
  return d.item(section, i) + "." + key;
}

bool isHex(const std::string& s, size_t len) {
  if (s.size() != len) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

// RFC 3261 §25.1 "user" characters, minus escapes: what a phone can put in a From.
bool isSipUser(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    std::string_view("-_.!~*'()&=+$,;?/").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool isPhoneNumber(const std::string& s) {
  if (s.empty()) return false;
  size_t digits = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+' && i == 0) continue;
    if (s[i] < '0' || s[i] > '9') return false;
    ++digits;
  }
  return digits >= 2 && digits <= 20;
}

template <typename T, typename Get>
void unique(const std::vector<T>& items, const std::string& section, const char* key, Get get, Diagnostics& d) {
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string v = get(items[i]);
    if (v.empty()) continue;
    auto [it, inserted] = seen.emplace(v, i);
    if (!inserted)
      d.error(at(d, section, i, key),
              "duplicate " + std::string(key) + " '" + v + "' (first at " + d.item(section, it->second) + ")");
  }
}

// Two entries for one socket would make the daemon fail to bind at start; say so here.
void validateListen(const Sip& sip, Diagnostics& d) {
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < sip.listen.size(); ++i) {
    auto [it, inserted] = seen.emplace(sip.listen[i].str(), i);
    if (!inserted)
      d.error(d.item("sip.listen", i),
              "'" + sip.listen[i].str() + "' is listed twice (first at " + d.item("sip.listen", it->second) + ")");
  }
}

void validateRegistrar(const Registrar& r, Diagnostics& d) {
  if (r.minExpires > r.maxExpires)
    d.error("registrar.minExpires", "minExpires " + std::to_string(r.minExpires) + " is greater than maxExpires " +
                                        std::to_string(r.maxExpires));
  else if (r.defaultExpires < r.minExpires || r.defaultExpires > r.maxExpires)
    d.error("registrar.defaultExpires", "must lie between minExpires and maxExpires");
}

void validateSecurity(const Security& s, Diagnostics& d) {
  if (s.digestAlgorithms.empty()) d.error("security.digestAlgorithms", "needs at least one algorithm");
  std::set<std::string> seen;
  for (size_t i = 0; i < s.digestAlgorithms.size(); ++i) {
    const auto& a = s.digestAlgorithms[i];
    const std::string p = d.item("security.digestAlgorithms", i);
    if (a != "SHA-256" && a != "MD5" && a != "SHA-512-256")
      d.error(p, "'" + a + "' is not a digest algorithm (SHA-256, SHA-512-256, MD5; RFC 8760)");
    else if (!seen.insert(a).second)
      d.error(p, "'" + a + "' is listed twice");
  }
}

void validateExtensions(const Config& c, Diagnostics& d) {
  unique(c.extensions, "extensions", "id", [](const Extension& e) { return e.id; }, d);
  for (size_t i = 0; i < c.extensions.size(); ++i) {
    const auto& e = c.extensions[i];
    if (!e.id.empty() && !isSipUser(e.id))
      d.error(at(d, "extensions", i, "id"), "'" + e.id + "' is not a valid SIP user part");
    if (!e.password.empty() && (!e.ha1.empty() || !e.ha1Sha256.empty()))
      d.error(at(d, "extensions", i, e.ha1.empty() ? "ha1Sha256" : "ha1"),
              "the password is given twice: use password or ha1/ha1Sha256, not both");
    if (e.password.empty() && e.ha1.empty() && e.ha1Sha256.empty())
      d.error(d.item("extensions", i), "needs a password, ha1 or ha1Sha256");
    if (!e.ha1.empty() && !isHex(e.ha1, 32))
      d.error(at(d, "extensions", i, "ha1"), "must be 32 hex digits (MD5 of id:realm:password)");
    if (!e.ha1Sha256.empty() && !isHex(e.ha1Sha256, 64))
      d.error(at(d, "extensions", i, "ha1Sha256"), "must be 64 hex digits (SHA-256 of id:realm:password)");
  }
}

void validateAgents(const Config& c, Diagnostics& d) {
  unique(c.agents, "agents", "userId", [](const Agent& a) { return a.userId; }, d);
  std::map<std::string, size_t> extensionOwner;
  for (size_t i = 0; i < c.agents.size(); ++i) {
    const auto& a = c.agents[i];
    if (!a.extension.empty()) {
      if (!c.findExtension(a.extension))
        d.error(at(d, "agents", i, "extension"), "unknown extension '" + a.extension + "'");
      auto [it, inserted] = extensionOwner.emplace(a.extension, i);
      if (!inserted)
        d.error(at(d, "agents", i, "extension"),
                "extension '" + a.extension + "' is already bound to " + d.item("agents", it->second));
    }
    if (!a.mobile.empty() && !isPhoneNumber(a.mobile))
      d.error(at(d, "agents", i, "mobile"), "'" + a.mobile + "' is not a phone number (digits, optional leading +)");
    if (a.useMobileAccept > 0 && a.mobile.empty())
      d.error(at(d, "agents", i, "useMobileAccept"), "needs a mobile number");
    if (a.extension.empty() && a.mobile.empty())
      d.error(d.item("agents", i), "needs an extension or a mobile to be reachable");
    std::set<std::string> groups;
    for (size_t k = 0; k < a.skillGroups.size(); ++k) {
      const std::string p = at(d, d.item("agents", i) + ".skillGroups", k, "id");
      const auto& id = a.skillGroups[k].id;
      if (id.empty()) continue;
      if (!c.findSkillGroup(id)) d.error(p, "unknown skill group '" + id + "'");
      if (!groups.insert(id).second) d.error(p, "skill group '" + id + "' is listed twice");
    }
    if (!a.supervises.empty() && !a.supervisor)
      d.error(at(d, "agents", i, "supervises"), "only a supervisor (role: supervisor) supervises skill groups");
    if (a.supervisor && a.supervises.empty())
      d.error(at(d, "agents", i, "supervises"), "a supervisor needs the skill groups they supervise");
    for (const auto& id : a.supervises)
      if (!c.findSkillGroup(id)) d.error(at(d, "agents", i, "supervises"), "unknown skill group '" + id + "'");
    if (a.supervisor && c.media.mode != Media::Mode::anchored)
      d.error(at(d, "agents", i, "role"), "a supervisor's features need media.mode anchored");
  }
}

void validateRouting(const Config& c, Diagnostics& d) {
  unique(c.skillGroups, "skillGroups", "id", [](const SkillGroup& g) { return g.id; }, d);
  unique(c.numbers, "numbers", "number", [](const Number& n) { return n.number; }, d);
  unique(c.trunks, "trunks", "name", [](const Trunk& t) { return t.name; }, d);
  for (size_t i = 0; i < c.skillGroups.size(); ++i) {
    const auto& g = c.skillGroups[i];
    if (g.overflowTo.empty()) continue;
    if (!c.findSkillGroup(g.overflowTo)) {
      d.error(at(d, "skillGroups", i, "overflowTo"), "unknown skill group '" + g.overflowTo + "'");
      continue;
    }
    // Overflow is followed hop by hop at a call's arrival; a chain that comes
    // back to where it started would never end.
    std::set<std::string> seen{g.id};
    for (const SkillGroup* next = c.findSkillGroup(g.overflowTo); next; next = c.findSkillGroup(next->overflowTo)) {
      if (!seen.insert(next->id).second) {
        d.error(at(d, "skillGroups", i, "overflowTo"), "overflow chain from '" + g.id + "' loops back to '" +
                                                           next->id + "'");
        break;
      }
      if (next->overflowTo.empty()) break;
    }
  }
  for (size_t i = 0; i < c.numbers.size(); ++i) {
    const auto& n = c.numbers[i];
    if (!n.number.empty() && !isPhoneNumber(n.number))
      d.error(at(d, "numbers", i, "number"), "'" + n.number + "' is not a phone number");
    if (!n.skillGroup.empty() && !c.findSkillGroup(n.skillGroup))
      d.error(at(d, "numbers", i, "skillGroup"), "unknown skill group '" + n.skillGroup + "'");
  }
  for (size_t i = 0; i < c.trunks.size(); ++i)
    for (size_t k = 0; k < c.trunks[i].callerNumbers.size(); ++k)
      if (!isPhoneNumber(c.trunks[i].callerNumbers[k]))
        d.error(d.item(d.item("trunks", i) + ".callerNumbers", k),
                "'" + c.trunks[i].callerNumbers[k] + "' is not a phone number");
}

// Dial plan errors are located at the pattern itself, as every config error is.
void validatePatterns(const std::vector<std::string>& patterns, const std::string& path, Diagnostics& d) {
  for (size_t k = 0; k < patterns.size(); ++k)
    if (std::string why = dialPatternError(patterns[k]); !why.empty())
      d.error(d.item(path, k), "dial pattern '" + patterns[k] + "': " + why);
}

void validateNumbers(const std::vector<std::string>& numbers, const std::string& path, Diagnostics& d) {
  for (size_t k = 0; k < numbers.size(); ++k)
    if (!isPhoneNumber(numbers[k])) d.error(d.item(path, k), "'" + numbers[k] + "' is not a phone number");
}

void validateOutbound(const Config& c, Diagnostics& d) {
  for (size_t k = 0; k < c.outbound.emergencyNumbers.size(); ++k)
    if (!normalizeDialled(c.outbound.emergencyNumbers[k]))
      d.error(d.item("outbound.emergencyNumbers", k), "'" + c.outbound.emergencyNumbers[k] + "' is not a dialable number");
  for (size_t k = 0; k < c.outbound.restrictedPrefixes.size(); ++k)
    if (c.outbound.restrictedPrefixes[k].empty() || !normalizeDialled(c.outbound.restrictedPrefixes[k] + "0"))
      d.error(d.item("outbound.restrictedPrefixes", k), "'" + c.outbound.restrictedPrefixes[k] + "' is not a number prefix");
  for (size_t i = 0; i < c.trunks.size(); ++i) {
    const Trunk& t = c.trunks[i];
    validatePatterns(t.dialPatterns, d.item("trunks", i) + ".dialPatterns", d);
    if (t.privacy == "id" && !t.assertedIdentity)
      d.error(at(d, "trunks", i, "privacy"), "privacy id hides From, so the caller needs assertedIdentity: true "
                                             "(RFC 3325 section 9.3)");
    if (!t.dialPatterns.empty() && t.callerNumbers.empty())
      d.error(at(d, "trunks", i, "dialPatterns"), "a trunk that carries outbound calls needs callerNumbers to present");
  }
  for (size_t i = 0; i < c.skillGroups.size(); ++i) {
    validatePatterns(c.skillGroups[i].dialPatterns, d.item("skillGroups", i) + ".dialPatterns", d);
    validateNumbers(c.skillGroups[i].callerNumbers, d.item("skillGroups", i) + ".callerNumbers", d);
  }
  for (size_t i = 0; i < c.agents.size(); ++i)
    if (c.agents[i].dialPatterns) validatePatterns(*c.agents[i].dialPatterns, d.item("agents", i) + ".dialPatterns", d);
  for (size_t i = 0; i < c.extensions.size(); ++i)
    if (!c.extensions[i].locationNumber.empty() && !isPhoneNumber(c.extensions[i].locationNumber))
      d.error(at(d, "extensions", i, "locationNumber"), "'" + c.extensions[i].locationNumber + "' is not a phone number");
}

// RFC 4028 §5: Min-SE is never below 90 s (testMinSEFloor lowers that for
// tests only), and the interval we ask for is never below our own Min-SE.
void validateSessionTimers(const Calls& c, Diagnostics& d) {
  if (c.minSE < c.testMinSEFloor)
    d.error("calls.minSE", std::to_string(c.minSE) + " is below " + std::to_string(c.testMinSEFloor) +
                               " (RFC 4028 section 5: Min-SE is at least 90 seconds)");
  else if (c.sessionExpires != 0 && c.sessionExpires < c.minSE)
    d.error("calls.sessionExpires", std::to_string(c.sessionExpires) + " is below minSE " + std::to_string(c.minSE) +
                                        " (0 turns session timers off)");
}

}  // namespace

void validate(const Config& c, Diagnostics& d) {
  validateListen(c.sip, d);
  validateRegistrar(c.registrar, d);
  validateSecurity(c.security, d);
  if (!log::parseLevel(c.log.level))
    d.error("log.level", "'" + c.log.level + "' is not one of debug, info, warning, error");
  validateExtensions(c, d);
  validateAgents(c, d);
  validateRouting(c, d);
  validateSessionTimers(c.calls, d);
  validateOutbound(c, d);
}

}  // namespace sb::config::detail
