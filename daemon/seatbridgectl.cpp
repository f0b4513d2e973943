// seatbridgectl: the operator's client for the control socket.
// This first version knows one command, `status` (Gateway.status); the other
// commands (agents, extensions, sessions, call, events) arrive with the full
// control protocol.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

constexpr const char* kDefaultSocket = "/run/seatbridge/seatbridge.sock";

void usage(FILE* out) {
  std::fprintf(out,
               "usage: seatbridgectl [--socket PATH] [--json] status\n"
               "  status   the daemon's Gateway.status: version, uptime, listen addresses, counts\n"
               "options:\n"
               "  --socket PATH  control socket (default %s, or $SEATBRIDGE_SOCKET)\n"
               "  --json         print the raw JSON answer\n"
               "The agents, extensions, sessions, call and events commands come with the\n"
               "full control protocol.\n",
               kDefaultSocket);
}

class Client {
 public:
  explicit Client(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path) throw std::runtime_error(path + ": path too long");
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      const int err = errno;
      std::string hint = err == ENOENT || err == ECONNREFUSED ? " (is seatbridged running?)"
                         : err == EACCES                       ? " (not permitted: check control.mode and allowedUids)"
                                                               : "";
      throw std::runtime_error("cannot connect to " + path + ": " + std::strerror(err) + hint);
    }
  }
  ~Client() { close(fd_); }

  json readMessage() {
    while (true) {
      const auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return json::parse(line);
      }
      char chunk[65536];
      const ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n <= 0) throw std::runtime_error("the daemon closed the connection (not permitted, or stopping)");
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  json call(const std::string& method, const json& params) {
    const std::string line = json{{"id", 1}, {"method", method}, {"params", params}}.dump() + "\n";
    if (write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
      throw std::runtime_error("cannot write to the control socket");
    while (true) {
      json m = readMessage();
      if (m.contains("id") && m["id"] == 1) return m;
    }
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

void printStatus(const json& d) {
  std::printf("version      %s\n", d.value("version", "").c_str());
  std::printf("pid          %lld\n", d.value("pid", 0LL));
  std::printf("uptime       %llds\n", d.value("uptimeSeconds", 0LL));
  std::printf("draining     %s\n", d.value("draining", false) ? "yes" : "no");
  std::printf("config       %s\n", d.value("configFile", "").c_str());
  std::string listen;
  for (const auto& l : d.value("listen", json::array())) listen += (listen.empty() ? "" : ", ") + l.get<std::string>();
  std::printf("listen       %s\n", listen.c_str());
  std::printf("extensions   %lld\n", d.value("extensions", 0LL));
  std::printf("agents       %lld\n", d.value("agents", 0LL));
  std::printf("skillGroups  %lld\n", d.value("skillGroups", 0LL));
  std::printf("trunks       %lld\n", d.value("trunks", 0LL));
}

}  // namespace

int main(int argc, char** argv) {
  std::string socketPath = std::getenv("SEATBRIDGE_SOCKET") ? std::getenv("SEATBRIDGE_SOCKET") : kDefaultSocket;
  bool asJson = false;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--socket" && i + 1 < argc) {
      socketPath = argv[++i];
    } else if (a == "--json") {
      asJson = true;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else {
      args.push_back(a);
    }
  }
  if (args.size() != 1 || args[0] != "status") {
    usage(stderr);
    return 2;
  }
  try {
    Client client(socketPath);
    client.readMessage();  // ready
    const json answer = client.call("Gateway.status", json::object());
    if (answer.value("status", "") != "success") {
      std::fprintf(stderr, "seatbridgectl: %s: %s\n", answer.value("errorCode", "error").c_str(),
                   answer.value("errorMsg", "").c_str());
      return 1;
    }
    if (asJson)
      std::printf("%s\n", answer["data"].dump(2).c_str());
    else
      printStatus(answer["data"]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seatbridgectl: %s\n", e.what());
    return 1;
  }
  return 0;
}
