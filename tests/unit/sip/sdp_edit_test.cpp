#include <doctest/doctest.h>

#include <string>

#include "sip/sdp_edit.hpp"

using namespace sb::sip;

namespace {

const std::string kPhone =
    "v=0\r\no=desk 1000 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";

bool has(const std::string& sdp, const std::string& line) { return sdp.find(line + "\r\n") != std::string::npos; }

}  // namespace

TEST_CASE("sdp hold: a re-issued description loses, then regains, its receive direction; the version rises") {
  const auto held = sdpReissued(kPhone, true, 1);
  REQUIRE(held);
  CHECK(has(*held, "o=desk 1000 8 IN IP4 127.0.0.1"));
  CHECK(has(*held, "a=sendonly"));
  CHECK(has(*held, "m=audio 40000 RTP/AVP 0 101"));
  CHECK(has(*held, "a=rtpmap:101 telephone-event/8000"));
  CHECK(sdpHeld(*held) == true);
  const auto resumed = sdpReissued(*held, false, 1);
  REQUIRE(resumed);
  CHECK(has(*resumed, "o=desk 1000 9 IN IP4 127.0.0.1"));
  CHECK_FALSE(has(*resumed, "a=sendonly"));
  CHECK(sdpHeld(*resumed) == false);
  // RFC 3264 §8.4: recvonly held becomes inactive.
  const auto inactive = sdpReissued(kPhone + "a=recvonly\r\n", true, 1);
  REQUIRE(inactive);
  CHECK(has(*inactive, "a=inactive"));
}

TEST_CASE("sdp hold: how phones say they hold, and what is not SDP") {
  CHECK(sdpHeld(kPhone) == false);
  CHECK(sdpHeld(kPhone + "a=sendonly\r\n") == true);
  CHECK(sdpHeld(kPhone + "a=inactive\r\n") == true);
  CHECK(sdpHeld(kPhone + "a=recvonly\r\n") == false);
  std::string oldStyle = kPhone;  // RFC 2543 hold: c=0.0.0.0
  oldStyle.replace(oldStyle.find("c=IN IP4 127.0.0.1"), 18, "c=IN IP4 0.0.0.0");
  CHECK(sdpHeld(oldStyle) == true);
  CHECK(sdpHeld("hello") == std::nullopt);
  CHECK(sdpReissued("hello", true, 1) == std::nullopt);
  CHECK(sdpVersionShifted("hello", 2) == "hello");
  CHECK(has(sdpVersionShifted(kPhone, 2), "o=desk 1000 9 IN IP4 127.0.0.1"));
  CHECK(sdpVersionShifted(kPhone, 0) == kPhone);
}

TEST_CASE("sdp re-offer: the other party's description under our origin, sendrecv when asked") {
  const std::string ours = "v=0\r\no=seatbridge 42 3 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
                           "m=audio 5000 RTP/AVP 0\r\na=sendonly\r\n";
  // The customer's answer to the agent's hold: recvonly.
  const std::string theirs = kPhone + "a=recvonly\r\n";
  const auto kept = sdpUnderOrigin(theirs, ours);
  REQUIRE(kept);
  CHECK(has(*kept, "o=seatbridge 42 4 IN IP4 192.0.2.1"));  // RFC 3264 §8: our origin, one version up
  CHECK(has(*kept, "m=audio 40000 RTP/AVP 0 101"));
  CHECK(has(*kept, "a=recvonly"));
  const auto active = sdpUnderOrigin(theirs, ours, true);
  REQUIRE(active);
  CHECK_FALSE(has(*active, "a=recvonly"));
  CHECK(sdpHeld(*active) == false);
  // A refused stream stays refused.
  const auto refused = sdpUnderOrigin(kPhone + "m=video 0 RTP/AVP 96\r\n", ours, true);
  REQUIRE(refused);
  CHECK(has(*refused, "m=video 0 RTP/AVP 96"));
  CHECK_FALSE(sdpUnderOrigin("not sdp", ours));
}

TEST_CASE("sdp anchoring: the audio stream's transport, as the media engine needs it") {
  auto a = sdpAudio(kPhone);
  REQUIRE(a);
  CHECK(a->address == "127.0.0.1");
  CHECK(a->port == 40000);
  CHECK(a->rtcpPort == 0);
  CHECK(a->sends);
  // Media-level c= wins over session-level (RFC 4566 §5.7); a=rtcp (RFC 3605).
  a = sdpAudio("v=0\r\no=x 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
               "m=video 5000 RTP/AVP 96\r\n"
               "m=audio 6000 RTP/AVP 8\r\nc=IN IP4 10.0.0.2\r\na=rtcp:6010\r\na=recvonly\r\n");
  REQUIRE(a);
  CHECK(a->address == "10.0.0.2");
  CHECK(a->port == 6000);
  CHECK(a->rtcpPort == 6010);
  CHECK_FALSE(a->sends);
  // Held the RFC 2543 way: no sending either.
  a = sdpAudio("v=0\r\no=x 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n");
  REQUIRE(a);
  CHECK_FALSE(a->sends);
  CHECK_FALSE(sdpAudio("v=0\r\no=x 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n"));  // refused
  CHECK_FALSE(sdpAudio("not sdp"));
}

TEST_CASE("sdp anchoring: a description handed to a leg names seatbridge's address and port") {
  const std::string offer =
      "v=0\r\no=pbx 77 3 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
      "m=audio 6000 RTP/AVP 0 8 101\r\na=rtcp:6001\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
      "m=video 7000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";
  const auto out = sdpAnchored(offer, "192.0.2.10", 20002);
  REQUIRE(out);
  CHECK(has(*out, "o=pbx 77 3 IN IP4 192.0.2.10"));  // the author's session id and version
  CHECK(has(*out, "c=IN IP4 192.0.2.10"));
  CHECK(has(*out, "m=audio 20002 RTP/AVP 0 8 101"));
  CHECK(has(*out, "a=rtpmap:101 telephone-event/8000"));  // codecs as offered
  CHECK_FALSE(has(*out, "a=rtcp:6001"));
  CHECK(has(*out, "m=video 0 RTP/AVP 96"));  // refused: audio is all seatbridge relays
  CHECK(out->find("10.0.0.9") == std::string::npos);
  const auto back = sdpAudio(*out);
  REQUIRE(back);
  CHECK((back->address == "192.0.2.10" && back->port == 20002));
  // A hold with c=0.0.0.0 stays one.
  const auto held = sdpAnchored("v=0\r\no=x 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
                                "m=audio 6000 RTP/AVP 0\r\n",
                                "192.0.2.10", 20002);
  REQUIRE(held);
  CHECK(has(*held, "c=IN IP4 0.0.0.0"));
  CHECK_FALSE(sdpAnchored("v=0\r\no=x 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\n",
                          "192.0.2.10", 20002));
}

TEST_CASE("sdp mirrored answer: a phone's own hold answered with our SDP, the direction mirrored (RFC 3264 §6.1)") {
  // Ours: what the agent's leg last got from us (seatbridge's endpoint), PCMU, PCMA and telephone-events.
  const std::string ours =
      "v=0\r\no=pbx 555 3 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
      "m=audio 20000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
      "a=rtpmap:101 telephone-event/8000\r\n";
  const auto sendonly = sdpMirroredAnswer(kPhone + "a=sendonly\r\n", ours);
  REQUIRE(sendonly);
  CHECK(has(*sendonly, "o=pbx 555 4 IN IP4 10.0.0.1"));  // our origin, one version higher (§8)
  CHECK(has(*sendonly, "a=recvonly"));
  CHECK(has(*sendonly, "m=audio 20000 RTP/AVP 0 101"));  // only formats the offer has: PCMA is gone
  CHECK(has(*sendonly, "c=IN IP4 10.0.0.1"));
  CHECK(sdpHeld(*sendonly) == false);  // we still receive: the customer is not held
  // RFC 2543's hold, c=0.0.0.0: read as sendonly, answered recvonly from our real address.
  std::string old = kPhone;
  old.replace(old.find("c=IN IP4 127.0.0.1"), 18, "c=IN IP4 0.0.0.0");
  const auto zero = sdpMirroredAnswer(old, ours);
  REQUIRE(zero);
  CHECK(has(*zero, "a=recvonly"));
  CHECK(has(*zero, "c=IN IP4 10.0.0.1"));
  const auto inactive = sdpMirroredAnswer(kPhone + "a=inactive\r\n", ours);
  REQUIRE(inactive);
  CHECK(has(*inactive, "a=inactive"));
  // The resume: sendrecv answered sendrecv (no direction line: the default).
  const auto resumed = sdpMirroredAnswer(kPhone, *sendonly);
  REQUIRE(resumed);
  CHECK(has(*resumed, "o=pbx 555 5 IN IP4 10.0.0.1"));
  CHECK_FALSE(has(*resumed, "a=recvonly"));
  CHECK_FALSE(has(*resumed, "a=sendonly"));
  CHECK_FALSE(has(*resumed, "a=inactive"));
  // Streams that do not line up with ours (a video stream added): not ours to answer.
  CHECK_FALSE(sdpMirroredAnswer(kPhone + "m=video 40002 RTP/AVP 96\r\n", ours));
  CHECK_FALSE(sdpMirroredAnswer("not sdp", ours));
}

TEST_CASE("sdp own answer: queue music's early answer, one G.711 law and telephone-events, under our origin") {
  const std::string offer =
      "v=0\r\no=pbx 77 3 IN IP4 10.0.0.9\r\ns=call\r\nc=IN IP4 10.0.0.9\r\nb=AS:200\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
      "m=audio 6000 RTP/AVP 9 8 0 96\r\na=rtpmap:9 G722/8000\r\na=rtpmap:96 telephone-event/8000\r\n"
      "a=fmtp:96 0-15\r\na=rtcp:6001\r\na=ptime:30\r\na=sendrecv\r\n"
      "m=video 7000 RTP/AVP 97\r\na=rtpmap:97 H264/90000\r\n";
  const auto out = sdpOwnAnswer(offer, "seatbridge", 42, "192.0.2.10", 20004);
  REQUIRE(out);
  CHECK(has(*out, "o=seatbridge 42 1 IN IP4 192.0.2.10"));
  CHECK(has(*out, "c=IN IP4 192.0.2.10"));
  CHECK(has(*out, "m=audio 20004 RTP/AVP 8 96"));  // the first law offered (PCMA), G.722 left out
  CHECK(has(*out, "a=fmtp:96 0-15"));               // the offer's event number and range kept (RFC 4733)
  CHECK_FALSE(has(*out, "a=rtcp:6001"));
  CHECK_FALSE(has(*out, "a=ptime:30"));
  CHECK_FALSE(has(*out, "a=group:BUNDLE 0"));
  CHECK(has(*out, "m=video 0 RTP/AVP 97"));  // refused
  CHECK(out->find("10.0.0.9") == std::string::npos);
  const auto audio = sdpAudio(*out);
  REQUIRE(audio);
  CHECK((audio->port == 20004 && audio->format == 8 && audio->telephoneEvent == 96));
  // A sendonly offer is answered recvonly (RFC 3264 §6.1).
  const auto recv = sdpOwnAnswer(kPhone + "a=sendonly\r\n", "seatbridge", 1, "192.0.2.10", 20004);
  REQUIRE(recv);
  CHECK(has(*recv, "a=recvonly"));
  CHECK(has(*recv, "m=audio 20004 RTP/AVP 0 101"));
  // Nothing we can make music in, or no SDP: no answer of ours.
  CHECK_FALSE(sdpOwnAnswer("v=0\r\no=x 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                           "m=audio 5000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n",
                           "seatbridge", 1, "192.0.2.10", 20004));
  CHECK_FALSE(sdpOwnAnswer("not sdp", "seatbridge", 1, "192.0.2.10", 20004));
  // SRTP is not ours to answer (its keys would be dropped).
  CHECK_FALSE(sdpOwnAnswer("v=0\r\no=x 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                           "m=audio 5000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abcd\r\n",
                           "seatbridge", 1, "192.0.2.10", 20004));
  // An RFC 2543 hold (c=0.0.0.0) is answered recvonly; an IPv6 offer gets our IPv4 address as IP4.
  const auto zero = sdpOwnAnswer("v=0\r\no=x 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
                                 "m=audio 5000 RTP/AVP 0\r\n",
                                 "seatbridge", 1, "192.0.2.10", 20004);
  REQUIRE(zero);
  CHECK(has(*zero, "a=recvonly"));
  CHECK(has(*zero, "c=IN IP4 192.0.2.10"));
  const auto six = sdpOwnAnswer("v=0\r\no=x 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\n"
                                "m=audio 5000 RTP/AVP 8\r\n",
                                "seatbridge", 1, "192.0.2.10", 20004);
  REQUIRE(six);
  CHECK(has(*six, "c=IN IP4 192.0.2.10"));
  CHECK(has(*six, "o=seatbridge 1 1 IN IP4 192.0.2.10"));
}

TEST_CASE("sdp narrowed: the customer's offer as an agent's phone gets it once we answered it ourselves") {
  const std::string offer =
      "v=0\r\no=pbx 77 3 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
      "m=audio 6000 RTP/AVP 9 8 0 96\r\na=rtpmap:9 G722/8000\r\na=rtpmap:96 telephone-event/8000\r\n";
  const auto ours = sdpOwnAnswer(offer, "seatbridge", 42, "192.0.2.10", 20004);
  REQUIRE(ours);
  const auto narrowed = sdpNarrowed(offer, *ours);
  REQUIRE(narrowed);
  CHECK(has(*narrowed, "o=pbx 77 3 IN IP4 10.0.0.9"));  // still the customer's description
  CHECK(has(*narrowed, "m=audio 6000 RTP/AVP 8 96"));
  CHECK_FALSE(sdpNarrowed(offer, "not sdp"));
}

TEST_CASE("sdp both laws: an offer with one G.711 law gets the other beside it; the answer goes back in the offered one") {
  const std::string alawOnly =
      "v=0\r\no=pbx 77 3 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
      "m=audio 6000 RTP/AVP 9 8 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
  const auto widened = sdpWithBothLaws(alawOnly);
  REQUIRE(widened);
  CHECK(has(*widened, "m=audio 6000 RTP/AVP 9 8 0 101"));  // PCMU second to PCMA: no transcoding when both can
  const auto audio = sdpAudio(*widened);
  REQUIRE(audio);
  CHECK(audio->laws == 3);
  const auto ulawToo = sdpWithBothLaws(kPhone);  // PCMU alone: PCMA added after it
  REQUIRE(ulawToo);
  CHECK(has(*ulawToo, "m=audio 40000 RTP/AVP 0 8 101"));
  CHECK_FALSE(sdpWithBothLaws("v=0\r\no=x 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                              "m=audio 5000 RTP/AVP 0 8\r\n"));  // both already
  CHECK_FALSE(sdpWithBothLaws("v=0\r\no=x 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                              "m=audio 5000 RTP/AVP 9\r\n"));  // neither

  // The phone took PCMU: the PBX that offered PCMA alone gets PCMA in its answer.
  const std::string phone =
      "v=0\r\no=desk 5 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
      "m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
  const auto answer = sdpAnswerInOfferedLaw(phone, alawOnly);
  REQUIRE(answer);
  CHECK(has(*answer, "m=audio 40000 RTP/AVP 8 101"));
  CHECK_FALSE(has(*answer, "a=rtpmap:0 PCMU/8000"));
  CHECK(has(*answer, "o=desk 5 1 IN IP4 127.0.0.1"));  // still the phone's description
  const auto back = sdpAudio(*answer);
  REQUIRE(back);
  CHECK((back->laws == 2 && back->format == 8));
  CHECK_FALSE(sdpAnswerInOfferedLaw(phone, kPhone));  // PCMU was offered: nothing to change
  // Both laws answered, one offered: the other dropped.
  const auto both = sdpAnswerInOfferedLaw(
      "v=0\r\no=d 5 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8\r\n", alawOnly);
  REQUIRE(both);
  CHECK(has(*both, "m=audio 40000 RTP/AVP 8"));
}

TEST_CASE("sdp: bytes Sofia's parser must not see are refused as unreadable SDP, free text keeps its UTF-8") {
  // Debian's Sofia-SIP loops for ever on this m= line (found by tests/fuzz/fuzz_sdp).
  const std::string utf8Proto = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
                                "m=audio 4000 RTP/AVP/\xd0\xbe 0\r\n";
  CHECK_FALSE(sdpAudio(utf8Proto));
  CHECK_FALSE(sdpHeld(utf8Proto));
  CHECK_FALSE(sdpWithBothLaws(utf8Proto));
  CHECK(sdpVersionShifted(utf8Proto, 1) == utf8Proto);  // what it cannot read goes on as it came
  // Sofia skips blanks before a line's type: so does the check.
  const std::string head = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";
  CHECK_FALSE(sdpAudio(head + " m=audio 4000 udp :\r\n"));
  CHECK_FALSE(sdpAudio(head + "\tm=audio 4000 RTP/AVP/\xd0\xbe 0\r\n"));
  CHECK_FALSE(sdpAudio(head + "\r   m=audio 3 1\xd0\xcd\r"));  // a CR alone ends a line for Sofia
  // What Sofia reads and RFC 4566 allows is let through: runs of spaces, a
  // NUL after the description, UTF-8 in o=, control characters in free text.
  CHECK(sdpAudio(head + "m=audio  4000 RTP/AVP  0  8\r\n"));
  CHECK(sdpAudio(kPhone + std::string(1, '\0')));
  CHECK(sdpAudio(kPhone + "a=x-note:\x01\r\n"));
  // ... and on a format that is no token (RFC 4566 §9), under any protocol.
  for (const char* m : {"m=audio 4000 udp :\r\n", "m=audio 4000 R @\r\n", "m=audio 4000 TCP ,\r\n"})
    CHECK_FALSE(sdpAudio("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" + std::string(m)));
  CHECK(sdpAudio("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
                 "m=audio 4000/2 RTP/SAVP 0 8 101  \r\n"));  // trailing spaces, as some phones send
  CHECK_FALSE(sdpAudio(head + "m=audio 4000 R\t\t\r\n"));  // Sofia loops on these tabs
  // RFC 4566 §5: the session name and attributes may be UTF-8.
  const auto named = sdpAudio("v=0\r\no=desk 1000 7 IN IP4 127.0.0.1\r\ns=Caf\xc3\xa9\r\nc=IN IP4 127.0.0.1\r\n"
                              "t=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=x-label:\xd0\xbe\r\n");
  REQUIRE(named);
  CHECK(named->port == 40000);
}
