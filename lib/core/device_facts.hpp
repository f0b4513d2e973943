#pragma once
// Facts the registrar (sip/) reports to core/ about desk phones. They change the
// extension's device state; core/ turns them into gateway events and uses them for
// routing. Plain data: no SIP types cross into core/.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/clock.hpp"

namespace sb::core {

struct ContactInfo {
  std::string uri;        // the Contact URI as registered
  std::string source;     // "udp:203.0.113.5:5062": where the REGISTER really came from (NAT)
  std::string userAgent;  // the phone's User-Agent, may be empty
  int64_t expiresAtMs = 0;  // wall clock, ms since the epoch
  bool reachable = true;    // false after several missed OPTIONS keepalives
};

// The extension has at least one binding after a REGISTER (new, refreshed or
// changed), or after a restart restored its bindings from the store.
struct ExtensionRegistered {
  std::string extensionId;
  // Every current binding, for core/ to read while it applies the fact; core/ keeps
  // none of it (the registrar owns the bindings: SipServer::extensionContacts).
  std::vector<ContactInfo> contacts;
};

// The extension's last binding is gone (Expires 0, Contact *, or expiry).
struct ExtensionUnregistered {
  std::string extensionId;
  std::string reason;  // "unregistered", "expired"
};

// A contact missed `keepaliveMisses` OPTIONS in a row (or answered again: reachable=true).
struct ExtensionReachability {
  std::string extensionId;
  std::string contactUri;
  bool reachable = false;
  bool anyReachable = false;  // whether any binding of the extension is still reachable
};

// One of the above, as the registrar hands it to its owner's sink (on the SIP
// thread): `std::visit([&](const auto& f) { gateway.onFact(f, now); }, fact)`.
using DeviceFact = std::variant<ExtensionRegistered, ExtensionUnregistered, ExtensionReachability>;

}  // namespace sb::core
