#include "sip/sip_server.hpp"

#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su_string.h>
#include <sofia-sip/tport_tag.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "config/dial_pattern.hpp"
#include "metrics/metrics.hpp"
#include "seatbridge/version.hpp"
#include "media/engine.hpp"
#include "sip/call_legs.hpp"
#include "sip/call_parse.hpp"
#include "sip/register_parse.hpp"
#include "sip/registrar_sofia.hpp"
#include "sip/trunk_monitor.hpp"

namespace sb::sip {
namespace {

constexpr const char* kAllow = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, NOTIFY, REFER, UPDATE";
const std::string kServer = std::string("seatbridge/") + kVersion;

std::string listenUrl(const config::ListenAddr& l) {
  const std::string host = l.where.ipv6 ? "[" + l.where.host + "]" : l.where.host;
  return "sip:" + host + ":" + std::to_string(l.where.port) + ";transport=" + l.transport;
}

// The kernel default UDP receive buffer (net.core.rmem_default, 208 KiB on
// Debian) overflows under a burst of a few hundred REGISTERs and phones
// retransmit; bench/register showed it at 200 in flight. The kernel caps the
// request at net.core.rmem_max.
constexpr unsigned kUdpReceiveBuffer = 4u << 20;

// The method label of the SIP metrics. A method Sofia does not know is any token
// a sender likes (RFC 3261 §25.1 extension-method): counted as "other", so that a
// scanner cannot grow the label set, and the scrape, without bound.
const char* methodLabel(const sip_t* sip) {
  if (!sip->sip_request) return "other";
  return sip->sip_request->rq_method == sip_method_unknown ? "other" : sip->sip_request->rq_method_name;
}

}  // namespace

SipServer::SipServer(su_root_t* root, std::shared_ptr<const config::Config> config, metrics::Metrics& metrics,
                     store::Store* store, OnSipThread onSipThread)
    : config_(std::move(config)), metrics_(metrics), startedAtMs_(wallClockMs()) {
  // NONE: create the agent without transports, then bind each listen address
  // ourselves so a failure names the address.
  agent_.reset(nta_agent_create(root, reinterpret_cast<url_string_t const*>(-1), &SipServer::onMessage,
                                reinterpret_cast<nta_agent_magic_t*>(this), NTATAG_SERVER_RPORT(1),
                                NTATAG_TCP_RPORT(1),
                                // No STUN server on the SIP ports: Sofia's answers any datagram
                                // starting with a zero byte (a reflector for spoofed sources) and
                                // leaks 12 bytes per malformed one (send_stun_error; found by
                                // tests/fuzz/fuzz_nta). No phone here needs it: SIP outbound's STUN
                                // keepalives (RFC 5626 §4.4.1) come with Require: outbound, refused.
                                TPTAG_STUN_SERVER(0),
                                // A user agent (RFC 3261 §17 as a UA applies it): nta retransmits our
                                // 2xx until ACK, absorbs ACKs, keeps in-dialog CSeq order and answers
                                // a CANCELled INVITE 487. REGISTER and OPTIONS stay stateless.
                                NTATAG_UA(1), NTATAG_SIP_T1X64(static_cast<unsigned>(config_->sip.testT1x64Ms)),
                                TAG_END()));
  if (!agent_) throw std::runtime_error(std::string("cannot create the SIP agent: ") + std::strerror(errno));
  for (const auto& l : config_->sip.listen) {
    const std::string url = listenUrl(l);
    if (nta_agent_add_tport(agent_.get(), URL_STRING_MAKE(url.c_str()), TPTAG_UDP_RMEM(kUdpReceiveBuffer),
                             TPTAG_STUN_SERVER(0), TAG_END()) < 0)
      throw std::runtime_error("sip.listen " + l.str() + ": cannot listen: " + std::strerror(errno));
    SB_INFO("sip", "listening on %s", l.str().c_str());
  }
  registrar_ = std::make_unique<SofiaRegistrar>(root, agent_.get(), *config_, metrics_, store, kServer);
  callLegs_ = std::make_unique<CallLegs>(
      root, agent_.get(), *config_, metrics_,
      [this](const std::string& extension) { return registrar_->contacts(extension); }, kServer);
  trunks_ = std::make_unique<TrunkMonitor>(root, agent_.get(), *config_, kServer);
  if (config_->media.mode == config::Media::Mode::anchored) {
    const config::Media& m = config_->media;
    media::EngineConfig e;
    e.bindAddress = m.bindAddress;
    e.portLow = m.portLow;
    e.portHigh = m.portHigh;
    e.rtpTimeoutSeconds = m.rtpTimeoutSeconds;
    if (config_->recording.mode != config::Recording::Mode::never)
      e.recordings = {config_->recording.path, config_->recording.retentionDays};
    media_ = std::make_unique<media::MediaEngine>(
        e,
        [onSipThread](const media::MediaFact& fact) {
          // From the media thread: what it means for the call is the SIP thread's to carry out.
          if (onSipThread) onSipThread([fact](SipServer& s) { s.callLegs().mediaFact(fact); });
        },
        [&metrics = metrics_](const media::EngineCounters& delta, const media::EngineGauges& open) {
          // prometheus-cpp's counters and gauges are atomics: set from the media thread.
          metrics.mediaPackets("relayed").Increment(static_cast<double>(delta.packetsRelayed));
          metrics.mediaPackets("dropped").Increment(static_cast<double>(delta.packetsDropped - delta.strangerPackets));
          metrics.mediaPackets("stranger").Increment(static_cast<double>(delta.strangerPackets));
          metrics.mediaStreams.Set(static_cast<double>(open.endpoints));
          metrics.recordingsActive.Set(static_cast<double>(open.recordings));
          metrics.recordingBytes.Increment(static_cast<double>(delta.recordingBytes));
          metrics.recordingDrops.Increment(static_cast<double>(delta.recordingDrops));
          metrics.recordingFailures.Increment(static_cast<double>(delta.recordingFailures));
          metrics.mediaTranscoded.Increment(static_cast<double>(delta.packetsTranscoded));
          metrics.mediaInbandDigits.Increment(static_cast<double>(delta.inbandDigits));
        });
    media_->start();
    callLegs_->setMedia(media_.get(), m.address);
    SB_INFO("media", "anchored: RTP on %s ports %u-%u, advertised as %s", m.bindAddress.c_str(), m.portLow,
            m.portHigh, m.address.c_str());
  }
}

size_t SipServer::activeCalls() const { return callLegs_->liveLegs(); }

SipServer::~SipServer() = default;

void SipServer::applyConfig(std::shared_ptr<const config::Config> config) {
  config_ = std::move(config);
  registrar_->applyConfig(*config_);
  callLegs_->applyConfig(*config_);
  trunks_->applyConfig(*config_);
}

void SipServer::setDeviceFactSink(std::function<void(const core::DeviceFact&)> sink) {
  registrar_->setFactSink(std::move(sink));
}

std::vector<core::ContactInfo> SipServer::extensionContacts(const std::string& extensionId) const {
  return registrar_->contacts(extensionId);
}

GatewayStatus SipServer::status() const {
  GatewayStatus s;
  s.version = kVersion;
  s.startedAtMs = startedAtMs_;
  s.draining = draining_;
  s.configFile = config_->file;
  for (const auto& l : config_->sip.listen) s.listen.push_back(l.str());
  s.extensions = config_->extensions.size();
  s.agents = config_->agents.size();
  s.skillGroups = config_->skillGroups.size();
  s.trunks = config_->trunks.size();
  return s;
}

int SipServer::onMessage(nta_agent_magic_t* self, nta_agent_t*, msg_t* msg, sip_t* sip) noexcept {
  // The C boundary: nothing may unwind into Sofia.
  try {
    reinterpret_cast<SipServer*>(self)->handle(msg, sip);
  } catch (const std::exception& e) {
    SB_ERROR("sip", "request handler failed: %s", e.what());
  }
  return 0;
}

template <typename... Tags>
void SipServer::reply(msg_t* msg, const sip_t* sip, int status, const char* phrase, Tags... tags) {
  metrics_.sipResponse(methodLabel(sip), status).Increment();
  nta_msg_treply(agent_.get(), msg, status, phrase, SIPTAG_SERVER_STR(kServer.c_str()), tags..., TAG_END());
}

void SipServer::handle(msg_t* msg, sip_t* sip) {
  if (sip && sip->sip_status && registrar_->handleResponse(msg, sip)) return;  // a keepalive answer
  if (sip && sip->sip_status && trunks_->handleResponse(msg, sip)) return;     // a trunk ping's answer
  if (!sip || !sip->sip_request) {
    // A stray response: only keepalives are sent statelessly.
    nta_msg_discard(agent_.get(), msg);
    return;
  }
  // A banned source gets no answer to anything (issue 3: dropped and counted).
  if (registrar_->dropBanned(msg)) return;
  const sip_method_t method = sip->sip_request->rq_method;
  metrics_.sipRequest(methodLabel(sip)).Increment();
  if (method != sip_method_ack && method != sip_method_unknown && refuseUnsupported(msg, sip)) return;
  switch (method) {
    case sip_method_register:
      registrar_->handleRegister(msg, sip);
      return;
    case sip_method_options:
      // RFC 3261 §11.2: a capabilities answer; Allow lists what we take.
      reply(msg, sip, SIP_200_OK, SIPTAG_ALLOW_STR(kAllow), SIPTAG_ACCEPT_STR("application/sdp"));
      return;
    case sip_method_ack:
      // RFC 3261 §17.2.1: ACK is never answered.
      nta_msg_discard(agent_.get(), msg);
      return;
    case sip_method_invite:
      handleInvite(msg, sip);
      return;
    case sip_method_bye:
    case sip_method_cancel:
    case sip_method_update:
    case sip_method_info:
    case sip_method_prack:
      // In-dialog requests whose dialog (or transaction, for CANCEL) we do not
      // have: nta hands live dialogs' requests to their legs before this callback.
      reply(msg, sip, SIP_481_NO_TRANSACTION);
      return;
    default:
      // RFC 3261 §8.2.1: a method we do not implement at all.
      reply(msg, sip, SIP_501_NOT_IMPLEMENTED);
      return;
  }
}

// RFC 3261 §8.2.2.1 and §8.2.2.3, in that order, after the method (§8.2.1: an
// unknown one is 501 first): a Request-URI scheme we do not serve is 416, and a
// Require naming an extension we do not support is 420 with Unsupported. ACK
// is never answered and CANCEL's Require is not read (§8.2.2.3). REGISTER's
// Require is the registrar's, and an INVITE's "timer" is the session timers'
// (RFC 4028 §9: refused 420 when sessionExpires is 0); Proxy-Require is for
// proxies only (§20.29). RFC 4475 §3.3.2, §3.3.3 and §3.3.5 send these.
bool SipServer::refuseUnsupported(msg_t* msg, const sip_t* sip) {
  const url_t* uri = sip->sip_request->rq_url;
  if (!uri || (uri->url_type != url_sip && uri->url_type != url_sips && uri->url_type != url_tel)) {
    reply(msg, sip, SIP_416_UNSUPPORTED_URI);
    return true;
  }
  const sip_method_t method = sip->sip_request->rq_method;
  if (method == sip_method_cancel || method == sip_method_register) return false;
  std::string unsupported;
  for (const sip_require_t* r = sip->sip_require; r; r = r->k_next)
    for (msg_param_t const* tag = r->k_items; tag && *tag; ++tag) {
      const bool known = method == sip_method_invite && (su_casematch(*tag, "100rel") || su_casematch(*tag, "timer"));
      if (!known) unsupported += (unsupported.empty() ? "" : ", ") + std::string(*tag);
    }
  if (unsupported.empty()) return false;
  reply(msg, sip, SIP_420_BAD_EXTENSION, SIPTAG_UNSUPPORTED_STR(unsupported.c_str()));
  return true;
}

// A desk phone dialling one of outbound.emergencyNumbers: it is exempt from
// every limit (docs/CONFIG.md, "Dial plan"), the drain's refusal included, so
// an agent can call for help while the node is being taken down. Who dials is
// checked as for any call (digest, then core's dial plan).
bool SipServer::dialsEmergency(const sip_t* sip) const {
  const std::optional<std::string> number = config::normalizeDialled(parseInvite(sip).number);
  return number && config_->outbound.isEmergency(*number);
}

void SipServer::handleInvite(msg_t* msg, sip_t* sip) {
  if (!(sip->sip_to && sip->sip_to->a_tag) && callLegs_->knownInvite(sip)) {
    // RFC 3261 §17.2.3: a retransmission of an INVITE that already has (or
    // had, within 64*T1) a call, whose transaction nta no longer holds (after
    // its Timer H, which Sofia 1.12.11 can fire early: docs/ARCHITECTURE.md).
    // Absorbed, as its transaction would have: never a second call.
    nta_msg_discard(agent_.get(), msg);
    return;
  }
  std::string source, ip;
  const config::Trunk* trunk = messageSource(msg, source, ip) ? trunkForSource(config_->trunks, ip) : nullptr;
  if (draining_ && (trunk || !dialsEmergency(sip))) {
    // RFC 3261 §21.5.4: this node is going away; the PBX may use another.
    metrics_.callsRefused("draining").Increment();
    reply(msg, sip, SIP_503_SERVICE_UNAVAILABLE, SIPTAG_RETRY_AFTER_STR("60"));
    return;
  }
  if (sip->sip_to && sip->sip_to->a_tag) {
    // A re-INVITE for a dialog we do not know (RFC 3261 §12.2.2).
    reply(msg, sip, SIP_481_NO_TRANSACTION);
    return;
  }
  if (sip->sip_max_forwards && sip->sip_max_forwards->mf_count == 0) {
    // RFC 3261 §16.3 item 3, as a B2BUA applies it: a call looping back through
    // the PBX dies out here.
    metrics_.callsRefused("tooManyHops").Increment();
    reply(msg, sip, SIP_483_TOO_MANY_HOPS);
    return;
  }
  if (!trunk) {
    // Not a trunk: a desk phone placing a call, digest-authenticated as the
    // extension in From (RFC 3261 §22.3); anyone else gets 403 (§21.4.4). The
    // registrar answers everything short of an authenticated caller.
    const auto caller = registrar_->authenticateCaller(msg, sip);
    if (!caller) return;
    // What it may dial and through which trunk is core's to decide (the dial plan).
    callLegs_->onDeskPhoneInvite(msg, sip, *caller, source);
    return;
  }
  const char* reason = nullptr;
  if (!admit(*trunk, reason)) {
    // RFC 3261 §21.5.4 with Retry-After (§20.33): over the trunk's limit now.
    metrics_.callsRefused(reason).Increment();
    reply(msg, sip, SIP_503_SERVICE_UNAVAILABLE, SIPTAG_RETRY_AFTER_STR("5"));
    return;
  }
  callLegs_->onTrunkInvite(msg, sip, *trunk);
}

bool SipServer::admit(const config::Trunk& trunk, const char*& reason) {
  if (trunk.maxCalls > 0 && callLegs_->inboundCalls(trunk.name) >= static_cast<size_t>(trunk.maxCalls)) {
    reason = "trunkBusy";
    return false;
  }
  if (trunk.maxCallsPerSecond > 0) {
    Bucket& b = buckets_[trunk.name];
    const int64_t now = monotonicNow().ms;
    const double rate = trunk.maxCallsPerSecond;
    if (b.atMs == 0) b.tokens = rate;
    b.tokens = std::min(rate, b.tokens + rate * static_cast<double>(now - b.atMs) / 1000.0);
    b.atMs = now;
    if (b.tokens < 1.0) {
      reason = "trunkRate";
      return false;
    }
    b.tokens -= 1.0;
  }
  return true;
}

}  // namespace sb::sip
