#include "core/directory.hpp"

namespace sb::core {

Directory Directory::fromConfig(const config::Config& config) {
  Directory d;
  d.agents = config.agents;
  d.skillGroups = config.skillGroups;
  d.extensions = config.extensions;
  d.numbers = config.numbers;
  d.calls = config.calls;
  d.outbound = config.outbound;
  d.mediaAnchored = config.media.mode == config::Media::Mode::anchored;
  d.recording = config.recording;
  for (const auto& t : config.trunks) {
    d.trunks.push_back(t.name);
    d.trunkConfigs.push_back(t);
    d.trunkConfigs.back().registration.reset();
  }
  for (auto& e : d.extensions) {
    e.password.clear();
    e.ha1.clear();
    e.ha1Sha256.clear();
  }
  return d;
}

const config::Agent* Directory::findAgent(const std::string& userId) const {
  for (const auto& a : agents)
    if (a.userId == userId) return &a;
  return nullptr;
}

const config::Extension* Directory::findExtension(const std::string& id) const {
  for (const auto& e : extensions)
    if (e.id == id) return &e;
  return nullptr;
}

const config::SkillGroup* Directory::findSkillGroup(const std::string& id) const {
  for (const auto& g : skillGroups)
    if (g.id == id) return &g;
  return nullptr;
}

const config::Number* Directory::findNumber(const std::string& number) const {
  for (const auto& n : numbers)
    if (n.number == number) return &n;
  return nullptr;
}

const config::Agent* Directory::agentForExtension(const std::string& extensionId) const {
  if (extensionId.empty()) return nullptr;
  for (const auto& a : agents)
    if (a.extension == extensionId) return &a;
  return nullptr;
}

const config::Trunk* Directory::findTrunk(const std::string& name) const {
  for (const auto& t : trunkConfigs)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace sb::core
