#pragma once
// Desk-phone lines (staffExtensionSeat) and their device state, fed by the
// registrar's facts (device_facts.hpp): registered or not, reachable or not,
// offline / idle / busy, and the agent bound to the line. Every configured
// extension has an entry from the start (offline until it registers).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/device_facts.hpp"
#include "core/directory.hpp"
#include "core/outputs.hpp"
#include "core/vocabulary.hpp"

namespace sb::core {

// What device state needs of a line, and no more: the registrar (sip/) owns the
// bindings themselves, and a copy here per desk phone cost memory for nothing.
struct ExtensionState {
  std::string extensionId;
  std::string name;
  std::string boundUserId;  // empty: no agent uses this line
  bool registered = false;
  bool reachable = false;  // some binding answers keepalives (false when unregistered)
  int callCount = 0;       // live calls on the line; > 0 makes it busy
  int contactCount = 0;    // bindings the registrar holds (0 when unregistered)
  // bindingsFingerprint() of the bindings last applied: tells a moved phone from a refresh.
  uint64_t bindingsFingerprint = 0;

  DeviceState deviceState() const;
  // A Gateway.listExtensions row without `contacts`: the daemon adds them from the
  // registrar, which owns them.
  nlohmann::json toJson() const;
};

// A 64-bit digest of what makes bindings differ for events: each contact's URI, NAT
// source and User-Agent, in order (not expiry, not reachability). Equal bindings
// give equal digests; unequal ones collide with odds of about 2^-64, which would
// only leave one extensionRegistered unsent.
uint64_t bindingsFingerprint(const std::vector<ContactInfo>& contacts);

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
