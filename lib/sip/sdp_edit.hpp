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

// Anchored media (docs/MEDIA.md, "Anchored media"): the audio stream
// of a description, as the media engine needs it. `address` and `port` are
// where its author receives RTP (media-level c= before session-level, RFC 4566
// §5.7); `rtcpPort` its a=rtcp port (RFC 3605), 0 for port + 1; `sends`
// whether it sends at all (sendrecv or sendonly, and not c=0.0.0.0).
struct SdpAudio {
  std::string address;
  uint16_t port = 0;
  uint16_t rtcpPort = 0;
  bool sends = true;
  int telephoneEvent = -1;  // the payload type of its telephone-event (RFC 4733 §7), -1 for none
  // Its first format: in an answer, the codec it sends (RFC 3264 §6.1: the
  // answerer's preferred); -1 for none.
  int format = -1;
  // The G.711 laws it lists (media::kPcmu 1, media::kPcma 2, as bits).
  uint8_t laws = 0;
  // In an answer: whether the codec it sends is one the media engine decodes
  // (PCMU, PCMA); with no format at all, taken as so.
  bool decodable() const { return format < 0 || format == 0 || format == 8; }
};
// The first audio stream not refused; nullopt when there is none, or the
// description is not SDP Sofia can read.
std::optional<SdpAudio> sdpAudio(const std::string& sdp);

// `sdp` as seatbridge hands it to a leg when it anchors the audio: the first
// audio stream's connection (session and media level) is `address`, its port
// `port`, an a=rtcp line dropped (RTCP then goes to port + 1, RFC 3550 §11);
// every other stream is refused (port 0, RFC 3264 §6), as seatbridge relays
// audio alone; the origin's address is ours too (the session id and version
// stay the author's, so a later re-offer still counts up from them). A
// description whose audio stream is held with c=0.0.0.0 keeps 0.0.0.0.
// nullopt: not SDP Sofia can read, or no audio stream.
std::optional<std::string> sdpAnchored(const std::string& sdp, const std::string& address, uint16_t port);

// Our answer to an offer on a leg whose SDP we answer ourselves (anchored
// media: a desk phone's own hold, docs/ARCHITECTURE.md "Hold and the SDP
// seatbridge writes"): `ours`, the last description the leg got from us, with
// each stream's direction the mirror of the offer's (RFC 3264 §6.1: sendonly
// or c=0.0.0.0 -> recvonly, inactive -> inactive, sendrecv -> sendrecv), its
// formats narrowed to those the offer still has, and its session version one
// higher (§8). nullopt: either is not SDP Sofia can read, or their streams do
// not line up (then the offer is not a hold of the session we negotiated).
std::optional<std::string> sdpMirroredAnswer(const std::string& offer, const std::string& ours);

// Queue music as early media (RFC 3261 §13.2.1; docs/MEDIA.md,
// "Anchored media"): seatbridge's own answer to a customer's offer, sent in a
// 183 while the call waits and again, unchanged, in the 200. Its first audio
// stream at `address`:`port`, with one codec, the first G.711 law the offer
// lists, and the offer's telephone-event at 8000 Hz if any; its direction
// the mirror of the offer's (RFC 3264 §6.1); every other stream refused
// (port 0, §6); under an origin of our own (`user`, `sessionId`, version 1,
// `address`). nullopt: not SDP Sofia can read, no audio, or no G.711 in it.
std::optional<std::string> sdpOwnAnswer(const std::string& offer, const std::string& user, uint64_t sessionId,
                                        const std::string& address, uint16_t port);

// `offer` with its first audio stream's formats narrowed to those of
// `answer`'s first audio stream: the customer's offer as an agent's phone
// gets it once we answered the customer ourselves (sdpOwnAnswer), so that
// both legs use the one codec. nullopt: either has no audio Sofia can read.
std::optional<std::string> sdpNarrowed(const std::string& offer, const std::string& answer);

// PCMU <-> PCMA (the media engine transcodes between them): an offer listing
// one G.711 law gets the other one added right after it, so a phone that has
// only the other can still take the call. nullopt: it lists both or neither,
// or has no audio Sofia can read (the offer goes as it is).
std::optional<std::string> sdpWithBothLaws(const std::string& offer);

// The answer an offerer gets when the other leg answered our widened offer
// (sdpWithBothLaws) in the law the offerer did not list: that law replaced by
// the offerer's own (its number and name as offered), RFC 3264 §6.1's "the
// answer's formats are among the offer's"; the engine transcodes between the
// legs. nullopt: nothing to change (every law answered was offered, or the
// offer has no G.711), or not SDP Sofia can read.
std::optional<std::string> sdpAnswerInOfferedLaw(const std::string& answer, const std::string& offer);

}  // namespace sb::sip
