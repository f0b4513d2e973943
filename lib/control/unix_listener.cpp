#include "control/unix_listener.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace sb::control {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("control.socket " + path + ": " + what);
}

sockaddr_un address(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) fail(path, "path is longer than a Unix socket allows");
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  return sa;
}

bool someoneListens(const sockaddr_un& sa) {
  const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return false;
  const bool live = connect(probe, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
  close(probe);
  return live;
}

}  // namespace

int bindUnixSocket(const std::string& path, unsigned mode) {
  const sockaddr_un sa = address(path);
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) fail(path, "cannot create folder: " + ec.message());
  struct stat st{};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) fail(path, "exists and is not a socket");
    if (someoneListens(sa)) fail(path, "another process is listening on it (is seatbridged already running?)");
    unlink(path.c_str());
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(path, std::string("socket: ") + std::strerror(errno));
  if (bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    const int err = errno;
    close(fd);
    fail(path, std::string("bind: ") + std::strerror(err));
  }
  if (chmod(path.c_str(), mode) != 0 || listen(fd, 64) != 0) {
    const int err = errno;
    close(fd);
    fail(path, std::strerror(err));
  }
  return fd;
}

long peerUid(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
  return static_cast<long>(cred.uid);
}

}  // namespace sb::control
