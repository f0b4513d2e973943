#pragma once
// Binds the control socket: creates its folder, replaces a stale socket file left
// by a crash (but never a live one or a non-socket), applies control.mode.
#include <string>

namespace sb::control {

// Returns a listening, non-blocking descriptor; throws std::runtime_error.
int bindUnixSocket(const std::string& path, unsigned mode);

// The peer's uid through SO_PEERCRED, or -1.
long peerUid(int fd);

}  // namespace sb::control
