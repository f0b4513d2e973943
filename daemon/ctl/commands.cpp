#include "daemon/ctl/commands.hpp"

namespace sb::ctl {

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"status", "", "the daemon: version, uptime, listen addresses, counts"},
      {"agents", "", "every agent and its status (Gateway.listAgents)"},
      {"extensions", "", "desk-phone lines, registration and device state"},
      {"sessions", "[--user USERID]", "sessions, live and ended", {{"--user", "USERID", "one agent's sessions"}}},
      {"records",
       "[--user USERID] [--from MS] [--to MS] [--end-state STATE] [--limit N] [--before CURSOR]",
       "the archive of ended sessions, newest first",
       {{"--user", "USERID", "one agent's records"},
        {"--from", "MS", "ended at or after (ms since the epoch)"},
        {"--to", "MS", "ended before"},
        {"--end-state", "STATE", "one end state", "Gateway.listRecords endState"},
        {"--limit", "N", "at most N records"},
        {"--before", "CURSOR", "the next page (the `more:` line)"}}},
      {"queues", "", "each skill group's queue: waiting, oldest wait (Gateway.listQueues)"},
      {"call", "METHOD [KEY=VALUE...]",
       "any method; a VALUE that parses as JSON is JSON (7, true, [\"a\"]), anything else a string"},
      {"events",
       "[--from SEQ] [--user USERID...]",
       "follow the event stream (all events, or those agents'), replaying from SEQ first; Ctrl-C stops",
       {{"--from", "SEQ", "replay from this seq first"}, {"--user", "USERID", "only this agent's events"}}},
      {"top", "",
       "live view of queues, agents and calls, kept up to date by the event stream; q quits "
       "(with --json: the view as one JSON object per line, at each change)"},
      {"completion",
       "bash|zsh",
       "print a shell completion script (bash-completion installs the bash one)",
       {},
       {"bash", "zsh"}},
  };
  return list;
}

const std::vector<Option>& globalOptions() {
  static const std::vector<Option> list = {
      {"--socket", "PATH", "control socket (default $SEATBRIDGE_SOCKET, else /run/seatbridge/seatbridge.sock)", "file"},
      {"--json", "", "machine-readable output: the answer's JSON, or one event per line"},
      {"--timeout", "SECONDS", "wait at most this long for each answer (default 10; 0: for ever)"},
      {"--help", "", "this text"},
  };
  return list;
}

const Command* findCommand(const std::string& name) {
  for (const auto& c : commands())
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace sb::ctl
