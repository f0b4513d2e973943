#pragma once
// media.rtpPorts: the even ports RTP may use, each with the odd one above for
// RTCP (RFC 3550 §11: RTP on an even port, RTCP on the next). Taken by the SIP
// thread when it writes an SDP for a leg, given back by the media thread when
// the leg's endpoint closes, hence the lock. A port in use by someone else is
// skipped when its bind fails; the pool hands ports out round-robin so a port
// just freed is not reused at once (late packets of the old call would reach
// the new one).
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sb::media {

// One leg's pair of bound UDP sockets (non-blocking, close-on-exec).
struct SocketPair {
  int rtp = -1;
  int rtcp = -1;
  uint16_t port = 0;  // the RTP port; RTCP is port + 1
};

class PortPool {
 public:
  // [low, high], both inclusive; odd bounds are moved inwards to even ports.
  PortPool(std::string bindAddress, uint16_t low, uint16_t high);

  // A pair bound on the pool's address, or nullopt when every port is taken.
  std::optional<SocketPair> open();
  // Closes the sockets and frees the port.
  void close(SocketPair& pair);

  size_t capacity() const { return inUse_.size(); }
  size_t inUse() const;

 private:
  std::string address_;
  uint16_t low_;
  mutable std::mutex mutex_;
  std::vector<bool> inUse_;  // guarded by mutex_, one per even port
  size_t next_ = 0;          // guarded by mutex_: where the round-robin search starts
};

}  // namespace sb::media
