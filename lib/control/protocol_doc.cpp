#include "control/protocol_doc.hpp"

#include <cctype>
#include <sstream>

namespace sb::control {
namespace {

std::string kib(size_t bytes) {
  if (bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MiB";
  if (bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

void intro(std::ostream& o) {
  o << "# seatbridge control protocol\n\n"
       "<!-- Generated from the daemon's method table and event catalogue by `seatbridge-protocol-doc`\n"
       "     (build target `protocol-doc`). Do not edit by hand: a test compares this file with the table. -->\n\n"
       "The control socket is a local Unix stream socket (`control.socket`, file mode `control.mode`).\n"
       "It speaks the vocabulary of the contact-centre agent SDK: the SDK's method and event names\n"
       "and payload fields, one JSON object per line. `seatbridgectl` is a client of this protocol.\n"
       "The SDK's `Chat.*` and `Video.*` methods and its browser `settings` are not served by a SIP\n"
       "voice gateway and are unknown methods here.\n\n"
       "## Connecting\n\n"
       "- The daemon checks each peer's uid (`SO_PEERCRED`) against `control.allowedUids`; an empty\n"
       "  list allows the daemon's own uid and root. A refused peer reads one error line\n"
       "  (`notPermitted`) and the connection is closed; the file mode already keeps other users out.\n"
       "- Over the client limit, a new connection reads one `tooManyClients` error line and is closed.\n\n"
       "## Framing\n\n"
       "- Every message in both directions is one JSON object on one line, ended by `\\n` (a `\\r`\n"
       "  before it is ignored; empty lines are ignored). Text is UTF-8.\n"
       "- A request line longer than the line limit is answered `lineTooLong` (`id` null) and\n"
       "  discarded up to its newline; the connection stays usable.\n"
       "- A line that is not a JSON object is answered `badRequest` (`id` null); the connection stays\n"
       "  usable and no other connection or call is affected.\n\n"
       "## ready\n\n"
       "On connect the server sends, before anything else:\n\n"
       "```json\n{\"event\":\"ready\",\"seq\":41,\"data\":{\"tabUUID\":\"2f1c5e0a-9a57-4f7e-8f43-0b8d7e6f2c11\"}}\n```\n\n"
       "`tabUUID` is a random UUID naming this connection (as the SDK names a browser tab); events\n"
       "caused by this connection (e.g. `userAccessed`) carry it. `seq` is the last event seq emitted\n"
       "so far: the next event any client can see has a larger seq. `ready` itself takes no seq.\n\n";
}

void requests(std::ostream& o) {
  o << "## Requests and answers\n\n"
       "```json\n{\"id\":7,\"method\":\"Agent.setStatus\",\"params\":{\"userId\":\"alice@example.com\",\"status\":\"free\"}}\n"
       "{\"id\":7,\"status\":\"success\",\"data\":{\"userId\":\"alice@example.com\",\"status\":\"free\"}}\n"
       "{\"id\":8,\"status\":\"error\",\"errorCode\":\"sessionNotFound\",\"errorMsg\":\"no session 'x'\"}\n```\n\n"
       "- `id` is any JSON value and comes back unchanged in the answer; `params` is an object and may\n"
       "  be left out when the method takes none. A `null` parameter counts as absent.\n"
       "- Requests on one connection are answered in order of completion; match answers by `id`.\n"
       "- Parameters are checked against the method's declaration below before anything runs:\n"
       "  unknown method, unknown parameter, missing required parameter, wrong type and a value outside\n"
       "  the allowed set each have their own `errorCode`.\n"
       "- A method marked *for an agent* takes `userId`. After `Client.login` the connection's agent\n"
       "  is the default and naming another agent is refused (`userMismatch`).\n"
       "- Events a request causes are written before its answer on the same connection.\n\n";
}

void errors(std::ostream& o, const ProtocolDoc& doc) {
  o << "## Errors\n\n| errorCode | Meaning |\n|---|---|\n";
  for (const auto& e : errc::controlErrors()) o << "| `" << e.code << "` | " << e.meaning << " |\n";
  for (const auto& e : doc.domainErrors) o << "| `" << e.code << "` | " << e.meaning << " |\n";
  o << "\n";
}

void events(std::ostream& o, const ProtocolDoc& doc) {
  o << "## Events\n\n"
       "```json\n{\"event\":\"statusChanged\",\"seq\":1042,\"userId\":\"alice@example.com\",\"data\":{\"status\":\"rest\",\"restReason\":\"Meal\"}}\n```\n\n"
       "- `seq` rises by exactly one for every event the daemon emits, whoever receives it. A\n"
       "  connection subscribed to some agents only sees gaps where other agents' events were (and\n"
       "  one without `queues` where queueChanged events were): a gap is not a loss. Losses are\n"
       "  always announced with `eventsDropped`.\n"
       "- Seqs keep rising across daemon restarts: a run numbers its events after its start time in\n"
       "  milliseconds times 1000 (below 2^53, so exact in any JSON reader). They are ordinal numbers,\n"
       "  not timestamps: within a run they rise by one.\n"
       "- `userId` names the agent the event concerns; gateway events without an agent have none.\n"
       "- `data` holds the SDK's payload fields under the SDK's names.\n"
       "- A connection receives numbered events only once it has a subscription (`Client.subscribe`,\n"
       "  or `Client.login`, which subscribes to its own agent when there is no subscription yet).\n"
       "  `{\"all\":true}` receives everything; `{\"userIds\":[...]}` receives those agents' events.\n"
       "  Gateway events without a `userId` go to `all` subscribers only. `queueChanged` goes only to\n"
       "  connections that subscribed with `queues: true` (beside `all` or `userIds`, or alone).\n\n"
       "| Event | userId | data | When |\n|---|---|---|---|\n";
  for (const auto& e : doc.events)
    o << "| `" << e.name << "` | " << e.userId << " | " << e.fields << " | " << e.when << " |\n";
  o << "\n";
}

void resumeAndBackpressure(std::ostream& o, const ProtocolDoc& doc) {
  const Limits& l = doc.limits;
  o << "## Resume\n\n"
       "The daemon keeps the last " << l.historyEvents << " events (at most " << (l.historyBytes >> 20) << " MiB of them). After a reconnect, a client subscribes\n"
       "again and calls `Client.resume {\"fromSeq\": N}` with the first seq it has not seen. The answer\n"
       "(`fromSeq`, `toSeq`, `replayed`) comes first, then the held events from N that the\n"
       "subscription selects, in seq order, then live events. Replayed events keep their seq; an event\n"
       "this connection already received live may come again, so deduplicate by seq. When the history\n"
       "no longer reaches back to N, or N is from before a daemon restart, the answer is\n"
       "`resumeUnavailable`: re-read the state with\n"
       "`Gateway.listAgents` / `listExtensions` / `listSessions` and carry on with the live events.\n\n"
       "## Backpressure and eventsDropped\n\n"
       "Each connection has a bounded output queue; the SIP thread and other clients never wait for\n"
       "a slow one. When more than " << kib(l.maxQueuedBytes) << " of output waits for a client, its\n"
       "events are dropped (counted in `seatbridge_control_events_dropped_total`) until the queue has\n"
       "drained to " << kib(l.resumeBelowBytes) << ". Then, before any newer event, it reads:\n\n"
       "```json\n{\"event\":\"eventsDropped\",\"seq\":9120,\"data\":{\"fromSeq\":4101,\"toSeq\":9120,\"count\":5020}}\n```\n\n"
       "`fromSeq`..`toSeq` is the range it missed; `count` is how many events of its subscription were\n"
       "lost in it. The line's `seq` is `toSeq`. `Client.resume {\"fromSeq\": 4101}` fetches them while\n"
       "the history still holds them. Answers are never dropped: a client that keeps sending requests\n"
       "without reading stops being read once " << kib(l.pauseReadingBytes) << " of output waits, and\n"
       "is read again when it has caught up.\n\n"
       "## Limits\n\n| Limit | Value |\n|---|---|\n"
       "| request line | " << kib(l.maxLineBytes) << " |\n"
       "| connected clients | " << l.maxClients << " |\n"
       "| event output queued per client before drops | " << kib(l.maxQueuedBytes) << " |\n"
       "| ... events flow again below | " << kib(l.resumeBelowBytes) << " |\n"
       "| answer output queued before the client's requests are no longer read | " << kib(l.pauseReadingBytes) << " |\n"
       "| history for Client.resume | " << l.historyEvents << " events, at most " << (l.historyBytes >> 20) << " MiB |\n\n";
}

std::string groupOf(const std::string& name) { return name.substr(0, name.find('.')); }

void method(std::ostream& o, const MethodSpec& m) {
  o << "### " << m.name << "\n\n" << m.help << "\n\n";
  if (!m.sdkName.empty()) o << "SDK: " << m.sdkName << ".\n\n";
  if (m.actsForAgent) o << "For an agent: `userId` (string) defaults to the Client.login binding.\n\n";
  if (m.availability == Availability::Planned)
    o << "**Not implemented yet:** parameters are validated" << (m.params.empty() ? "" : " (and a `sessionId` must exist)")
      << ", then the answer is `notImplemented`.\n\n";
  if (m.params.empty()) {
    o << "Parameters: none.\n\n";
  } else {
    o << "| Parameter | Type | Required | Meaning |\n|---|---|---|---|\n";
    for (const auto& p : m.params) {
      o << "| `" << p.name << "` | " << paramTypeName(p.type) << " | " << (p.required ? "yes" : "no") << " | " << p.help;
      if (!p.oneOf.empty()) {
        o << " One of:";
        for (size_t i = 0; i < p.oneOf.size(); ++i) o << (i ? ", " : " ") << "`" << p.oneOf[i] << "`";
        o << ".";
      }
      o << " |\n";
    }
    o << "\n";
  }
  if (!m.answer.empty()) o << "Answer: " << m.answer << "\n\n";
}

void methods(std::ostream& o, const MethodTable& table) {
  o << "## Methods\n\n| Method | For an agent | Implemented | Summary |\n|---|---|---|---|\n";
  for (const auto& m : table.all()) {
    const std::string summary = m.help.substr(0, m.help.find(". ") == std::string::npos ? m.help.size()
                                                                                          : m.help.find(". ") + 1);
    o << "| [" << m.name << "](#" << [&] {
      std::string a;
      for (char ch : m.name)
        if (ch != '.') a += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      return a;
    }() << ") | " << (m.actsForAgent ? "yes" : "") << " | "
      << (m.availability == Availability::Available ? "yes" : "not yet") << " | " << summary << " |\n";
  }
  o << "\n";
  std::string group;
  for (const auto& m : table.all()) {
    if (groupOf(m.name) != group) {
      group = groupOf(m.name);
      o << "## " << group << ".*\n\n";
    }
    method(o, m);
  }
}

}  // namespace

std::string renderProtocol(const ProtocolDoc& doc) {
  std::ostringstream o;
  intro(o);
  requests(o);
  errors(o, doc);
  events(o, doc);
  resumeAndBackpressure(o, doc);
  if (doc.methods) methods(o, *doc.methods);
  std::string text = o.str();
  while (text.size() > 1 && text[text.size() - 1] == '\n' && text[text.size() - 2] == '\n') text.pop_back();
  return text;
}

}  // namespace sb::control
