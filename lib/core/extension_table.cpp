#include "core/extension_table.hpp"

#include <algorithm>

namespace sb::core {
namespace {

nlohmann::json contactsJson(const std::vector<ContactInfo>& contacts) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& c : contacts) {
    arr.push_back({{"uri", c.uri},
                   {"source", c.source},
                   {"userAgent", c.userAgent},
                   {"expiresAt", c.expiresAtMs},
                   {"reachable", c.reachable}});
  }
  return arr;
}

// Bindings differ for event purposes when a phone moved (URI or NAT source) or was
// swapped (User-Agent); a refresh only moves expiresAt and stays silent.
bool sameBindings(const std::vector<ContactInfo>& a, const std::vector<ContactInfo>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const ContactInfo& x, const ContactInfo& y) {
    return x.uri == y.uri && x.source == y.source && x.userAgent == y.userAgent;
  });
}

bool anyReachable(const std::vector<ContactInfo>& contacts) {
  return std::any_of(contacts.begin(), contacts.end(), [](const ContactInfo& c) { return c.reachable; });
}

}  // namespace

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
          {"deviceState", toString(deviceState())},
          {"contacts", contactsJson(contacts)}};
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
      s.contacts = std::move(old->second.contacts);
    }
    next.emplace(e.id, std::move(s));
  }
  extensions_ = std::move(next);
}

Event ExtensionTable::makeEvent(std::string_view name, const ExtensionState& ext) const {
  Event e;
  e.name = std::string(name);
  e.data = {{"extensionId", ext.extensionId},
            {"contacts", contactsJson(ext.contacts)},
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
  const bool changed = !wasRegistered || !sameBindings(ext.contacts, fact.contacts);
  ext.registered = true;
  ext.contacts = fact.contacts;
  ext.reachable = anyReachable(ext.contacts);
  if (changed) out.events.push_back(makeEvent(event::extensionRegistered, ext));
  if (wasRegistered && wasReachable != ext.reachable)
    out.events.push_back(makeEvent(ext.reachable ? event::extensionReachable : event::extensionUnreachable, ext));
  return out;
}

Outputs ExtensionTable::apply(const ExtensionUnregistered& fact) {
  Outputs out;
  auto it = extensions_.find(fact.extensionId);
  if (it == extensions_.end() || !it->second.registered) return out;
  ExtensionState& ext = it->second;
  ext.registered = false;
  ext.reachable = false;
  ext.contacts.clear();
  Event e = makeEvent(event::extensionUnregistered, ext);
  e.data["reason"] = fact.reason;
  out.events.push_back(std::move(e));
  return out;
}

Outputs ExtensionTable::apply(const ExtensionReachability& fact) {
  Outputs out;
  auto it = extensions_.find(fact.extensionId);
  if (it == extensions_.end() || !it->second.registered) return out;
  ExtensionState& ext = it->second;
  for (auto& c : ext.contacts)
    if (c.uri == fact.contactUri) c.reachable = fact.reachable;
  // The registrar's aggregate is authoritative: it may know bindings better.
  const bool was = ext.reachable;
  ext.reachable = fact.anyReachable;
  if (was != ext.reachable)
    out.events.push_back(makeEvent(ext.reachable ? event::extensionReachable : event::extensionUnreachable, ext));
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
