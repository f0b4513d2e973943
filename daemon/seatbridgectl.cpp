// seatbridgectl: the operator's client for the control socket. The commands and
// options are listed once in ctl/commands.cpp (usage and completion come from
// there); the exit codes are ctl::ExitCode, documented in docs/OPERATIONS.md.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon/ctl/client.hpp"
#include "daemon/ctl/commands.hpp"
#include "daemon/ctl/completion.hpp"
#include "daemon/ctl/format.hpp"
#include "daemon/ctl/top.hpp"

namespace {

using nlohmann::json;
using namespace sb::ctl;

constexpr const char* kDefaultSocket = "/run/seatbridge/seatbridge.sock";

// `text` in lines of at most `width` columns, each after `indent` spaces but the first.
std::string wrapped(const std::string& text, size_t width, size_t indent) {
  std::string out, line;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n" + std::string(indent, ' ');
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = end + 1;
  }
  return out + line;
}

void usage(FILE* out) {
  std::fprintf(out, "usage: seatbridgectl [--socket PATH] [--json] [--timeout SECONDS] COMMAND [ARGS]\ncommands:\n");
  for (const auto& c : commands()) {
    const std::string head = c.name + (c.args.empty() ? "" : " " + c.args);
    const std::string help = wrapped(c.help, 50, 30);
    if (head.size() <= 26)
      std::fprintf(out, "  %-26s  %s\n", head.c_str(), help.c_str());
    else
      std::fprintf(out, "  %s\n  %-26s  %s\n", wrapped(head, 76, 4).c_str(), "", help.c_str());
  }
  std::fprintf(out, "options (before or after the command):\n");
  for (const auto& o : globalOptions()) {
    const std::string head = o.flag + (o.value.empty() ? "" : " " + o.value);
    std::fprintf(out, "  %-18s  %s\n", head.c_str(), wrapped(o.help, 56, 22).c_str());
  }
  std::fprintf(out,
               "exit codes:\n"
               "  0  success\n"
               "  1  the daemon answered an error (its errorCode is on stderr)\n"
               "  2  usage error\n"
               "  3  cannot connect: no socket, nothing listening, or not permitted\n"
               "  4  connected, then the connection failed: closed by the daemon, not the protocol,\n"
               "     or no answer within --timeout\n"
               "Methods and their parameters: docs/PROTOCOL.md; `seatbridgectl completion bash` completes them.\n");
}

struct Options {
  std::string socket;
  bool json = false;
  int timeoutMs = 10000;
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

void printError(const std::string& method, const json& answer) {
  std::fprintf(stderr, "seatbridgectl: %s: %s: %s\n", method.c_str(), answer.value("errorCode", "error").c_str(),
               answer.value("errorMsg", "").c_str());
}

// A listing: its data as a table, or as JSON. An error answer is printed on
// stderr (and, with --json, as the answer object on stdout) and exits 1.
int list(Client& c, const Options& o, const std::string& method, const json& params,
         void (*print)(const json&, FILE*)) {
  const json answer = c.call(method, params);
  if (answer.value("status", "") != "success") {
    if (o.json) printJson(answer);
    printError(method, answer);
    return kExitMethodError;
  }
  const json data = answer.value("data", json::object());
  if (o.json)
    printJson(data);
  else
    print(data, stdout);
  return kExitOk;
}

int call(Client& c, const Options& o) {
  if (o.args.size() < 2) throw UsageError("call needs a METHOD");
  const json answer = c.call(o.args[1], keyValues(o.args, 2));
  const bool ok = answer.value("status", "") == "success";
  if (o.json)
    printJson(answer);
  else if (ok)
    printJson(answer.value("data", json::object()));
  if (!ok) printError(o.args[1], answer);
  return ok ? kExitOk : kExitMethodError;
}

struct EventArgs {
  json subscribe{{"all", true}};
  int64_t from = -1;
};

EventArgs eventArgs(const Options& o) {
  EventArgs a;
  std::vector<std::string> users;
  for (size_t i = 1; i < o.args.size(); ++i) {
    if (o.args[i] == "--from" && i + 1 < o.args.size()) {
      char* end = nullptr;
      a.from = std::strtoll(o.args[++i].c_str(), &end, 10);
      if (*end != '\0' || a.from < 0) throw UsageError("--from needs a seq number");
    } else if (o.args[i] == "--user" && i + 1 < o.args.size()) {
      users.push_back(o.args[++i]);
    } else {
      throw UsageError("events: unexpected '" + o.args[i] + "'");
    }
  }
  if (!users.empty()) a.subscribe = json{{"userIds", users}};
  return a;
}

int events(Client& c, const Options& o, const EventArgs& a) {
  c.callOk("Client.subscribe", a.subscribe);
  if (a.from >= 0) c.callOk("Client.resume", json{{"fromSeq", a.from}});
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // a pipe reader sees each event at once
  while (true) {
    std::string raw;
    const json m = c.next(&raw);
    if (o.json)
      std::printf("%s\n", raw.c_str());
    else
      std::printf("%s\n", eventSummary(m).c_str());
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
        size_t used = 0;
        params[key] = std::stoll(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
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

void noArgs(const Options& o) {
  if (o.args.size() > 1) throw UsageError(o.args[0] + " takes no arguments, got '" + o.args[1] + "'");
}

int completion(const Options& o) {
  if (o.json) {
    if (o.args.size() > 1) throw UsageError("completion --json takes no shell");
    std::printf("%s\n", completionIndexJson().c_str());
    return kExitOk;
  }
  if (o.args.size() != 2 || (o.args[1] != "bash" && o.args[1] != "zsh"))
    throw UsageError("completion needs a shell: bash or zsh");
  std::fputs((o.args[1] == "bash" ? bashCompletion() : zshCompletion()).c_str(), stdout);
  return kExitOk;
}

int run(const Options& o) {
  const std::string& cmd = o.args[0];
  if (!findCommand(cmd)) throw UsageError("unknown command '" + cmd + "'");
  // Everything the command line can get wrong is checked before connecting,
  // so a usage error is 2 whether or not a daemon is there.
  if (cmd == "completion") return completion(o);
  if (cmd == "status" || cmd == "agents" || cmd == "extensions" || cmd == "queues" || cmd == "top") noArgs(o);
  json sessionParams = json::object();
  if (cmd == "sessions") {
    if (o.args.size() == 3 && o.args[1] == "--user")
      sessionParams["userId"] = o.args[2];
    else if (o.args.size() != 1)
      throw UsageError("sessions takes only --user USERID");
  }
  const json recordParams = cmd == "records" ? recordFilters(o) : json::object();
  const EventArgs eventsArgs = cmd == "events" ? eventArgs(o) : EventArgs{};
  if (cmd == "call") {
    if (o.args.size() < 2) throw UsageError("call needs a METHOD");
    keyValues(o.args, 2);
  }
  if (cmd == "top") return runTop(TopOptions{o.socket, o.timeoutMs, o.json});

  Client c(o.socket, o.timeoutMs);
  if (cmd == "status") return list(c, o, "Gateway.status", json::object(), printStatus);
  if (cmd == "agents") return list(c, o, "Gateway.listAgents", json::object(), printAgents);
  if (cmd == "extensions") return list(c, o, "Gateway.listExtensions", json::object(), printExtensions);
  if (cmd == "queues") return list(c, o, "Gateway.listQueues", json::object(), printQueues);
  if (cmd == "sessions") return list(c, o, "Gateway.listSessions", sessionParams, printSessions);
  if (cmd == "records") return list(c, o, "Gateway.listRecords", recordParams, printRecords);
  if (cmd == "call") return call(c, o);
  return events(c, o, eventsArgs);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  const char* env = std::getenv("SEATBRIDGE_SOCKET");
  o.socket = env && *env ? env : kDefaultSocket;
  bool help = false;
  std::string bad;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    // The global options may come before or after the command: no command
    // argument starts with "--socket", "--timeout" or is "--json" (call's
    // arguments are KEY=VALUE, the others' options are their own flags).
    if (a == "--json") {
      o.json = true;
    } else if ((a == "--socket" || a == "--timeout") && i + 1 < argc) {
      const std::string v = argv[++i];
      if (a == "--socket") {
        o.socket = v;
      } else {
        char* end = nullptr;
        const double s = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !(s >= 0) || s > 86400) {
          bad = "--timeout takes seconds (0 to 86400), got '" + v + "'";
          break;
        }
        o.timeoutMs = s > 0 ? std::max(1, static_cast<int>(s * 1000)) : 0;
      }
    } else if (a == "--help" || a == "-h") {
      help = true;
    } else if (o.args.empty() && a.rfind("--", 0) == 0) {
      bad = "unknown option " + a;
      break;
    } else {
      o.args.push_back(a);
    }
  }
  if (help) {
    usage(stdout);
    return kExitOk;
  }
  if (!bad.empty() || o.args.empty()) {
    if (!bad.empty()) std::fprintf(stderr, "seatbridgectl: %s\n", bad.c_str());
    usage(stderr);
    return kExitUsage;
  }
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return run(o);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "seatbridgectl: %s\n", e.what());
    usage(stderr);
    return kExitUsage;
  } catch (const CtlError& e) {
    std::fprintf(stderr, "seatbridgectl: %s\n", e.what());
    return e.code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seatbridgectl: %s\n", e.what());
    return kExitProtocol;
  }
}
