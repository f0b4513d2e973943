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
#include "config/fields.hpp"

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

using namespace detail;  // Fields and the list readers (fields.hpp)

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
    SkillGroup& g = c.skillGroups[i];
    for (auto [key, music] : {std::pair{".holdMusic", &g.holdMusic}, std::pair{".queueMusic", &g.queueMusic}}) {
      if (music->empty()) continue;
      *music = resolvePath(c.baseDir, *music);
      std::error_code ec;
      if (!std::filesystem::is_regular_file(*music, ec))
        d.error(d.item("skillGroups", i) + key, "no such file: " + *music);
    }
    if (!g.queueMusic.empty() && c.media.mode != Media::Mode::anchored)
      d.error(d.item("skillGroups", i) + ".queueMusic",
              "queue music is played by seatbridge into the call's audio: it needs media.mode anchored");
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
