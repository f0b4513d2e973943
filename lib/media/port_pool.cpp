#include "media/port_pool.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace sb::media {
namespace {

int bound(const std::string& address, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1) return -1;
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

PortPool::PortPool(std::string bindAddress, uint16_t low, uint16_t high) : address_(std::move(bindAddress)) {
  const uint32_t lo = low + (low % 2);
  const uint32_t hi = high - (high % 2 == 0 ? 0 : 1);
  if (lo == 0 || hi < lo || hi + 1 > 65535) throw std::invalid_argument("media.rtpPorts: no even port pair in range");
  low_ = static_cast<uint16_t>(lo);
  inUse_.assign((hi - lo) / 2 + 1, false);
}

std::optional<SocketPair> PortPool::open() {
  std::lock_guard lock(mutex_);
  for (size_t tried = 0; tried < inUse_.size(); ++tried) {
    const size_t i = (next_ + tried) % inUse_.size();
    if (inUse_[i]) continue;
    const auto port = static_cast<uint16_t>(low_ + 2 * i);
    SocketPair p{bound(address_, port), -1, port};
    if (p.rtp >= 0) p.rtcp = bound(address_, static_cast<uint16_t>(port + 1));
    if (p.rtp < 0 || p.rtcp < 0) {
      if (p.rtp >= 0) ::close(p.rtp);
      continue;  // someone else's port: try the next
    }
    inUse_[i] = true;
    next_ = (i + 1) % inUse_.size();
    return p;
  }
  return std::nullopt;
}

void PortPool::close(SocketPair& pair) {
  for (int* fd : {&pair.rtp, &pair.rtcp})
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
  if (pair.port < low_) return;
  std::lock_guard lock(mutex_);
  const size_t i = (pair.port - low_) / 2;
  if (i < inUse_.size()) inUse_[i] = false;
  pair.port = 0;
}

size_t PortPool::inUse() const {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  for (bool b : inUse_) n += b;
  return n;
}

}  // namespace sb::media
