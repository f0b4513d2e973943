// Anchored media (media.mode anchored; docs/MEDIA.md, "Anchored
// media"): every SDP a leg gets from us names seatbridge's own RTP endpoint
// for that leg (lib/media), and every SDP a leg sends tells the engine where
// that leg receives and whether it sends. Audio flows between two legs once
// core bridges them (BridgeLegs pairs their endpoints, and a transfer's new
// bridge moves the customer's audio with it) or, before the answer, once one's
// early media is passed to the other. Without an engine (bypass) both are the
// identity.
#include <arpa/inet.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>

#include "common/log.hpp"
#include "media/engine.hpp"
#include "metrics/metrics.hpp"
#include "sip/call_legs_parts.hpp"
#include "sip/sdp_edit.hpp"

namespace sb::sip {
namespace {

// RFC 4566 §5: a description starts with its version line.
bool looksLikeSdp(const std::string& body) { return body.compare(0, 4, "v=0\r") == 0 || body.compare(0, 4, "v=0\n") == 0; }

}  // namespace

void CallLegs::setMedia(media::MediaEngine* engine, std::string address) {
  media_ = engine;
  mediaAddress_ = std::move(address);
}

std::string CallLegs::present(Leg& to, const std::string& body) {
  if (!media_ || !looksLikeSdp(body)) return body;
  const std::optional<uint16_t> port = media_->endpoint(to.id);
  if (!port) {
    // media.rtpPorts is exhausted: this leg's audio goes past us, as in bypass.
    SB_WARN("media", "leg %llu: no RTP port left in media.rtpPorts; its audio is not anchored",
            static_cast<unsigned long long>(to.id));
    return body;
  }
  return sdpAnchored(body, mediaAddress_, *port).value_or(body);
}

// `silent`: the leg may send nothing and not be timed out (a phone holding
// with sendonly that we answered ourselves often sends no music of its own).
std::optional<SdpAudio> CallLegs::learn(Leg& from, const std::string& body, bool silent) {
  if (!media_ || !looksLikeSdp(body)) return std::nullopt;
  std::optional<SdpAudio> audio = sdpAudio(body);
  if (!audio) return std::nullopt;
  sockaddr_in where{};
  where.sin_family = AF_INET;
  where.sin_port = htons(audio->port);
  if (inet_pton(AF_INET, audio->address.c_str(), &where.sin_addr) != 1) {
    SB_WARN("media", "leg %llu: its SDP's address '%s' is not IPv4; latching on its first packet",
            static_cast<unsigned long long>(from.id), audio->address.c_str());
    where.sin_addr.s_addr = INADDR_ANY;
  }
  if (!media_->endpoint(from.id)) return audio;
  // Our own answer fixed its law (queue music, earlyAnswer): that one alone
  // until its dialog is confirmed; from then on what it negotiates anew.
  const std::optional<SdpAudio> ours =
      from.ownAnswer.empty() || from.state == Leg::State::confirmed ? std::nullopt : sdpAudio(from.ownAnswer);
  media_->remote(from.id, where, audio->rtcpPort, audio->sends && !silent, audio->telephoneEvent,
                 ours ? ours->laws : audio->laws);
  return audio;
}

// A re-offer keeps what the first offer had (ring(), ReofferLeg): both G.711
// laws, so a phone with only the other one still answers, the engine
// transcoding; and an answer names the law its offerer listed (RFC 3264
// §6.1). A leg whose SDP seatbridge wrote itself (our early answer, queue
// music) keeps our origin, one version further each time (RFC 3264 §8: o=
// changes only in its version within a session); any other leg gets its
// peer's origin, raised by the versions our holds added (LegHold::versionShift).
std::string CallLegs::relayedSdp(Leg& to, const std::string& body, const std::string& offer) {
  if (!media_ || !looksLikeSdp(body)) return sdpVersionShifted(body, to.hold.versionShift);
  std::string sdp = offer.empty() ? sdpWithBothLaws(body).value_or(body) : sdpAnswerInOfferedLaw(body, offer).value_or(body);
  if (!to.ownAnswer.empty() && !to.session.localSdp.empty())
    sdp = sdpUnderOrigin(sdp, to.session.localSdp).value_or(sdp);
  else
    sdp = sdpVersionShifted(sdp, to.hold.versionShift);
  return present(to, sdp);
}

void CallLegs::renegotiated(Leg& leg, const std::optional<SdpAudio>& answer) {
  if (answer) report(core::LegCodec{leg.id, answer->decodable()});
}

void CallLegs::muteLeg(const core::MuteLeg& a) {
  if (media_) media_->mute(a.leg, a.muted);
}

// RFC 3261 §13.3.1.1: early media in a 183 Session Progress. Our answer, not
// an agent's: the customer hears the engine's queue music from its own
// endpoint until an agent answers, when the same answer goes in the 200
// (§13.2.1) and the agent's phone, offered the customer's SDP narrowed to
// our answer's codec (ring()), is paired with it. The 183 is sent unreliably
// (RFC 3262 is not used for it): a lost one costs the music, not the call.
void CallLegs::earlyAnswer(Leg& leg) {
  const std::optional<uint16_t> port = media_ && !leg.sdp.empty() ? media_->endpoint(leg.id) : std::nullopt;
  std::optional<std::string> sdp;
  if (port && looksLikeSdp(leg.sdp))
    sdp = sdpOwnAnswer(leg.sdp, "seatbridge", leg.id, mediaAddress_, *port);
  if (!sdp) {
    // No offer (its INVITE had none), none with G.711, or no RTP port left:
    // ringing, as without queue music.
    SB_INFO("calls", "leg %llu: no offer seatbridge can answer with queue music; ringing instead",
            static_cast<unsigned long long>(leg.id));
    nta_incoming_treply(leg.irq, SIP_180_RINGING, SIPTAG_CONTACT(nta_agent_contact(agent_)),
                        SIPTAG_SERVER_STR(server_.c_str()), TAG_END());
    return;
  }
  leg.ownAnswer = *sdp;
  learn(leg, leg.sdp);  // its law now our answer's alone, not all its offer lists: what the music is sent in
  nta_incoming_treply(leg.irq, SIP_183_SESSION_PROGRESS, SIPTAG_CONTACT(nta_agent_contact(agent_)),
                      SIPTAG_SERVER_STR(server_.c_str()), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                      SIPTAG_PAYLOAD_STR(sdp->c_str()), TAG_END());
}

void CallLegs::playToLeg(const core::PlayToLeg& a) {
  if (!media_) return;
  // A customer still waiting hears us only once we answered its offer (earlyAnswer).
  if (const Leg* l = find(a.leg); a.play && l && l->inbound && l->state == Leg::State::early && l->ownAnswer.empty())
    return;
  if (a.play)
    media_->play(a.leg, a.file);
  else
    media_->stopPlaying(a.leg);
}

void CallLegs::recordLeg(const core::RecordLeg& a) {
  if (!media_) return;
  switch (a.op) {
    case core::RecordLeg::Op::start: media_->record(a.leg, a.path, a.stereo); break;
    case core::RecordLeg::Op::pause: media_->pauseRecording(a.leg, true); break;
    case core::RecordLeg::Op::resume: media_->pauseRecording(a.leg, false); break;
    case core::RecordLeg::Op::stop: media_->stopRecording(a.leg); break;
  }
}

void CallLegs::mixLeg(const core::MixLeg& a) {
  if (!media_) return;
  std::vector<media::MixSource> sources;
  for (const core::MixSource& s : a.sources) sources.push_back({s.leg, s.gain});
  media_->mix(a.leg, std::move(sources));
}

void CallLegs::mediaFact(const media::MediaFact& fact) {
  enter();  // from the media thread's report, outside any Sofia callback: facts go to core at leave()
  if (const auto* digit = std::get_if<media::DigitReceived>(&fact)) {
    if (find(digit->leg)) report(core::LegDigit{digit->leg, digit->digit});
  } else if (const auto* failed = std::get_if<media::RecordingFailed>(&fact)) {
    if (find(failed->leg)) report(core::LegRecordingFailed{failed->leg, failed->reason});
  } else if (const auto* q = std::get_if<media::QualityReport>(&fact)) {
    // Passed on whether or not the leg is still here: its final figures come
    // as its endpoint closes, after its dialog ended.
    if (q->final) {
      metrics_.callMos.Observe(q->mos);
      metrics_.callJitterSeconds.Observe(q->jitterMs / 1e3);
      metrics_.callLossRatio.Observe(q->lossPercent / 100);
    }
    report(core::LegQuality{q->leg, q->mos, q->jitterMs, q->lossPercent, q->rttMs, q->final});
  } else if (Leg* leg = find(std::get<media::StreamTimedOut>(fact).leg); leg && leg->state == Leg::State::confirmed) {
    // RFC 3261 §12.2.1.2 in spirit: the far end is gone. Its dialog ends with
    // a BYE (it may still hear it), and core hangs up the other side.
    SB_INFO("calls", "leg %llu: no RTP for media.rtpTimeoutSeconds; ending the call",
            static_cast<unsigned long long>(leg->id));
    metrics_.mediaTimeouts.Increment();
    endLeg(*leg, 408, true);
  }
  leave();
}

}  // namespace sb::sip
