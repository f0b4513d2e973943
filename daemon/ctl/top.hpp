#pragma once
// `seatbridgectl top`: the live view (top_model.hpp) on a terminal, drawn with a
// handful of ANSI/VT100 escape codes (docs/ARCHITECTURE.md says why not ncurses).
#include <string>

namespace sb::ctl {

struct TopOptions {
  std::string socket;
  int timeoutMs = 10000;  // for each snapshot call
  bool json = false;      // one JSON line per change instead of the screen
};

// Runs until `q` (exit 0). SIGINT/SIGTERM restore the terminal and end the
// process by that signal. Interactive: a lost connection is shown and retried
// every second. With --json, or when the first connection fails, returns the
// exit code (3 or 4) instead.
int runTop(const TopOptions& options);

}  // namespace sb::ctl
