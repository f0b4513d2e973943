// YAML to Config. Every key is checked for type and range where it is read;
// unknown and duplicate keys are reported at their own position. Nothing stops
// at the first error: the operator gets the whole list in one run.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>

#include "common/log.hpp"
#include "config/loader_internal.hpp"

namespace sb::config {
namespace detail {

Position Diagnostics::where(const std::string& path) const {
  std::string p = path;
  while (true) {
    if (auto it = positions_.find(p); it != positions_.end()) return it->second;
    const auto cut = p.find_last_of(".[");
    if (cut == std::string::npos || cut == 0) break;
    p.resize(cut);
  }
  // A missing top-level key: point at the start of the document itself.
  if (auto it = positions_.find(""); it != positions_.end()) return it->second;
  return {1, 1};
}

void Diagnostics::error(const std::string& path, std::string message) { errorAt(where(path), path, std::move(message)); }

void Diagnostics::errorAt(Position pos, const std::string& path, std::string message) {
  errors_.push_back(Diagnostic{file_, pos.line, pos.column, path, std::move(message)});
}

std::string Diagnostics::item(const std::string& list, size_t i) const {
  size_t fileIndex = i;
  if (auto it = items_.find(list); it != items_.end() && i < it->second.size()) fileIndex = it->second[i];
  return list + "[" + std::to_string(fileIndex) + "]";
}

std::vector<Diagnostic> Diagnostics::take() {
  // Sections are read in a fixed order and cross-key rules run last; the operator
  // reads the list against the file, so give it in the file's order.
  std::stable_sort(errors_.begin(), errors_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  return std::move(errors_);
}

}  // namespace detail

namespace {

using detail::Diagnostics;
using detail::Position;

Position posOf(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return {1, 1};
  return {m.line + 1, m.column + 1};
}

std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }
std::string index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

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

std::string resolvePath(const std::string& baseDir, const std::string& p) {
  if (p.empty()) return p;
  std::filesystem::path fp(p);
  if (fp.is_absolute()) return p;
  return (std::filesystem::path(baseDir) / fp).lexically_normal().string();
}

void readSip(const YAML::Node& n, Diagnostics& d, Sip& out) {
  Fields f(d, "sip");
  if (!f.open(n, {"listen", "domain", "testT1x64Ms"})) return;
  f.readList(
      "listen",
      [&](const YAML::Node& e, const std::string& p, size_t i) {
        std::string why;
        if (!e.IsScalar()) return d.error(p, "expected a string like udp:127.0.0.1:5060");
        if (auto la = parseListen(e.Scalar(), &why)) {
          out.listen.push_back(*la);
          d.recordItem("sip.listen", i);
        } else {
          d.error(p, why);
        }
      },
      true);
  if (f.has("listen") && f.get("listen").IsSequence() && f.get("listen").size() == 0)
    d.error("sip.listen", "needs at least one address");
  f.readString("domain", out.domain, true);
  f.readInt("testT1x64Ms", out.testT1x64Ms, 2000, 32000);
  if (!out.domain.empty() && !isValidHostname(out.domain) && !parseIp(out.domain))
    d.error("sip.domain", "'" + out.domain + "' is not a host name or IP address");
}

void readRegistrar(const YAML::Node& n, Diagnostics& d, Registrar& out) {
  Fields f(d, "registrar");
  if (!f.open(n, {"minExpires", "maxExpires", "defaultExpires", "maxContacts", "keepaliveSeconds"})) return;
  f.readInt("minExpires", out.minExpires, 1, 86400 * 7);
  f.readInt("maxExpires", out.maxExpires, 1, 86400 * 7);
  f.readInt("defaultExpires", out.defaultExpires, 1, 86400 * 7);
  f.readInt("maxContacts", out.maxContacts, 1, 100);
  f.readInt("keepaliveSeconds", out.keepaliveSeconds, 0, 3600);
}

void readSecurity(const YAML::Node& n, Diagnostics& d, Security& out) {
  Fields f(d, "security");
  if (!f.open(n, {"digestAlgorithms", "maxAuthFailures", "banSeconds"})) return;
  f.readStringList("digestAlgorithms", out.digestAlgorithms);
  f.readInt("maxAuthFailures", out.maxAuthFailures, 1, 1000000);
  f.readInt("banSeconds", out.banSeconds, 0, 86400 * 30);
}

void readControl(const YAML::Node& n, Diagnostics& d, Control& out, const std::string& baseDir) {
  Fields f(d, "control");
  if (!f.open(n, {"socket", "mode", "allowedUids"})) return;
  f.readString("socket", out.socket, true);
  out.socket = resolvePath(baseDir, out.socket);
  std::string mode;
  f.readString("mode", mode);
  if (!mode.empty()) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(mode.c_str(), &end, 8);
    if (*end != '\0' || v > 0777 || mode.find_first_not_of("01234567") != std::string::npos)
      d.error("control.mode", "'" + mode + "' is not an octal file mode like \"0660\"");
    else
      out.mode = static_cast<unsigned>(v);
  }
  f.readList("allowedUids", [&](const YAML::Node& e, const std::string& p, size_t) {
    try {
      const long long v = e.IsScalar() ? e.as<long long>() : -1;
      if (v < 0 || v > 4294967294LL) throw YAML::Exception(YAML::Mark(), "range");
      out.allowedUids.push_back(static_cast<unsigned>(v));
    } catch (const YAML::Exception&) {
      d.error(p, "expected a numeric uid");
    }
  });
}

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
                  "dialPatterns", "callerNumbers", "holdMusic"}))
    return;
  SkillGroup g;
  f.readString("holdMusic", g.holdMusic);
  f.readStringList("dialPatterns", g.dialPatterns);
  f.readStringList("callerNumbers", g.callerNumbers);
  f.readString("id", g.id, true);
  f.readString("name", g.name);
  f.readInt("ringTimeout", g.ringTimeout, 1, 3600);
  f.readInt("queueTimeout", g.queueTimeout, 1, 86400);
  f.readInt("afterCallWork", g.afterCallWork, 0, 86400);
  f.readInt("maxQueueLength", g.maxQueueLength, 0, 100000);
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

template <typename T>
void readSection(Fields& root, const char* key, std::vector<T>& out,
                 void (*each)(const YAML::Node&, const std::string&, Diagnostics&, std::vector<T>&)) {
  root.readList(key, [&](const YAML::Node& n, const std::string& p, size_t i) {
    const size_t before = out.size();
    each(n, p, root.diag(), out);
    if (out.size() > before) root.diag().recordItem(key, i);
  });
}

// media: {mode, address, bindAddress, rtpPorts: "LOW-HIGH", rtpTimeoutSeconds}
void readMedia(const YAML::Node& node, Diagnostics& d, Media& m) {
  Fields f(d, "media");
  if (!f.open(node, {"mode", "address", "bindAddress", "rtpPorts", "rtpTimeoutSeconds"})) return;
  std::string mode = "bypass";
  f.readString("mode", mode);
  if (mode == "anchored")
    m.mode = Media::Mode::anchored;
  else if (mode == "bypass")
    m.mode = Media::Mode::bypass;
  else
    d.error("media.mode", "'" + mode + "' is not one of anchored, bypass");
  for (auto [key, out] : {std::pair{"address", &m.address}, std::pair{"bindAddress", &m.bindAddress}}) {
    f.readString(key, *out);
    auto ip = out->empty() ? std::nullopt : parseIp(*out);
    // The engine speaks IPv4 (sockaddr_in); an IPv4-mapped form is what parseIp gives for one.
    const bool v4 = ip && std::equal(ip->begin(), ip->begin() + 10, std::array<uint8_t, 10>{}.begin()) &&
                    (*ip)[10] == 0xff && (*ip)[11] == 0xff;
    if (!out->empty() && !v4) d.error(std::string("media.") + key, "'" + *out + "' is not an IPv4 address");
  }
  std::string ports;
  f.readString("rtpPorts", ports);
  if (!ports.empty()) {
    unsigned lo = 0, hi = 0;
    char dash = 0;
    std::istringstream in(ports);
    if (!(in >> lo >> dash >> hi) || dash != '-' || !in.eof() || lo < 1024 || hi > 65534 || hi < lo + 1)
      d.error("media.rtpPorts", "'" + ports + "' is not LOW-HIGH with 1024 <= LOW < HIGH <= 65534");
    else {
      m.portLow = static_cast<uint16_t>(lo);
      m.portHigh = static_cast<uint16_t>(hi);
    }
  }
  f.readInt("rtpTimeoutSeconds", m.rtpTimeoutSeconds, 0, 3600);
}

// recording: {mode, path, format, retentionDays}
void readRecording(const YAML::Node& node, Diagnostics& d, Recording& r) {
  Fields f(d, "recording");
  if (!f.open(node, {"mode", "path", "format", "retentionDays"})) return;
  std::string mode = "never", format = "stereo";
  f.readString("mode", mode);
  if (mode == "never")
    r.mode = Recording::Mode::never;
  else if (mode == "always")
    r.mode = Recording::Mode::always;
  else if (mode == "onDemand")
    r.mode = Recording::Mode::onDemand;
  else
    d.error("recording.mode", "'" + mode + "' is not one of always, never, onDemand");
  f.readString("path", r.path);
  if (r.path.empty()) d.error("recording.path", "must name a folder");
  f.readString("format", format);
  if (format == "stereo" || format == "mono")
    r.stereo = format == "stereo";
  else
    d.error("recording.format", "'" + format + "' is not one of stereo, mono");
  f.readInt("retentionDays", r.retentionDays, 0, 36500);
}

void readRoot(const YAML::Node& doc, Diagnostics& d, Config& c) {
  Fields root(d, "");
  if (!root.open(doc, {"sip", "registrar", "security", "control", "metrics", "storage", "log", "shutdown",
                       "calls", "outbound", "media", "recording", "extensions", "agents", "skillGroups", "numbers", "trunks"}))
    return;
  if (root.has("sip")) readSip(root.get("sip"), d, c.sip); else root.required("sip");
  if (root.has("registrar")) readRegistrar(root.get("registrar"), d, c.registrar);
  if (root.has("security")) readSecurity(root.get("security"), d, c.security);
  if (root.has("control")) readControl(root.get("control"), d, c.control, c.baseDir); else root.required("control");
  if (root.has("metrics")) {
    Fields f(d, "metrics");
    if (f.open(root.get("metrics"), {"listen"})) readHostPort(f, "listen", c.metrics.listen, true);
  }
  if (root.has("storage")) {
    Fields f(d, "storage");
    if (f.open(root.get("storage"), {"path", "recordsRetentionDays"})) {
      f.readString("path", c.storage.path, true);
      f.readInt("recordsRetentionDays", c.storage.recordsRetentionDays, 1, 3650);
    }
    c.storage.path = resolvePath(c.baseDir, c.storage.path);
  } else {
    root.required("storage");
  }
  if (root.has("log")) {
    Fields f(d, "log");
    if (f.open(root.get("log"), {"level"})) f.readString("level", c.log.level);
  }
  if (root.has("shutdown")) {
    Fields f(d, "shutdown");
    if (f.open(root.get("shutdown"), {"drainSeconds"})) f.readInt("drainSeconds", c.shutdown.drainSeconds, 0, 3600);
  }
  if (root.has("calls")) {
    Fields f(d, "calls");
    if (f.open(root.get("calls"), {"maxMissedOffers", "maxSessionSeconds", "mobileConfirmSeconds", "sessionExpires",
                                   "minSE", "testMinSEFloor"})) {
      f.readInt("mobileConfirmSeconds", c.calls.mobileConfirmSeconds, 0, 120);
      f.readInt("maxMissedOffers", c.calls.maxMissedOffers, 0, 100);
      f.readInt("maxSessionSeconds", c.calls.maxSessionSeconds, 0, 7 * 86400);
      f.readInt("sessionExpires", c.calls.sessionExpires, 0, 86400);
      f.readInt("minSE", c.calls.minSE, 1, 86400);
      f.readInt("testMinSEFloor", c.calls.testMinSEFloor, 1, 90);
    }
  }
  if (root.has("outbound")) {
    Fields f(d, "outbound");
    if (f.open(root.get("outbound"), {"ringTimeout", "maxConcurrentPerExtension", "maxPerMinutePerExtension",
                                      "restrictedPrefixes", "emergencyNumbers"})) {
      f.readInt("ringTimeout", c.outbound.ringTimeout, 1, 600);
      f.readInt("maxConcurrentPerExtension", c.outbound.maxConcurrentPerExtension, 0, 1000);
      f.readInt("maxPerMinutePerExtension", c.outbound.maxPerMinutePerExtension, 0, 100000);
      f.readStringList("restrictedPrefixes", c.outbound.restrictedPrefixes);
      f.readStringList("emergencyNumbers", c.outbound.emergencyNumbers);
    }
  }
  if (root.has("media")) readMedia(root.get("media"), d, c.media);
  // The RTP sockets bind where SIP listens unless told otherwise; the SDP
  // names that address unless a NAT's public one is given.
  if (c.media.bindAddress.empty())
    for (const ListenAddr& l : c.sip.listen)
      if (!l.where.ipv6 && parseIp(l.where.host)) {
        c.media.bindAddress = l.where.host;
        break;
      }
  if (c.media.bindAddress.empty()) c.media.bindAddress = "0.0.0.0";
  if (c.media.address.empty() && c.media.bindAddress != "0.0.0.0") c.media.address = c.media.bindAddress;
  if (c.media.mode == Media::Mode::anchored && c.media.address.empty())
    d.error("media.address", "needed when the RTP sockets bind to 0.0.0.0: the address phones and trunks send RTP to");
  if (root.has("recording")) readRecording(root.get("recording"), d, c.recording);
  c.recording.path = resolvePath(c.baseDir, c.recording.path);
  if (c.recording.mode != Recording::Mode::never && c.media.mode != Media::Mode::anchored)
    d.error("recording.mode", "recording needs the call's audio relayed by seatbridge: media.mode anchored");
  readSection(root, "extensions", c.extensions, readExtension);
  readSection(root, "agents", c.agents, readAgent);
  readSection(root, "skillGroups", c.skillGroups, readSkillGroup);
  for (size_t i = 0; i < c.skillGroups.size(); ++i) {
    std::string& music = c.skillGroups[i].holdMusic;
    if (music.empty()) continue;
    music = resolvePath(c.baseDir, music);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(music, ec))
      d.error(d.item("skillGroups", i) + ".holdMusic", "no such file: " + music);
  }
  readSection(root, "numbers", c.numbers, readNumber);
  readSection(root, "trunks", c.trunks, readTrunk);
}

// yaml-cpp reports a tab in the indentation as whatever token it tripped over
// next ("illegal map value"); name the real cause when one precedes the error.
std::optional<Position> indentationTab(const std::string& text, int lastLine) {
  std::istringstream in(text);
  std::string line;
  for (int n = 1; n <= lastLine && std::getline(in, line); ++n) {
    const auto indent = line.find_first_not_of(" \t");
    const auto tab = line.find('\t');
    if (tab != std::string::npos && (indent == std::string::npos || tab < indent))
      return Position{n, static_cast<int>(tab) + 1};
  }
  return std::nullopt;
}

}  // namespace

LoadResult loadString(const std::string& text, const std::string& name, const std::string& baseDir) {
  Diagnostics diag(name);
  Config c;
  c.file = name;
  c.baseDir = baseDir;
  try {
    const YAML::Node doc = YAML::Load(text);
    if (!doc.IsDefined() || doc.IsNull())
      diag.errorAt({1, 1}, "", "the file is empty");
    else
      readRoot(doc, diag, c);
  } catch (const YAML::ParserException& e) {
    if (const auto tab = indentationTab(text, e.mark.line + 1))
      diag.errorAt(*tab, "", "YAML syntax: a tab in the indentation (YAML indents with spaces only)");
    else
      diag.errorAt({e.mark.line + 1, e.mark.column + 1}, "", "YAML syntax: " + e.msg);
  } catch (const YAML::Exception& e) {
    diag.errorAt({1, 1}, "", std::string("YAML: ") + e.what());
  }
  detail::validate(c, diag);
  LoadResult r;
  r.errors = diag.take();
  if (r.errors.empty()) r.config = std::move(c);
  return r;
}

LoadResult loadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    LoadResult r;
    r.errors.push_back(Diagnostic{path, 1, 1, "", "cannot read the file"});
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const auto abs = std::filesystem::absolute(path);
  return loadString(ss.str(), path, abs.parent_path().string());
}

}  // namespace sb::config
