// seatbridgectl: the operator's client for the control socket.
//   status | agents | extensions | sessions [--user U] | records [filters] | call METHOD [key=value ...]
//   | events [--from SEQ] [--user U ...]
// Readable tables by default, --json for scripts. Exit 0 on success, 1 when the
// daemon answered an error or cannot be reached, 2 on a usage error.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon/ctl/client.hpp"
#include "daemon/ctl/format.hpp"

namespace {

using nlohmann::json;
using sb::ctl::Client;
using sb::ctl::CtlError;

constexpr const char* kDefaultSocket = "/run/seatbridge/seatbridge.sock";

void usage(FILE* out) {
  std::fprintf(out,
               "usage: seatbridgectl [--socket PATH] [--json] COMMAND [ARGS]\n"
               "commands:\n"
               "  status                      the daemon: version, uptime, listen addresses, counts\n"
               "  agents                      every agent and its status (Gateway.listAgents)\n"
               "  extensions                  desk-phone lines, registration and device state\n"
               "  sessions [--user USERID]    sessions, live and ended\n"
               "  records [--user USERID] [--from MS] [--to MS] [--end-state STATE]\n"
               "          [--limit N] [--before CURSOR]\n"
               "                              the archive of ended sessions, newest first\n"
               "  call METHOD [KEY=VALUE...]  any method; a VALUE that parses as JSON is JSON\n"
               "                              (7, true, [\"a\"]), anything else is a string\n"
               "  events [--from SEQ] [--user USERID...]\n"
               "                              follow the event stream (all events, or those\n"
               "                              agents'), replaying from SEQ first; Ctrl-C stops\n"
               "options:\n"
               "  --socket PATH  control socket (default $SEATBRIDGE_SOCKET, else %s)\n"
               "  --json         machine-readable output: the answer's JSON, or one event per line\n"
               "Methods and their parameters: docs/PROTOCOL.md.\n",
               kDefaultSocket);
}

struct Options {
  std::string socket;
  bool json = false;
  std::vector<std::string> args;
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

json parseValue(const std::string& text) {
  json v = json::parse(text, nullptr, false);
  return v.is_discarded() ? json(text) : v;
}

json keyValues(const std::vector<std::string>& args, size_t from) {
  json params = json::object();
  for (size_t i = from; i < args.size(); ++i) {
    const auto eq = args[i].find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("expected KEY=VALUE, got '" + args[i] + "'");
    params[args[i].substr(0, eq)] = parseValue(args[i].substr(eq + 1));
  }
  return params;
}

void printJson(const json& v) { std::printf("%s\n", v.dump(2, ' ', false, json::error_handler_t::replace).c_str()); }

int list(Client& c, const Options& o, const std::string& method, const json& params,
         void (*print)(const json&, FILE*)) {
  const json data = c.callOk(method, params);
  if (o.json)
    printJson(data);
  else
    print(data, stdout);
  return 0;
}

int call(Client& c, const Options& o) {
  if (o.args.size() < 2) throw UsageError("call needs a METHOD");
  const json answer = c.call(o.args[1], keyValues(o.args, 2));
  const bool ok = answer.value("status", "") == "success";
  if (o.json) {
    printJson(answer);
  } else if (ok) {
    printJson(answer.value("data", json::object()));
  } else {
    std::fprintf(stderr, "seatbridgectl: %s: %s: %s\n", o.args[1].c_str(), answer.value("errorCode", "error").c_str(),
                 answer.value("errorMsg", "").c_str());
  }
  return ok ? 0 : 1;
}

int events(Client& c, const Options& o) {
  json subscribe{{"all", true}};
  int64_t from = -1;
  std::vector<std::string> users;
  for (size_t i = 1; i < o.args.size(); ++i) {
    if (o.args[i] == "--from" && i + 1 < o.args.size()) {
      char* end = nullptr;
      from = std::strtoll(o.args[++i].c_str(), &end, 10);
      if (*end != '\0' || from < 0) throw UsageError("--from needs a seq number");
    } else if (o.args[i] == "--user" && i + 1 < o.args.size()) {
      users.push_back(o.args[++i]);
    } else {
      throw UsageError("events: unexpected '" + o.args[i] + "'");
    }
  }
  if (!users.empty()) subscribe = json{{"userIds", users}};
  c.callOk("Client.subscribe", subscribe);
  if (from >= 0) c.callOk("Client.resume", json{{"fromSeq", from}});
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // a pipe reader sees each event at once
  while (true) {
    std::string raw;
    const json m = c.next(&raw);
    if (o.json)
      std::printf("%s\n", raw.c_str());
    else
      std::printf("%s\n", sb::ctl::eventSummary(m).c_str());
  }
}

// records' options as Gateway.listRecords parameters.
json recordFilters(const Options& o) {
  json params = json::object();
  for (size_t i = 1; i < o.args.size(); i += 2) {
    const std::string& flag = o.args[i];
    if (i + 1 >= o.args.size()) throw UsageError("records: " + flag + " needs a value");
    const std::string& v = o.args[i + 1];
    const auto number = [&](const char* key) {
      try {
        params[key] = std::stoll(v);
      } catch (const std::exception&) {
        throw UsageError("records: " + flag + " takes a number");
      }
    };
    if (flag == "--user")
      params["userId"] = v;
    else if (flag == "--from")
      number("fromMs");
    else if (flag == "--to")
      number("toMs");
    else if (flag == "--end-state")
      params["endState"] = v;
    else if (flag == "--limit")
      number("limit");
    else if (flag == "--before")
      params["before"] = v;
    else
      throw UsageError("records: unknown option " + flag);
  }
  return params;
}

int run(const Options& o) {
  const std::string& cmd = o.args[0];
  if (cmd != "status" && cmd != "agents" && cmd != "extensions" && cmd != "sessions" && cmd != "records" &&
      cmd != "call" && cmd != "events")
    throw UsageError("unknown command '" + cmd + "'");
  Client c(o.socket);
  if (cmd == "status") return list(c, o, "Gateway.status", json::object(), sb::ctl::printStatus);
  if (cmd == "agents") return list(c, o, "Gateway.listAgents", json::object(), sb::ctl::printAgents);
  if (cmd == "extensions") return list(c, o, "Gateway.listExtensions", json::object(), sb::ctl::printExtensions);
  if (cmd == "sessions") {
    json params = json::object();
    if (o.args.size() == 3 && o.args[1] == "--user")
      params["userId"] = o.args[2];
    else if (o.args.size() != 1)
      throw UsageError("sessions takes only --user USERID");
    return list(c, o, "Gateway.listSessions", params, sb::ctl::printSessions);
  }
  if (cmd == "records") return list(c, o, "Gateway.listRecords", recordFilters(o), sb::ctl::printRecords);
  if (cmd == "call") return call(c, o);
  return events(c, o);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  const char* env = std::getenv("SEATBRIDGE_SOCKET");
  o.socket = env && *env ? env : kDefaultSocket;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (!o.args.empty()) {
      o.args.push_back(a);  // after the command, everything belongs to it
    } else if (a == "--socket" && i + 1 < argc) {
      o.socket = argv[++i];
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a.rfind("--", 0) == 0) {
      std::fprintf(stderr, "seatbridgectl: unknown option %s\n", a.c_str());
      usage(stderr);
      return 2;
    } else {
      o.args.push_back(a);
    }
  }
  if (o.args.empty()) {
    usage(stderr);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return run(o);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "seatbridgectl: %s\n", e.what());
    usage(stderr);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seatbridgectl: %s\n", e.what());
    return 1;
  }
}
