#pragma once
// seatbridgectl's side of the control socket: connect (with an operator-facing
// explanation when it cannot), read NDJSON lines, call a method and wait for its
// answer while keeping any events that arrive meanwhile.
#include <nlohmann/json.hpp>

#include <deque>
#include <optional>
#include <stdexcept>
#include <string>

namespace sb::ctl {

// seatbridgectl's exit codes (docs/OPERATIONS.md, "seatbridgectl"): stable, so
// scripts can tell "the daemon said no" from "there is no daemon".
enum ExitCode : int {
  kExitOk = 0,
  kExitMethodError = 1,  // the daemon answered an error (errorCode on stderr)
  kExitUsage = 2,        // bad command line
  kExitConnect = 3,      // no socket, nothing listening, not permitted
  kExitProtocol = 4,     // connected, then: closed, not the protocol, or no answer in time
};

// An error to print as is; `code` is the exit code it maps to.
struct CtlError : std::runtime_error {
  CtlError(ExitCode c, const std::string& what) : std::runtime_error(what), code(c) {}
  ExitCode code;
};

class Client {
 public:
  // Connects and reads the `ready` line, waiting at most `timeoutMs` for each
  // answer (0: for ever). Throws CtlError.
  explicit Client(const std::string& path, int timeoutMs = 0);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& tabUuid() const { return tabUuid_; }
  uint64_t readySeq() const { return readySeq_; }
  int fd() const { return fd_; }

  // The raw answer object ({id, status, data | errorCode, errorMsg}).
  nlohmann::json call(const std::string& method, const nlohmann::json& params);
  // The answer's data, or CtlError(kExitMethodError, "method: errorCode: errorMsg").
  nlohmann::json callOk(const std::string& method, const nlohmann::json& params);
  // The next line: an event kept while waiting for an answer, or a new one.
  // Blocks (no timeout: events come when they come). Returns the raw line too
  // (for --json). Throws CtlError at end of stream.
  nlohmann::json next(std::string* raw = nullptr);

  // For a poll(2) loop (top): a line already read, if any, without blocking.
  std::optional<std::string> takeLine();
  // One read(2) into the buffer, after poll said the socket is readable.
  // Throws CtlError at end of stream.
  void readSome();

 private:
  // A line, waiting at most timeoutMs_ (0: for ever) for it.
  std::string readLine();

  int fd_ = -1;
  int timeoutMs_ = 0;
  std::string path_;
  std::string buffer_;
  std::deque<std::string> pending_;  // events read while waiting for an answer
  std::string tabUuid_;
  uint64_t readySeq_ = 0;
  int64_t nextId_ = 1;
};

}  // namespace sb::ctl
