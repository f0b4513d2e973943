#pragma once
// The registrar's bindings in the store, so that a restart keeps every unexpired
// registration (table `bindings`, schema version 2). The SIP thread calls these
// from a timer, in batches, never while answering a REGISTER.
#include <cstdint>
#include <string>
#include <vector>

namespace sb::store {

class Store;

struct StoredBinding {
  std::string extension;
  std::string key;  // the contact URI in comparable form
  std::string uri;
  std::string source;  // "udp:IP:PORT" the REGISTER came from
  std::string userAgent;
  std::string callId;
  uint32_t cseq = 0;
  int64_t expiresAtMs = 0;  // wall clock
  int64_t updatedAtMs = 0;
};

// Every binding that has not expired at `nowMs`; expired rows are deleted.
std::vector<StoredBinding> loadBindings(Store& store, int64_t nowMs);
// In one transaction, makes the stored bindings of each of `extensions` equal to
// those rows of `rows` that belong to it. Throws std::runtime_error on failure.
void replaceBindings(Store& store, const std::vector<std::string>& extensions, const std::vector<StoredBinding>& rows);

}  // namespace sb::store
