#pragma once
// Facts the SIP layer reports to core/ about calls, each with `now`. Plain data:
// no SIP types cross into core/. Legs are named by the LegId core/ gave them.
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "core/outputs.hpp"

namespace sb::core {

// A new INVITE from a trunk, already matched to the trunk by its source. core/
// answers with the LegId it gives the customer's leg and what to do with it.
struct InboundCall {
  std::string trunk;
  std::string number;                                // the dialled number (Request-URI user, else To user)
  std::string callerNumber;                          // the customer (From user)
  std::string callerName;                            // From display name, may be empty
  nlohmann::json ivrPath = nlohmann::json::array();  // [{key,label}] from the PBX's header, may be empty
  // Set when the INVITE came from a desk phone, digest-authenticated as this
  // extension (trunk empty): the agent is placing a call to `number`.
  std::string extension;
};

// An outbound leg got a provisional response with a code > 100. Reported again
// when a later one is the first to offer remote answer.
struct LegRinging {
  LegId leg = 0;
  int code = 180;
  // A desk phone's 18x listed the `talk` event package in Allow-Events: it
  // answers when told to (AnswerRemotely, Call.accept).
  bool remoteAnswer = false;
  // The 18x carried SDP (early media); reported again for the first such 18x.
  bool earlyMedia = false;
};
// An outbound leg was answered (2xx; the SIP layer has ACKed it).
struct LegAnswered {
  LegId leg = 0;
  // Anchored media: its codec is one seatbridge decodes (PCMU, PCMA); false
  // for any other (G.722, Opus...), relayed but never decoded: features that
  // decode are refused on the call (docs/CORE.md, "Codecs").
  bool decodable = true;
};
// Anchored media: a leg's answer to a later offer (a relayed re-INVITE or
// UPDATE, a re-offer's ACK) names a codec anew: decodable as in LegAnswered.
struct LegCodec {
  LegId leg = 0;
  bool decodable = true;
};
// An outbound leg failed before it was answered: a final non-2xx, or the SIP
// layer's own 408 (no answer, Timer B) / 503 (transport error, no contact).
struct LegFailed {
  LegId leg = 0;
  int code = 0;
};
// A refusal by the person (RFC 3261 §21.4.7 486, §21.6.2 600, §21.6.3 603) moves
// the call on as a rejection; anything else (408, 480, 5xx) means the device
// did not answer: a missed offer.
inline bool isRefusal(int code) { return code == 486 || code == 600 || code == 603; }
// The customer's inbound leg was CANCELled before the answer (the SIP layer has
// answered 200 to the CANCEL and 487 to the INVITE, RFC 3261 §9.2).
struct LegCancelled {
  LegId leg = 0;
};
// An established leg is gone: the far end sent BYE (code 0), or the dialog died
// (408: our 2xx was never ACKed, Timer H, or a request in it timed out; 481).
struct LegEnded {
  LegId leg = 0;
  int code = 0;
};

// A key pressed on a leg, as the SIP layer saw it (an INFO with
// application/dtmf-relay or application/dtmf; RFC 4733 events once media is
// anchored). `digit` is one of 0-9 * # A-D.
struct LegDigit {
  LegId leg = 0;
  char digit = 0;
};

// The far end of a leg put the call on hold or took it off itself: its
// re-INVITE's (or UPDATE's) SDP asks to receive nothing (sendonly, inactive,
// c=0.0.0.0), or asks again; reported when that changes.
struct LegHeld {
  LegId leg = 0;
  bool held = true;
};

// A desk phone's transfer key (RFC 3515): a REFER in its answered dialog,
// already answered 202 with a first NOTIFY (100 Trying). `target` is the
// Refer-To URI's user part: an extension or a configured number. Attended
// (the Refer-To carried Replaces, RFC 3891): `replaces` is the leg whose
// dialog it names, the phone's other call with us (0: no dialog of ours).
struct LegRefer {
  LegId leg = 0;
  std::string target;
  bool attended = false;
  LegId replaces = 0;
};

// Anchored media: the recording of the leg could not go on (its file, or a
// codec seatbridge does not decode); the call itself is untouched.
struct LegRecordingFailed {
  LegId leg = 0;
  std::string reason;
};

// Anchored media: the leg's call quality from RTCP (lib/media/rtcp.hpp),
// every few seconds while it has a stream and once more, `final`, when its
// endpoint closes (after the call ended: core keeps the ended session's
// legs for it). rttMs -1: not measured.
struct LegQuality {
  LegId leg = 0;
  double mos = 0, jitterMs = 0, lossPercent = 0, rttMs = -1;
  bool final = false;
};

using LegFact = std::variant<LegRinging, LegAnswered, LegFailed, LegCancelled, LegEnded, LegDigit, LegHeld, LegRefer,
                             LegRecordingFailed, LegQuality, LegCodec>;

// What core/ decided for an inbound call.
struct InboundDecision {
  LegId leg = 0;  // the customer's leg; the SIP layer files it under this id first
  Outputs outputs;
};

}  // namespace sb::core
