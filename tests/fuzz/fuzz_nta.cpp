// libFuzzer target: each input is one UDP datagram sent on loopback to a real
// nta agent, set up as seatbridge's (a user agent: NTATAG_UA, server rport), so
// the bytes take Sofia's whole receive path: tport's framing, the parser,
// nta's sanity and Via checks (and its own 400s and 505s), transaction
// matching and creation, then a callback that reads the request as seatbridge
// does (sip_reading.hpp) and answers it the way SipServer does: a server
// transaction's 486 for an INVITE, a stateless 401 challenge for a REGISTER,
// nothing for an ACK, a stateless 200 for the rest. Answers go where RFC 3261
// §18.2.2 sends them (received= is the sender's loopback address); the suite
// runs the target in a network namespace of its own (unshare -rn), so a Via's
// maddr cannot send one anywhere else.
//
// After each input a well-formed OPTIONS with a Call-ID of its own follows on
// the same socket, and the loop turns until the callback sees it: tport reads a
// socket in order, so by then the input has been dealt with, and no wall-clock
// wait decides it. Debian's Sofia-SIP keeps its asserts: one reached from here
// is an input to guard before Sofia sees it.
#include <sofia-sip/nta.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/url.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/log.hpp"
#include "sip_reading.hpp"

namespace {

su_root_t* root = nullptr;
nta_agent_t* agent = nullptr;
int sender = -1;
sockaddr_in target{};
unsigned long serial = 0;
bool sentinelSeen = false;
std::string sentinelCallId;

int onMessage(nta_agent_magic_t*, nta_agent_t* a, msg_t* msg, sip_t* sip) {
  if (sip && sip->sip_call_id && sip->sip_call_id->i_id && sentinelCallId == sip->sip_call_id->i_id) {
    sentinelSeen = true;
    nta_msg_discard(a, msg);
    return 0;
  }
  if (!sip || !sip->sip_request) {  // a stray response, as SipServer::handle drops it
    nta_msg_discard(a, msg);
    return 0;
  }
  sb::fuzz::readRequest(msg, sip);
  switch (sip->sip_request->rq_method) {
    case sip_method_ack: nta_msg_discard(a, msg); break;
    case sip_method_invite:
      if (nta_incoming_t* irq = nta_incoming_create(a, nullptr, msg, sip, TAG_END())) {
        nta_incoming_treply(irq, SIP_486_BUSY_HERE, TAG_END());
        nta_incoming_destroy(irq);
      } else {
        nta_msg_discard(a, msg);
      }
      break;
    case sip_method_register:
      nta_msg_treply(a, msg, SIP_401_UNAUTHORIZED,
                     SIPTAG_WWW_AUTHENTICATE_STR("Digest realm=\"seatbridge.test\", nonce=\"fuzz\", algorithm=MD5, qop=\"auth\""),
                     TAG_END());
      break;
    default: nta_msg_treply(a, msg, SIP_200_OK, SIPTAG_ALLOW_STR("INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER"), TAG_END());
  }
  return 0;
}

void drainAnswers() {
  char buf[65536];
  while (recv(sender, buf, sizeof buf, MSG_DONTWAIT) > 0) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  sb::log::setLevel(sb::log::Level::error);
  su_init();
  root = su_root_create(nullptr);
  // url_make, not URL_STRING_MAKE: clang's -Wcast-align refuses the latter's
  // char* to url_string_t* cast (as in register_parse.cpp).
  static su_home_t home[1] = {SU_HOME_INIT(home)};
  url_t* listen = url_make(home, "sip:127.0.0.1:0;transport=udp");
  agent = nta_agent_create(root, reinterpret_cast<url_string_t const*>(-1), onMessage, nullptr,
                           NTATAG_UA(1), NTATAG_SERVER_RPORT(1), TPTAG_STUN_SERVER(0),
                           // seatbridge's shortest 64*T1 (sip.testT1x64Ms): the INVITE
                           // transactions of past inputs are freed within 2 s.
                           NTATAG_SIP_T1X64(2000), TAG_END());
  // As SipServer binds its transports: after the agent, with the same tags.
  if (!agent || nta_agent_add_tport(agent, reinterpret_cast<url_string_t const*>(listen), TPTAG_STUN_SERVER(0),
                                    TAG_END()) < 0) {
    std::fprintf(stderr, "fuzz_nta: cannot listen on loopback\n");
    std::abort();
  }
  const sip_via_t* via = nta_agent_via(agent);
  if (!via || !via->v_port) {
    std::fprintf(stderr, "fuzz_nta: no nta agent on loopback\n");
    std::abort();
  }
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<uint16_t>(std::atoi(via->v_port)));
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sender = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in here{};
  here.sin_family = AF_INET;
  here.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (sender < 0 || bind(sender, reinterpret_cast<sockaddr*>(&here), sizeof here) < 0) std::abort();
  int big = 4 << 20;
  setsockopt(sender, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The largest IPv4 UDP payload; libFuzzer's -max_len may allow more.
  if (size > 65507) size = 65507;
  sockaddr_in here{};
  socklen_t len = sizeof here;
  getsockname(sender, reinterpret_cast<sockaddr*>(&here), &len);
  const unsigned port = ntohs(here.sin_port);
  sentinelCallId = "fuzz-nta-sentinel-" + std::to_string(++serial);
  const std::string sentinel = "OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP 127.0.0.1:" + std::to_string(port) +
                               ";rport;branch=z9hG4bK" + sentinelCallId + "\r\n"
                               "Max-Forwards: 70\r\nFrom: <sip:fuzz@127.0.0.1>;tag=f\r\nTo: <sip:nta@127.0.0.1>\r\n"
                               "Call-ID: " + sentinelCallId + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  const auto* to = reinterpret_cast<const sockaddr*>(&target);
  if (size > 0) sendto(sender, data, size, 0, to, sizeof target);
  sendto(sender, sentinel.data(), sentinel.size(), 0, to, sizeof target);
  sentinelSeen = false;
  // Bounded: an input that keeps the sentinel from being read for 10 s is a
  // hang, which libFuzzer's -timeout reports with the input.
  while (!sentinelSeen) su_root_step(root, 100);
  drainAnswers();
  return 0;
}
