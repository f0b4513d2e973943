#pragma once
// What core/ asks the I/O layers to do after each input: ONE ordered list of
// actions (events to publish, timers to start or cancel, call legs to ring,
// answer, bridge, cancel or hang up). One list, not a vector per kind, because
// the order between kinds matters: "answer the customer's leg" must reach the
// SIP layer before "CANCEL the other fork", and an event must not announce a
// bridge the SIP layer has not been told to make yet.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "core/errors.hpp"

namespace sb::core {

// One event for the control socket. The control layer adds `seq`; `userId` is the
// agent the event concerns (subscriptions filter on it), absent for pure gateway
// events. `data` holds the SDK's payload fields with the SDK's names.
struct Event {
  std::string name;
  std::optional<std::string> userId;
  nlohmann::json data = nlohmann::json::object();
};

// Timer ids are unique for the Gateway's lifetime and never reused, so a firing
// that raced with a cancel is recognised as stale and ignored.
using TimerId = uint64_t;

struct TimerAction {
  enum class Op { start, cancel };
  Op op = Op::start;
  TimerId id = 0;
  TimePoint deadline{};  // monotonic; meaningful for start only
};

// A call leg as core/ names it. Never reused (as TimerId), so a fact about a leg
// that is long gone cannot be mistaken for one about a new leg. 0 is "no leg".
using LegId = uint64_t;

// Where an outbound leg goes.
struct DeskPhoneTarget {
  std::string extensionId;  // the SIP layer forks to every registered contact
};
struct TrunkTarget {
  std::string trunk;   // config trunk name
  std::string number;  // dialled through it (an agent's mobile)
};
using LegTarget = std::variant<DeskPhoneTarget, TrunkTarget>;

// Start an outbound INVITE leg carrying the SDP offer that arrived on `offerFrom`.
struct RingLeg {
  LegId leg = 0;
  LegId offerFrom = 0;
  LegTarget target;
  std::string sessionId;
  std::string callerNumber;  // presented in From
  std::string calleeNumber;  // the number the customer dialled
  // How the caller is presented to a trunk (a customer dialled by an agent):
  // P-Asserted-Identity with callerNumber (RFC 3325 §9.1) and, with privacy,
  // an anonymous From and Privacy: id (RFC 3323 §4.1.1.3, RFC 3325 §9.3).
  bool assertedIdentity = false;
  bool privacy = false;
  // Third-party call control (RFC 3725, docs/ARCHITECTURE.md): offerFrom is 0
  // and the INVITE carries no offer; the device's 2xx brings one, which the SIP
  // layer answers at once with every stream inactive (the leg is parked until
  // ReofferLeg gives it the other party).
  bool thirdParty = false;
  // User data for the far end (Call.startOutboundCall's uui): a User-to-User
  // header, hex-encoded (RFC 7433 §4.1).
  std::string uui;
};
inline RingLeg ringLeg(LegId leg, LegId offerFrom, LegTarget target, std::string sessionId, std::string callerNumber,
                       std::string calleeNumber) {
  RingLeg r;
  r.leg = leg;
  r.offerFrom = offerFrom;
  r.target = std::move(target);
  r.sessionId = std::move(sessionId);
  r.callerNumber = std::move(callerNumber);
  r.calleeNumber = std::move(calleeNumber);
  return r;
}

// A provisional response (180, 183) on an inbound leg not yet answered.
struct SendProvisional {
  LegId leg = 0;
  int code = 180;
  // Carries the early media SDP that `with`'s own 18x brought, if any (a
  // customer's network playing ringback or an announcement); 0: no body.
  LegId with = 0;
  // Anchored media, queue music (code 183): the SIP layer answers the leg's
  // offer itself (its own SDP, one G.711 law) so that the music core plays
  // to it is heard while it waits; the 200 repeats that answer (RFC 3261
  // §13.2.1). Without an offer it can answer, a 180 without a body instead.
  bool answerHere = false;
};
// 200 OK on inbound `leg` with the SDP answer that arrived on `with`'s 2xx.
struct AnswerLeg {
  LegId leg = 0;
  LegId with = 0;
};
// From now on in-dialog requests on one leg are relayed to the other.
struct BridgeLegs {
  LegId a = 0;
  LegId b = 0;
  // Anchored media: the leg (an agent's) whose own holds the SIP layer
  // answers itself instead of relaying them, reporting LegHeld, so that core
  // plays the hold music to the other (docs/CORE.md, "Hold"); 0 for none.
  LegId ownHold = 0;
};
// CANCEL an outbound leg still ringing (every fork). If a 2xx crosses the CANCEL,
// the SIP layer ACKs and BYEs it (RFC 3261 §9.1, §15) and reports nothing more.
struct CancelLeg {
  LegId leg = 0;
};
// A final non-2xx response on an inbound leg not yet answered.
struct RejectLeg {
  LegId leg = 0;
  int code = 480;
  std::string phrase;  // empty: the standard phrase
};
// Ask a ringing desk phone to answer by itself: NOTIFY with `Event: talk` in
// each early dialog whose 18x offered it (the BroadSoft "talk" package that
// Polycom, Yealink, Snom, Grandstream and Fanvil phones implement). The phone's
// 200 then arrives as any answer does (LegAnswered).
struct AnswerRemotely {
  LegId leg = 0;
};
// BYE an answered leg. On a leg in any other state the SIP layer ends it the way
// that state needs (CANCEL, or a final response), so a hang-up can never be lost
// to a race between core's view and the wire.
struct HangUpLeg {
  LegId leg = 0;
};

// Send DTMF digits on an answered leg, one after the other, each once the one
// before it has its answer (SIP INFO application/dtmf-relay while media is not
// anchored; call_legs_digits.cpp). `digits` are validated: 0-9 * # A-D.
struct SendDigits {
  LegId leg = 0;
  std::string digits;
};

// Put an answered leg on hold or take it off (RFC 3264 §8.4): a re-INVITE of
// the SDP the leg last got from us, each stream without its receive direction
// (sendrecv -> sendonly) or with it back, session version raised
// (call_legs_hold.cpp).
struct HoldLeg {
  LegId leg = 0;
  bool hold = true;
};

// Third-party call control: a re-INVITE of a parked leg offering the SDP that
// `with` last sent us (its 2xx, or its latest offer or answer), under the
// leg's own origin (RFC 3264 §8), every stream sendrecv unless `with` holds
// the call itself. `then`: once the leg answers 2xx, that leg is re-offered
// the answer in the same way, so two parties that were each talking to
// someone else end with each other's current SDP (attended transfer).
struct ReofferLeg {
  LegId leg = 0;
  LegId with = 0;
  LegId then = 0;
};

// How a REFER's transfer went (RFC 3515 §2.4.4): NOTIFY in the leg's dialog,
// Event: refer, a message/sipfrag status line; 200 and above end the implicit
// subscription.
struct NotifyRefer {
  LegId leg = 0;
  int code = 200;
};

// Anchored media: what `leg` sends reaches the other party as silence
// (Call.muteMic: the customer hears nothing of the agent), or again as it is.
struct MuteLeg {
  LegId leg = 0;
  bool muted = true;
};

// Anchored media: hold music (the file, "" for the built-in chime) played to
// `leg` instead of the other party, or stopped (the other party heard again).
struct PlayToLeg {
  LegId leg = 0;
  bool play = true;
  std::string file;
};

// Anchored media: the recording of `leg` (the customer's: what it sends and
// what it hears) into `path` (start appends when the file exists), paused,
// resumed or stopped (docs/CORE.md, "Recording").
struct RecordLeg {
  enum class Op { start, pause, resume, stop };
  LegId leg = 0;
  Op op = Op::start;
  std::string path;
  bool stereo = true;
};

// Anchored media: what `leg` hears instead of the party it is bridged to,
// the sum of `sources` each at its gain: one row of the call's gain matrix
// (docs/CORE.md, "Supervisor"); no sources: the bridged party again.
struct MixSource {
  LegId leg = 0;
  float gain = 1.0f;
};
struct MixLeg {
  LegId leg = 0;
  std::vector<MixSource> sources;
};

// An ended session's record changed after sessionEnded archived it (a leg's
// final call quality arrives as its endpoint closes): the host writes it
// again, the store replacing the earlier copy.
struct UpdateRecord {
  std::string sessionId;
};

using Action = std::variant<Event, TimerAction, RingLeg, SendProvisional, AnswerLeg, BridgeLegs, CancelLeg, RejectLeg,
                            AnswerRemotely, HangUpLeg, SendDigits, HoldLeg, ReofferLeg, NotifyRefer, MuteLeg, PlayToLeg,
                            RecordLeg, MixLeg, UpdateRecord>;

struct Outputs {
  std::vector<Action> actions;

  bool empty() const { return actions.empty(); }
  void push(Action a) { actions.push_back(std::move(a)); }
  void append(Outputs&& other);
  // Copies of one kind, in order: for tests and for readers that want one kind.
  std::vector<Event> events() const { return only<Event>(); }
  std::vector<TimerAction> timers() const { return only<TimerAction>(); }
  template <typename T>
  std::vector<T> only() const {
    std::vector<T> out;
    for (const auto& a : actions)
      if (const T* t = std::get_if<T>(&a)) out.push_back(*t);
    return out;
  }
};

// A method call's answer plus what it caused. The I/O layer replies with `result`
// and then performs `outputs` (events after the reply is queued is fine: the
// control layer orders them by seq anyway).
struct Outcome {
  Result result;
  Outputs outputs;

  // A method answer with nothing else to do: the shapes every handler returns.
  static Outcome failure(std::string_view code, std::string message) {
    return Outcome{Result::failure(code, std::move(message)), {}};
  }
  static Outcome success(nlohmann::json data) { return Outcome{Result::success(std::move(data)), {}}; }
};

inline void Outputs::append(Outputs&& other) {
  for (auto& a : other.actions) actions.push_back(std::move(a));
}

}  // namespace sb::core
