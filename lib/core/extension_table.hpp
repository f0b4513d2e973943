#pragma once
// Desk-phone lines (staffExtensionSeat) and their device state, fed by the
// registrar's facts (device_facts.hpp): registered or not, reachable or not,
// offline / idle / busy, and the agent bound to the line. Every configured
// extension has an entry from the start (offline until it registers).
#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/device_facts.hpp"
#include "core/directory.hpp"
#include "core/outputs.hpp"
#include "core/vocabulary.hpp"

namespace sb::core {

struct ExtensionState {
  std::string extensionId;
  std::string name;
  std::string boundUserId;  // empty: no agent uses this line
  bool registered = false;
  bool reachable = false;   // some binding answers keepalives (false when unregistered)
  int callCount = 0;        // live calls on the line; > 0 makes it busy
  std::vector<ContactInfo> contacts;

  DeviceState deviceState() const;
  nlohmann::json toJson() const;  // Gateway.listExtensions row
};

class ExtensionTable {
 public:
  explicit ExtensionTable(const Directory& directory);

  // Each returns the gateway events the fact causes (possibly none: a refresh
  // that changes no binding is silent, so periodic re-REGISTERs make no noise).
  // Facts about extensions not in the configuration are ignored.
  Outputs apply(const ExtensionRegistered& fact);
  Outputs apply(const ExtensionUnregistered& fact);
  Outputs apply(const ExtensionReachability& fact);

  // A reloaded directory: lines that stay keep their registration and calls (with
  // the new name and bound agent); new lines start offline; removed lines go.
  void reconfigure(const Directory& directory);

  // Call hooks for later issues: a call on this line started / ended.
  void callStarted(const std::string& extensionId);
  void callEnded(const std::string& extensionId);

  const ExtensionState* find(const std::string& extensionId) const;
  std::vector<const ExtensionState*> list() const;  // by extension id
  size_t registeredCount() const;

 private:
  static ExtensionState fresh(const config::Extension& e, const Directory& directory);
  Event makeEvent(std::string_view name, const ExtensionState& ext) const;

  std::map<std::string, ExtensionState> extensions_;
};

}  // namespace sb::core
