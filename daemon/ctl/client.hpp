#pragma once
// seatbridgectl's side of the control socket: connect (with an operator-facing
// explanation when it cannot), read NDJSON lines, call a method and wait for its
// answer while keeping any events that arrive meanwhile.
#include <nlohmann/json.hpp>

#include <deque>
#include <stdexcept>
#include <string>

namespace sb::ctl {

// An error to print as is (exit code 1).
struct CtlError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Client {
 public:
  // Connects and reads the `ready` line. Throws CtlError.
  explicit Client(const std::string& path);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& tabUuid() const { return tabUuid_; }
  uint64_t readySeq() const { return readySeq_; }

  // The raw answer object ({id, status, data | errorCode, errorMsg}).
  nlohmann::json call(const std::string& method, const nlohmann::json& params);
  // The answer's data, or CtlError "errorCode: errorMsg".
  nlohmann::json callOk(const std::string& method, const nlohmann::json& params);
  // The next line: an event kept while waiting for an answer, or a new one.
  // Returns the raw line too (for --json). Throws CtlError at end of stream.
  nlohmann::json next(std::string* raw = nullptr);

 private:
  std::string readLine();

  int fd_ = -1;
  std::string path_;
  std::string buffer_;
  std::deque<std::string> pending_;  // events read while waiting for an answer
  std::string tabUuid_;
  uint64_t readySeq_ = 0;
  int64_t nextId_ = 1;
};

}  // namespace sb::ctl
