// The lists of the configuration: extensions, agents, skill groups, numbers
// and trunks, one element at a time (loader.cpp reads the sections around them).
#include "config/address.hpp"
#include "config/fields.hpp"

namespace sb::config::detail {

void readHostPort(Fields& f, const char* key, HostPort& out, bool req) {
  std::string text;
  f.readString(key, text, req);
  if (text.empty()) return;
  std::string why;
  if (auto hp = parseHostPort(text, &why))
    out = *hp;
  else
    f.diag().error(join(f.path(), key), why);
}

void readExtension(const YAML::Node& n, const std::string& p, Diagnostics& d, std::vector<Extension>& out) {
  Fields f(d, p);
  if (!f.open(n, {"id", "name", "password", "ha1", "ha1Sha256", "locationNumber"})) return;
  Extension e;
  f.readString("locationNumber", e.locationNumber);
  f.readString("id", e.id, true);
  f.readString("name", e.name);
  f.readString("password", e.password);
  f.readString("ha1", e.ha1);
  f.readString("ha1Sha256", e.ha1Sha256);
  out.push_back(std::move(e));
}

void readAgent(const YAML::Node& n, const std::string& p, Diagnostics& d, std::vector<Agent>& out) {
  Fields f(d, p);
  if (!f.open(n, {"userId", "name", "extension", "mobile", "useMobileAccept", "skillGroups", "dialPatterns", "role",
                  "supervises"}))
    return;
  Agent a;
  std::string role = "agent";
  f.readString("role", role);
  if (role == "agent" || role == "supervisor")
    a.supervisor = role == "supervisor";
  else
    d.error(join(p, "role"), "'" + role + "' is not one of agent, supervisor");
  f.readStringList("supervises", a.supervises);
  if (f.has("dialPatterns")) {
    std::vector<std::string> patterns;
    f.readStringList("dialPatterns", patterns);
    a.dialPatterns = std::move(patterns);
  }
  f.readString("userId", a.userId, true);
  f.readString("name", a.name);
  f.readString("extension", a.extension);
  f.readString("mobile", a.mobile);
  f.readInt("useMobileAccept", a.useMobileAccept, 0, 2);
  f.readList("skillGroups", [&](const YAML::Node& e, const std::string& sp, size_t i) {
    Fields sf(d, sp);
    if (!sf.open(e, {"id", "priority"})) return;
    SkillRef ref;
    sf.readString("id", ref.id, true);
    sf.readInt("priority", ref.priority, 1, 5);
    a.skillGroups.push_back(std::move(ref));
    d.recordItem(join(p, "skillGroups"), i);
  });
  out.push_back(std::move(a));
}

void readSkillGroup(const YAML::Node& n, const std::string& p, Diagnostics& d, std::vector<SkillGroup>& out) {
  Fields f(d, p);
  if (!f.open(n, {"id", "name", "ringTimeout", "queueTimeout", "afterCallWork", "maxQueueLength", "overflowTo",
                  "serviceLevelSeconds", "dialPatterns", "callerNumbers", "holdMusic", "queueMusic"}))
    return;
  SkillGroup g;
  f.readString("holdMusic", g.holdMusic);
  f.readString("queueMusic", g.queueMusic);
  f.readStringList("dialPatterns", g.dialPatterns);
  f.readStringList("callerNumbers", g.callerNumbers);
  f.readString("id", g.id, true);
  f.readString("name", g.name);
  f.readInt("ringTimeout", g.ringTimeout, 1, 3600);
  f.readInt("queueTimeout", g.queueTimeout, 1, 86400);
  f.readInt("afterCallWork", g.afterCallWork, 0, 86400);
  f.readInt("maxQueueLength", g.maxQueueLength, 0, 100000);
  f.readInt("serviceLevelSeconds", g.serviceLevelSeconds, 1, 3600);
  f.readString("overflowTo", g.overflowTo);
  out.push_back(std::move(g));
}

void readNumber(const YAML::Node& n, const std::string& p, Diagnostics& d, std::vector<Number>& out) {
  Fields f(d, p);
  if (!f.open(n, {"number", "skillGroup"})) return;
  Number num;
  f.readString("number", num.number, true);
  f.readString("skillGroup", num.skillGroup, true);
  out.push_back(std::move(num));
}

void readTrunk(const YAML::Node& n, const std::string& p, Diagnostics& d, std::vector<Trunk>& out) {
  Fields f(d, p);
  if (!f.open(n, {"name", "address", "transport", "inboundFrom", "callerNumbers", "register", "pingSeconds", "maxCalls",
                  "maxCallsPerSecond", "dialPatterns", "assertedIdentity", "privacy"}))
    return;
  Trunk t;
  f.readStringList("dialPatterns", t.dialPatterns);
  f.readBool("assertedIdentity", t.assertedIdentity);
  f.readString("privacy", t.privacy);
  if (t.privacy != "none" && t.privacy != "id") d.error(join(p, "privacy"), "'" + t.privacy + "' is not none or id");
  f.readString("name", t.name, true);
  readHostPort(f, "address", t.address, true);
  f.readString("transport", t.transport);
  if (t.transport != "udp" && t.transport != "tcp")
    d.error(join(p, "transport"), "'" + t.transport + "' is not udp or tcp");
  f.readList("inboundFrom", [&](const YAML::Node& e, const std::string& ep, size_t) {
    std::string why;
    if (!e.IsScalar()) return d.error(ep, "expected a CIDR like 127.0.0.2/32");
    if (auto c = parseCidr(e.Scalar(), &why))
      t.inboundFrom.push_back(*c);
    else
      d.error(ep, why);
  });
  f.readStringList("callerNumbers", t.callerNumbers);
  f.readInt("pingSeconds", t.pingSeconds, 0, 3600);
  f.readInt("maxCalls", t.maxCalls, 0, 100000);
  f.readInt("maxCallsPerSecond", t.maxCallsPerSecond, 0, 10000);
  if (f.has("register")) {
    Fields rf(d, join(p, "register"));
    if (rf.open(f.get("register"), {"username", "password", "expires"})) {
      TrunkRegister r;
      rf.readString("username", r.username);
      rf.readString("password", r.password);
      rf.readInt("expires", r.expires, 60, 86400);
      if (!r.username.empty()) t.registration = r;
    }
  }
  out.push_back(std::move(t));
}

}  // namespace sb::config::detail
