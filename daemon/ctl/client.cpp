#include "daemon/ctl/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace sb::ctl {

using nlohmann::json;

namespace {

std::string connectHint(int err, const std::string& path) {
  switch (err) {
    case ENOENT:
      return "no control socket at " + path + " (is seatbridged running? is --socket right?)";
    case ECONNREFUSED:
      return "nothing listens on " + path + " (is seatbridged running?)";
    case EACCES:
    case EPERM:
      return "not permitted to open " + path +
             " (the socket's mode is control.mode; run as the daemon's user, "
             "root, or a member of its group)";
    default:
      return "cannot connect to " + path + ": " + std::strerror(err);
  }
}

std::string errorText(const json& answer) {
  return answer.value("errorCode", std::string("error")) + ": " + answer.value("errorMsg", std::string());
}

const char* kClosed = "the daemon closed the connection (stopping, or this client is not permitted)";

}  // namespace

Client::Client(const std::string& path, int timeoutMs) : timeoutMs_(timeoutMs), path_(path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) throw CtlError(kExitConnect, path + ": path too long for a Unix socket");
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw CtlError(kExitConnect, std::string("socket: ") + std::strerror(errno));
  if (connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    const int err = errno;
    close(fd_);
    fd_ = -1;
    throw CtlError(kExitConnect, connectHint(err, path));
  }
  const json ready = json::parse(readLine(), nullptr, false);
  // The daemon refuses a peer it does not permit (SO_PEERCRED) with one error
  // line: a permission failure, like EACCES on the socket file.
  if (ready.is_object() && ready.value("status", "") == "error")
    throw CtlError(kExitConnect, "the daemon refused this connection: " + errorText(ready));
  if (!ready.is_object() || ready.value("event", "") != "ready")
    throw CtlError(kExitProtocol, path + " does not speak the seatbridge control protocol");
  tabUuid_ = ready["data"].value("tabUUID", "");
  readySeq_ = ready.value("seq", uint64_t{0});
}

Client::~Client() {
  if (fd_ >= 0) close(fd_);
}

void Client::readSome() {
  char chunk[65536];
  ssize_t n;
  do {
    n = read(fd_, chunk, sizeof chunk);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) throw CtlError(kExitProtocol, kClosed);
  buffer_.append(chunk, static_cast<size_t>(n));
}

std::optional<std::string> Client::takeLine() {
  if (!pending_.empty()) {
    std::string line = std::move(pending_.front());
    pending_.pop_front();
    return line;
  }
  const auto nl = buffer_.find('\n');
  if (nl == std::string::npos) return std::nullopt;
  std::string line = buffer_.substr(0, nl);
  buffer_.erase(0, nl + 1);
  return line;
}

std::string Client::readLine() {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::milliseconds(timeoutMs_);
  while (true) {
    const auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (timeoutMs_ > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
      pollfd p{fd_, POLLIN, 0};
      const int r = left > 0 ? poll(&p, 1, static_cast<int>(left)) : 0;
      if (r < 0 && errno == EINTR) continue;
      if (r == 0)
        throw CtlError(kExitProtocol, "no answer from the daemon within " + std::to_string(timeoutMs_) +
                                          " ms (--timeout); it may be wedged");
    }
    readSome();
  }
}

json Client::call(const std::string& method, const json& params) {
  const int64_t id = nextId_++;
  const std::string line = json{{"id", id}, {"method", method}, {"params", params}}.dump() + "\n";
  size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw CtlError(kExitProtocol, "cannot write to the control socket: " + std::string(std::strerror(errno)));
    sent += static_cast<size_t>(n);
  }
  while (true) {
    std::string raw = readLine();
    json m = json::parse(raw, nullptr, false);
    if (m.is_discarded() || !m.is_object())
      throw CtlError(kExitProtocol, path_ + " sent a line that is not a JSON object");
    if (m.contains("status") && (m["id"] == id || m["id"].is_null())) return m;
    pending_.push_back(std::move(raw));
  }
}

json Client::callOk(const std::string& method, const json& params) {
  json answer = call(method, params);
  if (answer.value("status", "") != "success") throw CtlError(kExitMethodError, method + ": " + errorText(answer));
  return answer.value("data", json::object());
}

json Client::next(std::string* raw) {
  std::string line;
  if (auto kept = takeLine()) {
    line = std::move(*kept);
  } else {
    const int saved = timeoutMs_;
    timeoutMs_ = 0;  // events have no deadline
    try {
      line = readLine();
    } catch (...) {
      timeoutMs_ = saved;
      throw;
    }
    timeoutMs_ = saved;
  }
  json m = json::parse(line, nullptr, false);
  if (raw) *raw = std::move(line);
  return m;
}

}  // namespace sb::ctl
