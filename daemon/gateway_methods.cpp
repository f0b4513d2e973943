#include "daemon/gateway_methods.hpp"

#include <unistd.h>

#include "common/clock.hpp"
#include "control/control_server.hpp"
#include "control/errors.hpp"
#include "core/vocabulary.hpp"
#include "host/core_host.hpp"
#include "sip/sip_server.hpp"
#include "sip/sip_thread.hpp"
#include "store/records.hpp"

namespace sb::daemon {

using control::Param;
using control::ParamType;
using control::Request;
using nlohmann::json;

namespace {

json statusJson(const sip::GatewayStatus& s, const core::Counts& c) {
  json byStatus = json::object();
  for (const auto& [status, n] : c.agentsByStatus) byStatus[std::string(core::toString(status))] = n;
  json active = json::object();
  for (const auto& [type, n] : c.sessionsActiveByType) active[std::string(core::toString(type))] = n;
  return json{{"version", s.version},
              {"pid", getpid()},
              {"startedAt", s.startedAtMs},
              {"uptimeSeconds", (wallClockMs() - s.startedAtMs) / 1000},
              {"draining", s.draining},
              {"configFile", s.configFile},
              {"listen", s.listen},
              {"extensions", s.extensions},
              {"registeredExtensions", c.registeredExtensions},
              {"agents", s.agents},
              {"agentsByStatus", byStatus},
              {"sessions", c.sessions},
              {"sessionsActive", active},
              {"skillGroups", s.skillGroups},
              {"trunks", s.trunks}};
}

// core/ keeps only what device state needs; the registrar owns the bindings, so
// each Gateway.listExtensions row gets its contacts here, on the SIP thread.
json withContacts(json list, const sip::SipServer& sip) {
  for (json& row : list["extensions"]) {
    json contacts = json::array();
    for (const auto& c : sip.extensionContacts(row["extensionId"].get<std::string>()))
      contacts.push_back({{"uri", c.uri},
                          {"source", c.source},
                          {"userAgent", c.userAgent},
                          {"expiresAt", c.expiresAtMs},
                          {"reachable", c.reachable}});
    row["contacts"] = std::move(contacts);
  }
  return list;
}

control::MethodSpec clientLogin(host::CoreHost* b) {
  return {.name = "Client.login",
          .help =
              "Binds this connection to one agent: agent methods then default `userId` to it, and the "
              "connection follows that agent's events unless it subscribed otherwise. A connection binds "
              "once; naming another agent later is `userMismatch`.",
          .params = {{"userId", ParamType::String, true, "The agent, as configured (agents[].userId)."}},
          .answer = "`{userId, tabUUID, lastSeq, agent}`, `agent` as in Agent.getStatus.",
          .handler = [b](const Request& r) {
            const std::string userId = r.params["userId"];
            if (!r.loginUserId.empty() && r.loginUserId != userId)
              return r.reply.error(control::errc::userMismatch,
                                   "this connection is logged in as '" + r.loginUserId + "' already");
            b->run(
                r.reply,
                [userId](core::Gateway& g, core::TimePoint now) {
                  const core::Agent* a = g.findAgent(userId);
                  return a ? core::Outcome::success(g.agentStatusJson(*a, now))
                           : core::Outcome::failure(control::errc::agentNotFound, "no agent " + userId);
                },
                [b, r, userId](json agent) {
                  b->server().login(r.connectionId, userId);
                  r.reply.success(json{{"userId", userId},
                                       {"tabUUID", r.tabUuid},
                                       {"lastSeq", b->server().lastSeq()},
                                       {"agent", std::move(agent)}});
                });
          }};
}

control::MethodSpec clientSubscribe(host::CoreHost* b) {
  return {.name = "Client.subscribe",
          .help =
              "Chooses whose events this connection receives, replacing any earlier choice: `{\"all\": true}` for "
              "every event, `{\"userIds\": [...]}` for those agents' events, `{\"userIds\": []}` for none. "
              "`queues: true`, alone or beside either, adds the `queueChanged` events, which no other "
              "subscription receives (Gateway.listQueues gives their starting point).",
          .params = {{"all", ParamType::Boolean, false, "Every event, gateway events included."},
                     {"userIds", ParamType::StringArray, false, "Only these agents' events (each must exist)."},
                     {"queues", ParamType::Boolean, false, "Also the queueChanged events (seatbridge's own)."}},
          .answer = "`{all, userIds, queues, lastSeq}`: live events after `lastSeq` follow.",
          .handler = [b](const Request& r) {
            const bool hasAll = r.params.contains("all"), hasIds = r.params.contains("userIds");
            const bool queues = r.params.value("queues", false);
            if (!hasAll && !hasIds && !r.params.contains("queues"))
              return r.reply.error(control::errc::missingParam, "Client.subscribe needs 'all', 'userIds' or 'queues'");
            if (hasAll && hasIds && r.params["all"].get<bool>())
              return r.reply.error(control::errc::invalidParams, "give either all:true or userIds, not both");
            control::Subscription sub;
            sub.all = hasAll && r.params["all"].get<bool>();
            sub.queues = queues;
            if (hasIds)
              for (const auto& id : r.params["userIds"]) sub.userIds.insert(id.get<std::string>());
            auto apply = [b, r, sub](json) { r.reply.success(b->server().subscribe(r.connectionId, sub)); };
            if (sub.userIds.empty()) return apply(json{});
            b->run(
                r.reply,
                [sub](core::Gateway& g, core::TimePoint) {
                  for (const auto& id : sub.userIds)
                    if (!g.findAgent(id)) return core::Outcome::failure(control::errc::agentNotFound, "no agent " + id);
                  return core::Outcome::success(json::object());
                },
                apply);
          }};
}

control::MethodSpec clientResume(host::CoreHost* b) {
  return {.name = "Client.resume",
          .help =
              "Replays the held events from `fromSeq` that this connection's subscription selects: the answer "
              "first, then the events in seq order, then live events. `resumeUnavailable` when the history "
              "no longer reaches back that far.",
          .params = {{"fromSeq", ParamType::Integer, true, "The first seq not yet seen (last seen + 1)."}},
          .answer = "`{fromSeq, toSeq, replayed}`.",
          .handler = [b](const Request& r) {
            const json& from = r.params["fromSeq"];
            if (from.is_number_integer() && from.get<int64_t>() < 0)
              return r.reply.error(control::errc::invalidParams, "'fromSeq' must not be negative");
            b->server().resume(r.connectionId, from.get<uint64_t>(), r.reply);
          }};
}

}  // namespace

void addClientMethods(control::MethodTable& table, host::CoreHost* b) {
  table.add(clientLogin(b));
  table.add(clientSubscribe(b));
  table.add(clientResume(b));
}

control::MethodTable buildMethodTable(host::CoreHost* bridge) {
  control::MethodTable table;
  addClientMethods(table, bridge);
  addGatewayMethods(table, bridge);
  addAgentMethods(table, bridge);
  addCallMethods(table, bridge);
  return table;
}

namespace {

// Every EndState's wire name, in the SDK's order (core/vocabulary.hpp ends the enum with clientError).
std::vector<std::string> endStateNames() {
  std::vector<std::string> names;
  for (int i = 0; i <= static_cast<int>(core::EndState::clientError); ++i)
    names.emplace_back(core::toString(static_cast<core::EndState>(i)));
  return names;
}

}  // namespace

void addGatewayMethods(control::MethodTable& table, host::CoreHost* b) {
  table.add({.name = "Gateway.status",
             .help = "The daemon: version, pid, uptime, whether it is draining, listen addresses, configured counts, "
                     "registered extensions, agents by status, sessions, and the event stream's position.",
             .answer = "`{version, pid, startedAt, uptimeSeconds, draining, configFile, listen[], extensions, "
                       "registeredExtensions, agents, agentsByStatus{}, sessions, sessionsActive{}, skillGroups, "
                       "trunks, lastSeq, controlClients}`.",
             .handler = [b](const Request& r) {
               b->run(
                   r.reply,
                   [b](core::Gateway& g, core::TimePoint) {
                     return core::Outcome::success(statusJson(b->sip().server().status(), g.counts()));
                   },
                   [b, r](json data) {
                     data["lastSeq"] = b->server().lastSeq();
                     data["controlClients"] = b->server().clientCount();
                     r.reply.success(std::move(data));
                   });
             }});
  table.add({.name = "Gateway.listExtensions",
             .help = "Every configured desk-phone line with its registration and device state.",
             .answer = "`{extensions: [{extensionId, name, userId, registered, reachable, deviceState (offline, idle, "
                       "busy), contacts: [{uri, source, userAgent, expiresAt, reachable}]}]}`.",
             .handler = [b](const Request& r) {
               b->run(r.reply, [b](core::Gateway& g, core::TimePoint) {
                 return core::Outcome::success(withContacts(g.listExtensions(), b->sip().server()));
               });
             }});
  table.add({.name = "Gateway.listAgents",
             .help = "Every configured agent with its status.",
             .answer = "`{agents: [...]}`, each as in Agent.getStatus.",
             .handler = [b](const Request& r) {
               b->run(r.reply,
                      [](core::Gateway& g, core::TimePoint now) { return core::Outcome::success(g.listAgents(now)); });
             }});
  table.add({.name = "Gateway.listSessions",
             .help = "Sessions, live and ended (until Call.deleteCall), optionally of one agent.",
             .params = {{"userId", ParamType::String, false, "Only this agent's sessions."}},
             .answer = "`{sessions: [...]}`.",
             .handler = [b](const Request& r) {
               const std::string userId = r.params.value("userId", "");
               b->run(r.reply, [userId](core::Gateway& g, core::TimePoint) {
                 if (!userId.empty() && !g.findAgent(userId))
                   return core::Outcome::failure(control::errc::agentNotFound, "no agent " + userId);
                 return core::Outcome::success(g.listSessions(userId));
               });
             }});
  table.add({.name = "Gateway.listQueues",
             .help = "Each skill group's queue now: customers waiting (ringing an agent included) and how long the "
                     "longest-waiting one has waited. The starting point for the queueChanged events "
                     "(Client.subscribe with `queues`).",
             .answer = "`{queues: [{skillGroup, name, waiting, oldestWaitMs}]}`, in skill group order.",
             .handler = [b](const Request& r) {
               b->run(r.reply, [](core::Gateway& g, core::TimePoint now) {
                 const auto stats = g.queueStats(now);
                 json queues = json::array();
                 for (const auto& group : g.directory().skillGroups) {
                   const auto it = stats.find(group.id);
                   const core::QueueStat q = it == stats.end() ? core::QueueStat{} : it->second;
                   queues.push_back({{"skillGroup", group.id},
                                     {"name", group.name},
                                     {"waiting", q.waiting},
                                     {"oldestWaitMs", q.oldestWait.count()}});
                 }
                 return core::Outcome::success(json{{"queues", std::move(queues)}});
               });
             }});
  table.add({.name = "Gateway.listRecords",
             .help = "The archive of ended sessions (kept storage.recordsRetentionDays), newest first, a page at a "
                     "time.",
             .params = {{"userId", ParamType::String, false, "Only sessions this agent had last."},
                        {"fromMs", ParamType::Integer, false, "Ended at or after this time (ms since the epoch)."},
                        {"toMs", ParamType::Integer, false, "Ended before this time (ms since the epoch)."},
                        {"endState", ParamType::String, false, "Only this end state.", endStateNames()},
                        {"limit", ParamType::Integer, false, "Rows per page, 1 to 500 (default 100)."},
                        {"before", ParamType::String, false, "The `next` cursor of the previous page."}},
             .answer = "`{records: [...], next?}`: each record as a Gateway.listSessions row; `next` is present "
                       "when more rows follow.",
             .handler = [b](const Request& r) {
               store::RecordQuery q;
               q.userId = r.params.value("userId", "");
               if (r.params.contains("fromMs")) q.fromMs = r.params["fromMs"].get<int64_t>();
               if (r.params.contains("toMs")) q.toMs = r.params["toMs"].get<int64_t>();
               q.endState = r.params.value("endState", "");
               q.limit = static_cast<int>(r.params.value("limit", int64_t{100}));
               q.before = r.params.value("before", "");
               if (q.limit < 1 || q.limit > 500) {
                 r.reply.error(control::errc::invalidParams, "limit must be 1 to 500");
                 return;
               }
               const size_t colon = q.before.find(':');
               if (!q.before.empty() && (colon == 0 || colon == std::string::npos ||
                                         q.before.find_first_not_of("0123456789") != colon || colon > 15)) {
                 r.reply.error(control::errc::invalidParams, "before must be a `next` cursor of a previous page");
                 return;
               }
               if (!q.endState.empty() && !core::parseEndState(q.endState)) {
                 r.reply.error(control::errc::invalidParams, "unknown endState " + q.endState);
                 return;
               }
               b->run(r.reply, [b, q](core::Gateway&, core::TimePoint) { return b->listRecords(q); });
             }});
}

void addAgentMethods(control::MethodTable& table, host::CoreHost* b) {
  const std::string status =
      "`{userId, name, extensionId, status, restReason?, pendingStatus?, pendingRestReason?, "
      "statusDurationMs, sessions[], wrapUpRemainingMs?}`.";
  table.add({.name = "Agent.online",
             .help = "Signs the agent in: offline becomes free (statusChanged). Signing in again changes nothing.",
             .actsForAgent = true,
             .answer = status,
             .sdkName = "`Agent.online()`",
             .handler = [b](const Request& r) {
               const std::string userId = r.params["userId"];
               b->run(r.reply, [userId](core::Gateway& g, core::TimePoint now) { return g.agentOnline(userId, now); });
             }});
  table.add({.name = "Agent.offline",
             .help = "Signs the agent out. While in a call, the sign-out waits for the call to end.",
             .actsForAgent = true,
             .answer = status,
             .sdkName = "`Agent.offline()`",
             .handler = [b](const Request& r) {
               const std::string userId = r.params["userId"];
               b->run(r.reply, [userId](core::Gateway& g, core::TimePoint now) { return g.agentOffline(userId, now); });
             }});
  table.add({.name = "Agent.setStatus",
             .help = "Changes the agent's status (statusChanged). While busy in a call the request is kept and applies "
                     "when the call ends; `stopNotReady` leaves notReady. The agent must be online.",
             .params = {{"status",
                         ParamType::String,
                         true,
                         "The status wanted.",
                         {"free", "rest", "arrange", "notReady", "stopNotReady"}},
                        {"restReason", ParamType::String, false, "Why, with `rest` (e.g. Meal, Meeting, Training)."}},
             .actsForAgent = true,
             .answer = status,
             .handler = [b](const Request& r) {
               const std::string userId = r.params["userId"];
               const std::string want = r.params["status"];
               const std::string reason = r.params.value("restReason", "");
               b->run(r.reply, [userId, want, reason](core::Gateway& g, core::TimePoint now) {
                 return g.agentSetStatus(userId, want, reason, now);
               });
             }});
  table.add({.name = "Agent.getStatus",
             .help = "The agent's status, pending status and current sessions.",
             .actsForAgent = true,
             .answer = status,
             .sdkName = "`Agent.getStatus()`",
             .handler = [b](const Request& r) {
               const std::string userId = r.params["userId"];
               b->run(r.reply,
                      [userId](core::Gateway& g, core::TimePoint now) { return g.agentGetStatus(userId, now); });
             }});
}

}  // namespace sb::daemon
