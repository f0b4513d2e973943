#pragma once
// The part of the configuration core/ works from: agents, desk-phone extensions
// and skill groups, as plain config structs (no yaml-cpp here). Secrets are
// dropped on the way in: core/ never needs a password or HA1.
#include <string>
#include <vector>

#include "config/config.hpp"

namespace sb::core {

struct Directory {
  std::vector<config::Agent> agents;
  std::vector<config::Extension> extensions;  // password/ha1/ha1Sha256 cleared
  std::vector<config::SkillGroup> skillGroups;
  std::vector<config::Number> numbers;      // inbound numbers -> skill group
  std::vector<std::string> trunks;          // trunk names, in configuration order (no credentials)
  config::Calls calls;                      // missed-offer and lifetime bounds
  config::Outbound outbound;                // the toll-fraud guard's limits, emergency numbers
  // Each trunk's outbound side (dial patterns, caller numbers, presentation),
  // in configuration order; registration credentials cleared.
  std::vector<config::Trunk> trunkConfigs;
  // media.mode anchored: the audio goes through seatbridge, so the methods on
  // it (mute, ...) can work.
  bool mediaAnchored = false;
  config::Recording recording;  // mode, folder, format (recording.*)

  static Directory fromConfig(const config::Config& config);

  const config::Agent* findAgent(const std::string& userId) const;
  const config::Extension* findExtension(const std::string& id) const;
  const config::SkillGroup* findSkillGroup(const std::string& id) const;
  const config::Number* findNumber(const std::string& number) const;
  // The agent bound to a desk phone, or nullptr (an extension may be unbound).
  const config::Agent* agentForExtension(const std::string& extensionId) const;
  const config::Trunk* findTrunk(const std::string& name) const;
};

}  // namespace sb::core
