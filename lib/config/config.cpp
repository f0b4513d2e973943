#include "config/config.hpp"

#include <algorithm>

namespace sb::config {

namespace {
template <typename T, typename Key>
const T* findBy(const std::vector<T>& items, Key T::*member, const std::string& value) {
  auto it = std::find_if(items.begin(), items.end(), [&](const T& t) { return t.*member == value; });
  return it == items.end() ? nullptr : &*it;
}
}  // namespace

const Extension* Config::findExtension(const std::string& id) const { return findBy(extensions, &Extension::id, id); }
const Agent* Config::findAgent(const std::string& userId) const { return findBy(agents, &Agent::userId, userId); }
const SkillGroup* Config::findSkillGroup(const std::string& id) const {
  return findBy(skillGroups, &SkillGroup::id, id);
}

bool Outbound::isEmergency(const std::string& number) const {
  return std::find(emergencyNumbers.begin(), emergencyNumbers.end(), number) != emergencyNumbers.end();
}

std::string Diagnostic::str() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + (path.empty() ? "" : path + ": ") +
         message;
}

std::vector<std::string> restartOnlyDifferences(const Config& a, const Config& b) {
  std::vector<std::string> out;
  std::vector<std::string> la, lb;
  for (const auto& l : a.sip.listen) la.push_back(l.str());
  for (const auto& l : b.sip.listen) lb.push_back(l.str());
  if (la != lb) out.emplace_back("sip.listen");
  if (a.sip.testT1x64Ms != b.sip.testT1x64Ms) out.emplace_back("sip.testT1x64Ms");
  // sip.domain is not here: the registrar takes the new realm on reload
  // (SofiaRegistrar::applyConfig) and rebuilds its credentials for it.
  if (a.control.socket != b.control.socket) out.emplace_back("control.socket");
  if (a.control.mode != b.control.mode) out.emplace_back("control.mode");
  // The control server keeps the copy of `control` it was started with.
  if (a.control.allowedUids != b.control.allowedUids) out.emplace_back("control.allowedUids");
  if (a.metrics.listen.str() != b.metrics.listen.str()) out.emplace_back("metrics.listen");
  if (a.storage.path != b.storage.path) out.emplace_back("storage.path");
  // The media engine is built once, with its sockets and port range.
  if (a.media.mode != b.media.mode) out.emplace_back("media.mode");
  if (a.media.address != b.media.address || a.media.bindAddress != b.media.bindAddress)
    out.emplace_back("media.address");
  if (a.media.portLow != b.media.portLow || a.media.portHigh != b.media.portHigh) out.emplace_back("media.rtpPorts");
  if (a.media.rtpTimeoutSeconds != b.media.rtpTimeoutSeconds) out.emplace_back("media.rtpTimeoutSeconds");
  return out;
}

}  // namespace sb::config
