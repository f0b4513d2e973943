// The events the control socket emits and the errors the domain answers, as data
// for docs/PROTOCOL.md. Event names come from core/vocabulary.hpp.
#include "core/errors.hpp"
#include "core/vocabulary.hpp"
#include "daemon/gateway_methods.hpp"

namespace sb::daemon {

namespace {

std::string n(std::string_view name) { return std::string(name); }

// No contacts: every event is kept for Client.resume, so they stay small;
// Gateway.listExtensions has the contacts.
const std::string kExtensionFields =
    "`extensionId`, `userId` (the bound agent), `registered`, `reachable`, `deviceState` "
    "(offline, idle, busy), `contactCount` (the line's bindings; Gateway.listExtensions lists them)";

std::vector<control::EventDoc> events() {
  namespace ev = core::event;
  return {
      {"ready", "no", "`tabUUID`", "First line on every connection; takes no seq (its `seq` is the last emitted)."},
      {"eventsDropped", "no", "`fromSeq`, `toSeq`, `count`",
       "This connection's queue overflowed and it missed events; sent once it drains, before newer events. Its "
       "`seq` is `toSeq`. Per connection."},
      {n(ev::statusChanged), "yes", "`status` (offline, free, busy, arrange, notReady, rest), `restReason` with rest",
       "The agent's status changed (Agent.*, a call starting or ending, wrap-up ending)."},
      {n(ev::extensionRegistered), "when the line is bound", kExtensionFields,
       "A desk phone registered, or its bindings changed: a binding more or fewer, or another contact URI, NAT "
       "source or User-Agent (a refresh that only extends expiry is silent)."},
      {n(ev::extensionUnregistered), "when the line is bound", kExtensionFields + ", `reason` (unregistered, expired)",
       "The extension's last binding went away."},
      {n(ev::extensionUnreachable), "when the line is bound", kExtensionFields,
       "No binding of the extension answers keepalive OPTIONS any more."},
      {n(ev::extensionReachable), "when the line is bound", kExtensionFields, "A binding answers keepalives again."},
      {n(ev::callIn), "yes", "as in the SDK (#32, #36)", "Later release: a session is offered to the agent."},
      {n(ev::userAccessed), "yes", "`sessionId`, `tabUUID`", "Later release: the agent answered."},
      {n(ev::autoTransfer), "yes", "`sessionId`", "Later release: the offer timed out and moved on."},
      {n(ev::sessionEnded), "yes", "`sessionId`, `closeBy`, `mainReason`, `subReason`", "Later release: the session is over."},
      {n(ev::callOuted), "yes", "`sessionId`, `callerPhoneNumber`, `calleePhoneNumber`, `serverType`, `tabUUID`",
       "Later release: an outbound call was launched."},
      {n(ev::calloutAccepted), "yes", "`sessionId`", "Later release: the customer answered an outbound call."},
      {n(ev::transfer), "yes", "`sessionId`, `skillGroupId`, `userId`", "Later release: a transfer completed."},
  };
}

std::vector<control::errc::ErrorDoc> domainErrors() {
  namespace e = core::errc;
  return {
      {e::agentOffline, "The agent is signed out: Agent.online first."},
      {e::invalidStatus, "Not a status Agent.setStatus accepts."},
      {e::invalidTransition, "The status change is not possible from the current status (e.g. stopNotReady when "
                             "not notReady)."},
      {e::sessionNotEnded, "Call.deleteCall on a session that is still live."},
      {e::extensionNotFound, "No configured extension has that id."},
  };
}

}  // namespace

control::ProtocolDoc protocolDoc(const control::MethodTable& table) {
  control::ProtocolDoc doc;
  doc.methods = &table;
  doc.events = events();
  doc.domainErrors = domainErrors();
  return doc;
}

}  // namespace sb::daemon
