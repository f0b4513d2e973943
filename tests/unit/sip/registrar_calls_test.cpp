// Registrar::authorizeCall: which INVITEs from outside the trunks are challenged
// (407, RFC 3261 §22.3), and their digest checks, which share REGISTER's nonces,
// nonce-counts, failure count and ban.
#include <doctest/doctest.h>

#include <string>

#include "registrar_fixture.hpp"
#include "sip/registrar.hpp"

using namespace sb::sip;
using sb::config::Config;
using namespace sb::sip::test;

namespace {

Config config() { return registrarConfig(); }

DigestAuthorization answer(const std::string& challenge, const std::string& user, const std::string& password,
                           const std::string& method, const std::string& uri, const std::string& nc = "00000001") {
  const std::string alg = param(challenge, "algorithm");
  const auto a = *parseDigestAlgorithm(alg);
  DigestAuthorization au;
  au.creds.username = user;
  au.creds.realm = param(challenge, "realm");
  au.creds.nonce = param(challenge, "nonce");
  au.creds.uri = uri;
  au.creds.algorithm = alg;
  au.creds.qop = "auth";
  au.creds.nc = nc;
  au.creds.cnonce = "c0ffee";
  au.creds.response = digestResponse(a, digestHa1(a, user, "sb.test", password), method, au.creds);
  au.uriMatches = true;
  return au;
}

// Extension `user` registers contact sip:user@ip:5060 from udp:ip:5060.
void bind(Registrar& reg, const std::string& user, const std::string& ip, Now now, int64_t expires = 600) {
  RegisterRequest r;
  r.requestHost = r.toHost = "sb.test";
  r.toUser = user;
  r.callId = "reg-" + user + "-" + ip;
  r.cseq = static_cast<uint32_t>(now.monoMs / 1000);
  r.source = "udp:" + ip + ":5060";
  r.sourceIp = ip;
  r.expiresHeader = expires;
  const std::string contact = "sip:" + user + "@" + ip + ":5060";
  r.contacts.push_back({contact, contact, std::nullopt});
  const auto ch = reg.handle(r, now);
  REQUIRE(ch.status == 401);
  r.authorizations = {answer(ch.challenges[0], user, "pw-" + user, "REGISTER", "sip:sb.test")};
  REQUIRE(reg.handle(r, now).status == 200);
}

CallRequest invite(const std::string& from, const std::string& ip, const std::string& transport = "udp",
                   int port = 5062) {
  CallRequest r;
  r.fromUser = from;
  r.sourceIp = ip;
  r.source = transport + ":" + ip + ":" + std::to_string(port);
  r.callId = "call-" + from;
  r.cseq = 1;
  r.requestUri = "sip:+15550100777@sb.test";
  r.toUri = "sip:+15550100777@sb.test";
  r.body = "v=0\r\n";
  return r;
}

// Challenged, then answered with `password` over the first challenge.
CallReply answered(Registrar& reg, CallRequest& r, const std::string& password, Now now) {
  r.authorizations.clear();
  const auto ch = reg.authorizeCall(r, now);
  REQUIRE(ch.outcome == CallReply::Outcome::challenge);
  ++r.cseq;  // RFC 3261 §22.3: the request again, with credentials, a new CSeq
  r.authorizations = {answer(ch.challenges[0], r.fromUser, password, "INVITE", r.requestUri)};
  return reg.authorizeCall(r, now);
}

}  // namespace

TEST_CASE("calls: sourceHost takes the address of a binding's source") {
  CHECK(sourceHost("udp:192.0.2.1:5060") == "192.0.2.1");
  CHECK(sourceHost("tcp:[2001:db8::1]:5061") == "2001:db8::1");
  CHECK(sourceHost("udp:[fe80::1%eth0]:5060") == "fe80::1%eth0");
  CHECK(sourceHost("udp:192.0.2.1") == "192.0.2.1");
  CHECK(sourceHost("nonsense").empty());
  CHECK(sourceHost("tcp:[::1").empty());
}

TEST_CASE("calls: an address no phone registered from is refused 403 whatever From says, with no challenge") {
  Registrar reg(config());
  bind(reg, "1001", "192.0.2.1", at(0));
  for (const char* from : {"1001", "1002", "9999", ""}) {
    const auto r = reg.authorizeCall(invite(from, "192.0.2.66"), at(1));
    CHECK(r.outcome == CallReply::Outcome::refuse);
    CHECK(r.status == 403);
    CHECK(r.refusal == "untrustedSource");
    CHECK(r.challenges.empty());
    CHECK_FALSE(r.authFailure);
  }
  CHECK(reg.authorizeCall(invite("1001", ""), at(1)).refusal == "untrustedSource");  // no source at all
}

TEST_CASE("calls: from a bound address, 407 with SHA-256 then MD5, the right answer authenticates From") {
  Registrar reg(config());
  bind(reg, "1001", "192.0.2.1", at(0));
  auto r = invite("1001", "192.0.2.1", "tcp", 40000);  // another port and transport than its REGISTER
  const auto ch = reg.authorizeCall(r, at(1));
  CHECK(ch.outcome == CallReply::Outcome::challenge);
  CHECK(ch.status == 407);
  REQUIRE(ch.challenges.size() == 2);
  CHECK(param(ch.challenges[0], "algorithm") == "SHA-256");
  CHECK(param(ch.challenges[1], "algorithm") == "MD5");
  CHECK(param(ch.challenges[0], "realm") == "sb.test");
  CHECK(param(ch.challenges[0], "qop") == "auth");
  CHECK(param(ch.challenges[0], "nonce") == param(ch.challenges[1], "nonce"));
  ++r.cseq;
  r.authorizations = {answer(ch.challenges[1], "1001", "pw-1001", "INVITE", r.requestUri)};  // MD5
  const auto ok = reg.authorizeCall(r, at(1));
  CHECK(ok.outcome == CallReply::Outcome::authenticated);
  CHECK(ok.extension == "1001");
  // A retransmission (no transaction is kept) is recognised, not taken as a replay.
  CHECK(reg.authorizeCall(r, at(2)).outcome == CallReply::Outcome::authenticated);
  // The same nc on another request (a new CSeq, or another SDP): a replay, stale=true.
  auto replay = r;
  ++replay.cseq;
  auto again = reg.authorizeCall(replay, at(3));
  CHECK(again.outcome == CallReply::Outcome::challenge);
  CHECK(again.challenges[0].find("stale=true") != std::string::npos);
  CHECK_FALSE(again.authFailure);
  replay = r;
  replay.body = "v=0\r\nc=IN IP4 203.0.113.9\r\n";
  CHECK(reg.authorizeCall(replay, at(3)).outcome == CallReply::Outcome::challenge);
}

TEST_CASE("calls: the digest is over INVITE and its Request-URI, a nonce past its lifetime is stale") {
  Registrar reg(config());
  bind(reg, "1001", "192.0.2.1", at(0));
  auto r = invite("1001", "192.0.2.1");
  const auto ch = reg.authorizeCall(r, at(1));
  r.authorizations = {answer(ch.challenges[0], "1001", "pw-1001", "REGISTER", r.requestUri)};
  CHECK(reg.authorizeCall(r, at(1)).authFailure);  // computed for another method
  r.authorizations = {answer(ch.challenges[0], "1001", "pw-1001", "INVITE", r.requestUri)};
  r.authorizations[0].uriMatches = false;  // the adapter found another uri than the Request-URI
  CHECK(reg.authorizeCall(r, at(1)).authFailure);
  r.authorizations[0].uriMatches = true;
  const auto late = reg.authorizeCall(r, at(1 + 301));
  CHECK(late.outcome == CallReply::Outcome::challenge);
  CHECK_FALSE(late.authFailure);
  CHECK(late.challenges[0].find("stale=true") != std::string::npos);  // RFC 7616 §3.3
}

TEST_CASE("calls: wrong passwords are challenged again and ban the source with REGISTER's failures") {
  Registrar reg(config());
  bind(reg, "1001", "192.0.2.1", at(0));
  bind(reg, "1002", "192.0.2.2", at(0));
  // One failed REGISTER from 192.0.2.1 ...
  RegisterRequest bad;
  bad.requestHost = bad.toHost = "sb.test";
  bad.toUser = "1001";
  bad.callId = "bad";
  bad.cseq = 1;
  bad.source = "udp:192.0.2.1:5060";
  bad.sourceIp = "192.0.2.1";
  const auto rch = reg.handle(bad, at(1));
  bad.authorizations = {answer(rch.challenges[0], "1001", "guess", "REGISTER", "sip:sb.test")};
  CHECK(reg.handle(bad, at(1)).authFailure);
  // ... and two failed INVITEs make maxAuthFailures (3).
  auto r = invite("1001", "192.0.2.1");
  auto f = answered(reg, r, "guess", at(2));
  CHECK(f.outcome == CallReply::Outcome::challenge);
  CHECK(f.status == 407);
  CHECK(f.authFailure);
  CHECK(f.challenges[0].find("stale") == std::string::npos);
  CHECK(reg.bannedSources() == 0);
  CHECK(answered(reg, r, "guess", at(2)).authFailure);
  CHECK(reg.bannedSources() == 1);
  CHECK(reg.authorizeCall(invite("1001", "192.0.2.1"), at(3)).outcome == CallReply::Outcome::drop);
  CHECK(reg.handle(bad, at(3)).drop);  // REGISTER from there too
  // Another phone's address is unaffected.
  auto other = invite("1002", "192.0.2.2");
  CHECK(answered(reg, other, "pw-1002", at(3)).outcome == CallReply::Outcome::authenticated);
  reg.tick(at(64));
  CHECK(reg.bannedSources() == 0);
}

TEST_CASE("calls: credentials must be From's, an unknown From is challenged alike and cannot pass") {
  Registrar reg(config());
  bind(reg, "1001", "192.0.2.1", at(0));
  auto r = invite("1002", "192.0.2.1");  // 1001's phone says it is 1002
  const auto ch = reg.authorizeCall(r, at(1));
  ++r.cseq;
  r.authorizations = {answer(ch.challenges[0], "1001", "pw-1001", "INVITE", r.requestUri)};
  const auto mismatch = reg.authorizeCall(r, at(1));
  CHECK(mismatch.outcome == CallReply::Outcome::refuse);
  CHECK(mismatch.status == 403);
  CHECK(mismatch.refusal == "callerMismatch");
  CHECK_FALSE(mismatch.authFailure);

  auto stranger = invite("9999", "192.0.2.1");
  const auto sch = reg.authorizeCall(stranger, at(2));
  CHECK(sch.outcome == CallReply::Outcome::challenge);
  CHECK(sch.challenges.size() == ch.challenges.size());
  const auto f = answered(reg, stranger, "anything", at(2));
  CHECK(f.outcome == CallReply::Outcome::challenge);
  CHECK(f.authFailure);
}

TEST_CASE("calls: an address stops being a phone's once its binding is removed or has expired") {
  Registrar reg(config());
  bind(reg, "1001", "192.0.2.1", at(0), 60);
  bind(reg, "1002", "192.0.2.2", at(0), 600);
  CHECK(reg.authorizeCall(invite("1001", "192.0.2.1"), at(1)).outcome == CallReply::Outcome::challenge);
  // 1002 unregisters (Expires 0): its address is refused at once.
  RegisterRequest un;
  un.requestHost = un.toHost = "sb.test";
  un.toUser = "1002";
  un.callId = "reg-1002-192.0.2.2";
  un.cseq = 5000;  // after bind()'s (§10.3 step 7)
  un.source = "udp:192.0.2.2:5060";
  un.sourceIp = "192.0.2.2";
  un.expiresHeader = 0;
  un.contacts.push_back({"sip:1002@192.0.2.2:5060", "sip:1002@192.0.2.2:5060", std::nullopt});
  const auto ch = reg.handle(un, at(2));
  un.authorizations = {answer(ch.challenges[0], "1002", "pw-1002", "REGISTER", "sip:sb.test")};
  REQUIRE(reg.handle(un, at(2)).status == 200);
  CHECK(reg.authorizeCall(invite("1002", "192.0.2.2"), at(2)).refusal == "untrustedSource");
  // 1001's binding expires after 60 s; the sweep after it lets the address go.
  reg.tick(at(70));
  CHECK(reg.authorizeCall(invite("1001", "192.0.2.1"), at(70)).refusal == "untrustedSource");
  // Registering again makes it a phone's at once.
  bind(reg, "1001", "192.0.2.1", at(71));
  CHECK(reg.authorizeCall(invite("1001", "192.0.2.1"), at(71)).outcome == CallReply::Outcome::challenge);
}

// A restart draws a new nonce secret; phones answer with the nonce they had.
TEST_CASE("calls: a right answer on a nonce of the process before a restart is stale, not a failure") {
  Registrar before(config()), after(config());
  bind(after, "1001", "192.0.2.1", at(0));
  auto r = invite("1001", "192.0.2.1");
  // The old process's challenge, as the phone's last REGISTER got it.
  RegisterRequest reg;
  reg.requestHost = reg.toHost = "sb.test";
  reg.toUser = "1001";
  reg.callId = "reg-restart";
  reg.cseq = 1;
  reg.source = "udp:192.0.2.1:5060";
  reg.sourceIp = "192.0.2.1";
  reg.contacts.push_back({"sip:1001@192.0.2.1:5060", "sip:1001@192.0.2.1:5060", std::nullopt});
  const std::string oldChallenge = before.handle(reg, at(0)).challenges[0];

  r.authorizations = {answer(oldChallenge, "1001", "pw-1001", "INVITE", r.requestUri)};
  const auto ch = after.authorizeCall(r, at(1));
  CHECK(ch.outcome == CallReply::Outcome::challenge);
  CHECK_FALSE(ch.authFailure);
  CHECK(ch.challenges[0].find("stale=true") != std::string::npos);
  reg.authorizations = {answer(oldChallenge, "1001", "pw-1001", "REGISTER", "sip:sb.test")};
  const auto rr = after.handle(reg, at(1));
  CHECK(rr.status == 401);
  CHECK_FALSE(rr.authFailure);
  CHECK(rr.challenges[0].find("stale=true") != std::string::npos);
  // A wrong answer on such a nonce is still a failure.
  reg.authorizations = {answer(oldChallenge, "1001", "guess", "REGISTER", "sip:sb.test")};
  CHECK(after.handle(reg, at(1)).authFailure);
}
