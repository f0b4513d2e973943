#include "core/extension_table.hpp"

#include <algorithm>
#include <string_view>

namespace sb::core {
namespace {

bool anyReachable(const std::vector<ContactInfo>& contacts) {
  return std::any_of(contacts.begin(), contacts.end(), [](const ContactInfo& c) { return c.reachable; });
}

}  // namespace

uint64_t bindingsFingerprint(const std::vector<ContactInfo>& contacts) {
  // FNV-1a: a few lines and no dependency. Not collision-resistant against a chosen
  // input, which is fine here: only an authenticated phone picks these strings, and
  // a collision would only hide its own move. Each field goes in with its length
  // first, so ("ab", "c") and ("a", "bc") differ.
  constexpr uint64_t kPrime = 1099511628211ULL;
  uint64_t h = 14695981039346656037ULL;
  auto mix = [&h](std::string_view s) {
    for (uint64_t n = s.size(), i = 0; i < 8; ++i, n >>= 8) h = (h ^ (n & 0xff)) * kPrime;
    for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * kPrime;
  };
  for (const auto& c : contacts) {
    mix(c.uri);
    mix(c.source);
    mix(c.userAgent);
  }
  return h;
}

DeviceState ExtensionState::deviceState() const {
  if (!registered) return DeviceState::offline;
  return callCount > 0 ? DeviceState::busy : DeviceState::idle;
}

nlohmann::json ExtensionState::toJson() const {
  return {{"extensionId", extensionId},
          {"name", name},
          {"userId", boundUserId.empty() ? nlohmann::json(nullptr) : nlohmann::json(boundUserId)},
          {"registered", registered},
          {"reachable", reachable},
          {"deviceState", toString(deviceState())}};
}

ExtensionState ExtensionTable::fresh(const config::Extension& e, const Directory& directory) {
  ExtensionState s;
  s.extensionId = e.id;
  s.name = e.name;
  if (const config::Agent* a = directory.agentForExtension(e.id)) s.boundUserId = a->userId;
  return s;
}

ExtensionTable::ExtensionTable(const Directory& directory) {
  for (const auto& e : directory.extensions) extensions_.emplace(e.id, fresh(e, directory));
}

void ExtensionTable::reconfigure(const Directory& directory) {
  std::map<std::string, ExtensionState> next;
  for (const auto& e : directory.extensions) {
    ExtensionState s = fresh(e, directory);
    auto old = extensions_.find(e.id);
    if (old != extensions_.end()) {
      s.registered = old->second.registered;
      s.reachable = old->second.reachable;
      s.callCount = old->second.callCount;
      s.contactCount = old->second.contactCount;
      s.bindingsFingerprint = old->second.bindingsFingerprint;
    }
    next.emplace(e.id, std::move(s));
  }
  extensions_ = std::move(next);
}

Event ExtensionTable::makeEvent(std::string_view name, const ExtensionState& ext) const {
  Event e;
  e.name = std::string(name);
  // Lean on purpose: the control socket keeps every event for Client.resume, and
  // with the contacts spelled out (~560 bytes a line) these were the largest cost
  // per registered phone outside the registrar. Gateway.listExtensions has them.
  e.data = {{"extensionId", ext.extensionId},
            {"contactCount", ext.contactCount},
            {"registered", ext.registered},
            {"reachable", ext.reachable},
            {"deviceState", toString(ext.deviceState())}};
  // The bound agent's subscribers see their own phone's state changes too.
  if (!ext.boundUserId.empty()) {
    e.userId = ext.boundUserId;
    e.data["userId"] = ext.boundUserId;
  }
  return e;
}

Outputs ExtensionTable::apply(const ExtensionRegistered& fact) {
  Outputs out;
  auto it = extensions_.find(fact.extensionId);
  if (it == extensions_.end()) return out;
  ExtensionState& ext = it->second;
  if (fact.contacts.empty()) return apply(ExtensionUnregistered{fact.extensionId, "unregistered"});
  const bool wasRegistered = ext.registered;
  const bool wasReachable = ext.reachable;
  // Bindings differ for event purposes when a phone moved (URI or NAT source) or was
  // swapped (User-Agent); a refresh only moves expiry and stays silent.
  const int count = static_cast<int>(fact.contacts.size());
  const uint64_t fingerprint = bindingsFingerprint(fact.contacts);
  const bool changed = !wasRegistered || count != ext.contactCount || fingerprint != ext.bindingsFingerprint;
  ext.registered = true;
  ext.contactCount = count;
  ext.bindingsFingerprint = fingerprint;
  ext.reachable = anyReachable(fact.contacts);
  if (changed) out.push(makeEvent(event::extensionRegistered, ext));
  if (wasRegistered && wasReachable != ext.reachable)
    out.push(makeEvent(ext.reachable ? event::extensionReachable : event::extensionUnreachable, ext));
  return out;
}

Outputs ExtensionTable::apply(const ExtensionUnregistered& fact) {
  Outputs out;
  auto it = extensions_.find(fact.extensionId);
  if (it == extensions_.end() || !it->second.registered) return out;
  ExtensionState& ext = it->second;
  ext.registered = false;
  ext.reachable = false;
  ext.contactCount = 0;
  ext.bindingsFingerprint = 0;
  Event e = makeEvent(event::extensionUnregistered, ext);
  e.data["reason"] = fact.reason;
  out.push(std::move(e));
  return out;
}

Outputs ExtensionTable::apply(const ExtensionReachability& fact) {
  Outputs out;
  auto it = extensions_.find(fact.extensionId);
  if (it == extensions_.end() || !it->second.registered) return out;
  ExtensionState& ext = it->second;
  // The registrar's aggregate is all the line's state needs (it keeps each
  // contact's own flag, for Gateway.listExtensions).
  const bool was = ext.reachable;
  ext.reachable = fact.anyReachable;
  if (was != ext.reachable)
    out.push(makeEvent(ext.reachable ? event::extensionReachable : event::extensionUnreachable, ext));
  return out;
}

void ExtensionTable::callStarted(const std::string& extensionId) {
  auto it = extensions_.find(extensionId);
  if (it != extensions_.end()) ++it->second.callCount;
}

void ExtensionTable::callEnded(const std::string& extensionId) {
  auto it = extensions_.find(extensionId);
  if (it != extensions_.end() && it->second.callCount > 0) --it->second.callCount;
}

const ExtensionState* ExtensionTable::find(const std::string& extensionId) const {
  auto it = extensions_.find(extensionId);
  return it == extensions_.end() ? nullptr : &it->second;
}

std::vector<const ExtensionState*> ExtensionTable::list() const {
  std::vector<const ExtensionState*> out;
  out.reserve(extensions_.size());
  for (const auto& [id, s] : extensions_) out.push_back(&s);
  return out;
}

size_t ExtensionTable::registeredCount() const {
  return static_cast<size_t>(
      std::count_if(extensions_.begin(), extensions_.end(), [](const auto& kv) { return kv.second.registered; }));
}

}  // namespace sb::core
