#pragma once
// The few SDP edits the B2BUA makes itself, on Sofia's SDP parser and printer
// (sofia-sip/sdp.h): hold and resume (RFC 3264 §8.4) and the session version
// a changed description must carry (RFC 3264 §8, RFC 4566 §5.2). Bodies that
// are only relayed are not parsed here.
#include <cstdint>
#include <optional>
#include <string>

namespace sb::sip {

// How a description's author wants its streams: held means no stream of it
// asks to receive (each is sendonly or inactive, c=0.0.0.0 counting as
// sendonly, the RFC 2543 way phones still hold). nullopt: not SDP Sofia can read,
// or no stream at all.
std::optional<bool> sdpHeld(const std::string& sdp);

// `sdp` re-issued by us: with `hold`, every stream loses its receive direction
// (sendrecv -> sendonly, recvonly -> inactive); without, gains it back
// (sendonly -> sendrecv, inactive -> recvonly); and the o= session version
// raised by `versionStep`. nullopt: not SDP Sofia can read.
std::optional<std::string> sdpReissued(const std::string& sdp, bool hold, uint64_t versionStep);

// `sdp` with its o= session version raised by `step` (0: unchanged); what is
// not SDP comes back as it is.
std::string sdpVersionShifted(const std::string& sdp, uint64_t step);

}  // namespace sb::sip
