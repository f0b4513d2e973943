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

// Third-party call control (RFC 3725): our answer to the offer a phone put in
// its 2xx to our offerless INVITE, while the other party is not there yet:
// every stream inactive towards 0.0.0.0 (the RFC's "black hole", §4.2), under
// an origin of our own (`user`, `sessionId`, version 1, `address`). nullopt:
// not SDP Sofia can read.
std::optional<std::string> sdpParkedAnswer(const std::string& offer, const std::string& user, uint64_t sessionId,
                                           const std::string& address);

// `sdp` (the other party's description) re-issued under the origin of `ours`
// (its o= line, version one higher), as our new offer in a dialog where
// `ours` was the last SDP we sent (RFC 3264 §8). nullopt: either is not SDP
// Sofia can read. `sendrecv`: every stream not refused is made sendrecv (the
// description was an answer to someone's hold; the new party is not holding).
std::optional<std::string> sdpUnderOrigin(const std::string& sdp, const std::string& ours, bool sendrecv = false);

}  // namespace sb::sip
