#include "daemon/ctl/format.hpp"

#include <algorithm>

namespace sb::ctl {

using nlohmann::json;

std::vector<std::string> Table::lines() const {
  std::vector<size_t> width;
  for (const auto& row : rows_)
    for (size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  std::vector<std::string> out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out.push_back(std::move(line));
  }
  return out;
}

void Table::print(FILE* out) const {
  for (const auto& line : lines()) std::fprintf(out, "%s\n", line.c_str());
}

std::string cell(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  return v.dump();
}

std::string duration(int64_t ms) {
  const int64_t s = ms / 1000;
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  return buf;
}

namespace {

std::string get(const json& o, const char* key) { return o.contains(key) ? cell(o[key]) : "-"; }

std::string joined(const json& list) {
  std::string s;
  for (const auto& v : list) s += (s.empty() ? "" : ", ") + cell(v);
  return s.empty() ? "-" : s;
}

std::string counts(const json& byKey) {
  std::string s;
  for (auto it = byKey.begin(); it != byKey.end(); ++it)
    if (it.value() != 0) s += (s.empty() ? "" : ", ") + it.key() + " " + cell(it.value());
  return s.empty() ? "none" : s;
}

}  // namespace

void printStatus(const json& d, FILE* out) {
  Table t({"version", get(d, "version")});
  t.add({"pid", get(d, "pid")});
  t.add({"uptime", duration(d.value("uptimeSeconds", int64_t{0}) * 1000)});
  t.add({"draining", get(d, "draining")});
  t.add({"config", get(d, "configFile")});
  t.add({"listen", joined(d.value("listen", json::array()))});
  t.add({"extensions", get(d, "extensions") + " (" + get(d, "registeredExtensions") + " registered)"});
  t.add({"agents", get(d, "agents") + " (" + counts(d.value("agentsByStatus", json::object())) + ")"});
  t.add({"sessions", get(d, "sessions") + " (active: " + counts(d.value("sessionsActive", json::object())) + ")"});
  t.add({"skillGroups", get(d, "skillGroups")});
  t.add({"trunks", get(d, "trunks")});
  t.add({"lastSeq", get(d, "lastSeq")});
  t.add({"clients", get(d, "controlClients")});
  t.print(out);
}

void printAgents(const json& d, FILE* out) {
  Table t({"USER", "NAME", "EXTENSION", "STATUS", "REASON", "SINCE", "PENDING", "SESSIONS"});
  for (const auto& a : d.value("agents", json::array())) {
    std::string pending = get(a, "pendingStatus");
    if (a.contains("pendingRestReason")) pending += " (" + cell(a["pendingRestReason"]) + ")";
    t.add({get(a, "userId"), get(a, "name"), get(a, "extensionId"), get(a, "status"), get(a, "restReason"),
           duration(a.value("statusDurationMs", int64_t{0})), pending,
           std::to_string(a.value("sessions", json::array()).size())});
  }
  t.print(out);
}

void printExtensions(const json& d, FILE* out) {
  Table t({"EXTENSION", "NAME", "AGENT", "REGISTERED", "REACHABLE", "DEVICE", "CONTACTS"});
  for (const auto& e : d.value("extensions", json::array())) {
    std::string contacts;
    for (const auto& c : e.value("contacts", json::array()))
      contacts += (contacts.empty() ? "" : " ") + get(c, "uri") + (c.value("reachable", true) ? "" : "(unreachable)");
    t.add({get(e, "extensionId"), get(e, "name"), get(e, "userId"), get(e, "registered"), get(e, "reachable"),
           get(e, "deviceState"), contacts.empty() ? "-" : contacts});
  }
  t.print(out);
}

void printSessions(const json& d, FILE* out) {
  const json sessions = d.value("sessions", json::array());
  if (sessions.empty()) {
    std::fprintf(out, "no sessions\n");
    return;
  }
  Table t({"SESSION", "TYPE", "DIRECTION", "STATE", "AGENT", "SERVER", "CALLER", "CALLEE", "CLOSE"});
  for (const auto& s : sessions)
    t.add({get(s, "sessionId"), get(s, "type"), get(s, "direction"), get(s, "state"), get(s, "userId"),
           get(s, "serverType"), get(s, "callerPhoneNumber"), get(s, "calleePhoneNumber"), get(s, "closeBy")});
  t.print(out);
}

// The archive: when, who, how it ended, how long the customer waited and talked.
void printRecords(const json& d, FILE* out) {
  const json records = d.value("records", json::array());
  if (records.empty()) {
    std::fprintf(out, "no records\n");
  } else {
    Table t({"ENDED", "SESSION", "AGENT", "CALLER", "CALLEE", "END STATE", "CLOSE", "WAIT", "TALK"});
    for (const auto& r : records) {
      const auto ms = [&](const char* k) {
        return r.contains(k) && r[k].is_number() ? duration(r[k].get<int64_t>()) : "-";
      };
      t.add({get(r, "endedAt"), get(r, "sessionId"), get(r, "userId"), get(r, "callerPhoneNumber"),
             get(r, "calleePhoneNumber"), get(r, "endState"), get(r, "closeBy"), ms("waitMs"), ms("talkMs")});
    }
    t.print(out);
  }
  if (d.contains("next")) std::fprintf(out, "more: --before %s\n", get(d, "next").c_str());
}

void printQueues(const json& d, FILE* out) {
  Table t({"QUEUE", "NAME", "WAITING", "OLDEST"});
  for (const auto& q : d.value("queues", json::array()))
    t.add({get(q, "skillGroup"), get(q, "name"), get(q, "waiting"),
           q.value("waiting", 0) > 0 ? duration(q.value("oldestWaitMs", int64_t{0})) : "-"});
  t.print(out);
}

std::string eventSummary(const json& m) {
  if (m.contains("status") && !m.contains("event")) return "error " + get(m, "errorCode") + ": " + get(m, "errorMsg");
  std::string s = "#" + get(m, "seq") + " " + get(m, "event");
  if (m.contains("userId")) s += " " + get(m, "userId");
  const json data = m.value("data", json::object());
  for (auto it = data.begin(); it != data.end(); ++it) {
    if (it.key() == "userId") continue;
    s += " " + it.key() + "=" + cell(it.value());
  }
  return s;
}

}  // namespace sb::ctl
