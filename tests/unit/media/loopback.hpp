#pragma once
// Loopback stand-ins for the media engine's tests: "phones" (plain UDP
// sockets on 127.0.0.1) each talking to their leg's endpoint, as a bridged
// call's phone and PBX would, and a two-leg call set up on an engine.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "media/engine.hpp"
#include "media/rtp.hpp"

namespace sb::media::testing {

// A UDP socket on 127.0.0.1 standing for a phone's RTP port.
struct Phone {
  int fd = -1;
  uint16_t port = 0;
  Phone() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa = address(0);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    port = ntohs(sa.sin_port);
  }
  ~Phone() { ::close(fd); }
  Phone(const Phone&) = delete;
  Phone& operator=(const Phone&) = delete;
  static sockaddr_in address(uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
  }
  sockaddr_in self() const { return address(port); }
  void send(uint16_t to, const std::vector<uint8_t>& data) const {
    sockaddr_in sa = address(to);
    REQUIRE(::sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) ==
            static_cast<ssize_t>(data.size()));
  }
  // The next datagram within `ms`, with where it came from.
  std::optional<std::vector<uint8_t>> receive(int ms = 2000, sockaddr_in* from = nullptr) const {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, ms) != 1) return std::nullopt;
    std::vector<uint8_t> buf(2048);
    sockaddr_in src{};
    socklen_t len = sizeof src;
    const ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&src), &len);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<size_t>(n));
    if (from) *from = src;
    return buf;
  }
};

inline std::vector<uint8_t> rtp(uint16_t seq, uint32_t ts, uint32_t ssrc) {
  std::vector<uint8_t> p(12 + 160, 0xd5);
  writeRtpHeader(p.data(), 0, false, seq, ts, ssrc);
  return p;
}

// Ports no other test of this binary uses, inside the unprivileged range.
inline EngineConfig config(uint16_t low, int timeoutSeconds = 30) {
  EngineConfig c;
  c.bindAddress = "127.0.0.1";
  c.portLow = low;
  c.portHigh = static_cast<uint16_t>(low + 40);
  c.rtpTimeoutSeconds = timeoutSeconds;
  return c;
}

// Two legs, each with its endpoint told its phone's address, paired.
struct Call {
  Phone customer, agent;
  MediaEngine engine;
  uint16_t customerPort = 0, agentPort = 0;
  explicit Call(EngineConfig c, MediaEngine::Report report = {}) : engine(c, std::move(report)) {
    engine.start();
    customerPort = *engine.endpoint(1);
    agentPort = *engine.endpoint(2);
    engine.remote(1, customer.self(), 0, true);
    engine.remote(2, agent.self(), 0, true);
    engine.pair(1, 2);
    engine.sync([] {});
  }
};


}  // namespace sb::media::testing
