#pragma once
// The control socket's method table, declared once: every method with its
// parameters, help and handler. Dispatch, validation, seatbridgectl's `call` and
// docs/PROTOCOL.md all come from it.
#include "control/method_table.hpp"
#include "control/protocol_doc.hpp"

namespace sb::host {
class CoreHost;
}

namespace sb::daemon {

// `bridge` may be null when the table is only rendered (docs); its handlers are
// then never called.
control::MethodTable buildMethodTable(host::CoreHost* bridge);

// Parts of the table, one file each.
void addClientMethods(control::MethodTable& table, host::CoreHost* bridge);
void addGatewayMethods(control::MethodTable& table, host::CoreHost* bridge);
void addAgentMethods(control::MethodTable& table, host::CoreHost* bridge);
void addCallMethods(control::MethodTable& table, host::CoreHost* bridge);

// The whole document: the table plus the event catalogue and domain errors.
control::ProtocolDoc protocolDoc(const control::MethodTable& table);

}  // namespace sb::daemon
