#include <doctest/doctest.h>

#include <string>

#include "registrar_fixture.hpp"
#include "sip/registrar.hpp"

using namespace sb::sip;
using sb::config::Config;
using namespace sb::sip::test;

namespace {

// 1002 has an MD5 HA1 only (no password): it cannot answer SHA-256.
Config config() {
  Config c = registrarConfig();
  c.extensions[1] = {"1002", "Desk", "", digestHa1(DigestAlgorithm::md5, "1002", "sb.test", "pw-1002"), "", ""};
  return c;
}

RegisterRequest request(const std::string& user, const std::string& contact, std::string ip = "192.0.2.1") {
  RegisterRequest r;
  r.requestHost = "sb.test";
  r.toUser = user;
  r.toHost = "sb.test";
  r.callId = "call-" + user;
  r.cseq = 1;
  r.sourceIp = ip;
  r.source = "udp:" + ip + ":5060";
  if (!contact.empty()) r.contacts.push_back({contact, contact, std::nullopt});
  return r;
}

std::string withoutNonce(const std::string& challenge) {
  const std::string n = param(challenge, "nonce");
  std::string out = challenge;
  out.erase(out.find(n), n.size());
  return out;
}

// Answers the first challenge of `alg` like a phone would.
void authorize(RegisterRequest& r, const RegisterReply& ch, const std::string& password, const char* alg = "SHA-256",
               const std::string& nc = "00000001") {
  std::string chosen;
  for (const auto& c : ch.challenges)
    if (param(c, "algorithm") == alg) chosen = c;
  REQUIRE_FALSE(chosen.empty());
  const auto a = *parseDigestAlgorithm(alg);
  RegisterRequest::Authorization au;
  au.creds.username = r.toUser;
  au.creds.realm = param(chosen, "realm");
  au.creds.nonce = param(chosen, "nonce");
  au.creds.uri = "sip:sb.test";
  au.creds.algorithm = alg;
  au.creds.qop = "auth";
  au.creds.nc = nc;
  au.creds.cnonce = "c0ffee";
  au.creds.response = digestResponse(a, digestHa1(a, r.toUser, "sb.test", password), "REGISTER", au.creds);
  au.uriMatches = true;
  r.authorizations = {au};
}

RegisterReply registerOk(Registrar& reg, RegisterRequest r, const std::string& password, Now now) {
  auto ch = reg.handle(r, now);
  REQUIRE(ch.status == 401);
  authorize(r, ch, password);
  return reg.handle(r, now);
}

}  // namespace

TEST_CASE("registrar: challenge, SHA-256 first then MD5, qop=auth, the answer binds, the retransmission gets the same") {
  Registrar reg(config());
  auto r = request("1001", "sip:1001@192.0.2.1:5060");
  auto ch = reg.handle(r, at(0));
  CHECK(ch.status == 401);
  REQUIRE(ch.challenges.size() == 2);
  CHECK(param(ch.challenges[0], "algorithm") == "SHA-256");
  CHECK(param(ch.challenges[1], "algorithm") == "MD5");
  CHECK(ch.challenges[0].find("qop=\"auth\"") != std::string::npos);
  CHECK(ch.challenges[0].find("stale") == std::string::npos);
  authorize(r, ch, "pw-1001");
  auto ok = reg.handle(r, at(0));
  CHECK(ok.status == 200);
  REQUIRE(ok.contacts.size() == 1);
  CHECK(ok.contacts[0].expires == 600);
  auto again = reg.handle(r, at(1));  // UDP retransmission: no transaction kept, same answer
  CHECK(again.status == 200);
  CHECK(again.contacts.size() == 1);
}

// qop=auth signs neither Contact nor Expires (RFC 7616 §3.4.3): a captured
// REGISTER resent with the attacker's Contact, or from another address, must not
// pass as a retransmission of the phone's own.
TEST_CASE("registrar: a captured REGISTER resent with another Contact, Expires or source is a replay") {
  Registrar reg(config());
  auto phone = request("1001", "sip:1001@192.0.2.1:5060");
  authorize(phone, reg.handle(phone, at(0)), "pw-1001");
  REQUIRE(reg.handle(phone, at(0)).status == 200);

  auto moved = phone;
  moved.contacts = {{"sip:1001@198.51.100.66:5060", "sip:1001@198.51.100.66:5060", std::nullopt}};
  CHECK(reg.handle(moved, at(1)).status == 401);
  auto longer = phone;
  longer.expiresHeader = 3600;
  CHECK(reg.handle(longer, at(1)).status == 401);
  auto elsewhere = phone;
  elsewhere.source = "udp:198.51.100.66:5060";
  elsewhere.sourceIp = "198.51.100.66";
  CHECK(reg.handle(elsewhere, at(1)).status == 401);

  // The phone's binding is untouched, and its own retransmission still gets 200.
  auto again = reg.handle(phone, at(1));
  CHECK(again.status == 200);
  REQUIRE(again.contacts.size() == 1);
  CHECK(again.contacts[0].uri == "sip:1001@192.0.2.1:5060");
}

TEST_CASE("registrar: a REGISTER replayed after the phone unregistered gets the list, and binds nothing") {
  Registrar reg(config());
  auto phone = request("1001", "sip:1001@192.0.2.1:5060");
  authorize(phone, reg.handle(phone, at(0)), "pw-1001");
  REQUIRE(reg.handle(phone, at(0)).contacts.size() == 1);
  auto leave = request("1001", "sip:1001@192.0.2.1:5060");
  leave.cseq = 2;
  leave.expiresHeader = 0;
  REQUIRE(registerOk(reg, leave, "pw-1001", at(2)).contacts.empty());
  // The first request again, byte for byte, within its nonce's lifetime.
  const auto replayed = reg.handle(phone, at(3));
  CHECK(replayed.status == 200);
  CHECK(replayed.contacts.empty());
  auto query = request("1001", "");
  query.cseq = 3;
  CHECK(registerOk(reg, query, "pw-1001", at(4)).contacts.empty());
}

// bench/register: with one global table of 8192 nonce-counts, this many other
// registrations pushed 1001's nonce out and its retransmission got stale=true.
TEST_CASE("registrar: a retransmission is answered the same after thousands of other registrations") {
  Config cfg = config();
  for (int i = 0; i < 9'000; ++i) {
    const auto id = std::to_string(20'000 + i);
    cfg.extensions.push_back({id, "Desk", "pw-" + id, "", "", ""});
  }
  Registrar reg(cfg);
  auto mine = request("1001", "sip:1001@192.0.2.1:5060");
  authorize(mine, reg.handle(mine, at(0)), "pw-1001");
  REQUIRE(reg.handle(mine, at(0)).status == 200);
  for (int i = 0; i < 9'000; ++i) {
    const auto id = std::to_string(20'000 + i);
    REQUIRE(registerOk(reg, request(id, "sip:" + id + "@192.0.2.9:5060", "192.0.2.9"), "pw-" + id, at(0)).status == 200);
  }
  auto again = reg.handle(mine, at(1));
  CHECK(again.status == 200);
  CHECK(again.contacts.size() == 1);
  mine.cseq = 2;  // a new request with the used nc stays a replay
  CHECK(reg.handle(mine, at(1)).status == 401);
}

TEST_CASE("registrar: MD5 for an ha1-only extension, a SHA-256 answer from it fails") {
  Registrar reg(config());
  auto r = request("1002", "sip:1002@h");
  auto ch = reg.handle(r, at(0));
  REQUIRE(ch.challenges.size() == 1);
  CHECK(param(ch.challenges[0], "algorithm") == "MD5");
  authorize(r, ch, "pw-1002", "MD5");
  CHECK(reg.handle(r, at(0)).status == 200);
}

TEST_CASE("registrar: unknown user and wrong password look the same, failures ban the source only") {
  Registrar reg(config());
  auto wrong = request("1001", "sip:1001@h");
  auto unknown = request("7777", "sip:7777@h");
  auto ch1 = reg.handle(wrong, at(0)), ch2 = reg.handle(unknown, at(0));
  CHECK(ch1.status == ch2.status);
  CHECK(ch1.challenges.size() == ch2.challenges.size());
  authorize(wrong, ch1, "guess");
  authorize(unknown, ch2, "guess");
  auto f1 = reg.handle(wrong, at(0)), f2 = reg.handle(unknown, at(0));
  CHECK(f1.status == 401);
  CHECK(f2.status == 401);
  CHECK(f1.authFailure);
  CHECK(f2.authFailure);
  CHECK(withoutNonce(f1.challenges[0]) == withoutNonce(f2.challenges[0]));
  CHECK(reg.bannedSources() == 0);
  CHECK(reg.handle(wrong, at(0)).authFailure);  // third failure: banned
  CHECK(reg.bannedSources() == 1);
  CHECK(reg.handle(wrong, at(1)).drop);
  // Another source still registers.
  CHECK(registerOk(reg, request("1001", "sip:1001@h2", "192.0.2.9"), "pw-1001", at(1)).status == 200);
  reg.tick(at(61));
  CHECK(reg.bannedSources() == 0);
  CHECK_FALSE(reg.handle(wrong, at(61)).drop);
}

TEST_CASE("registrar: stale nonce gets stale=true, a replayed nc a fresh challenge, a forged nonce fails") {
  Registrar reg(config());
  auto r = request("1001", "sip:1001@h");
  auto ch = reg.handle(r, at(0));
  authorize(r, ch, "pw-1001");
  auto late = reg.handle(r, at(301));
  CHECK(late.status == 401);
  CHECK_FALSE(late.authFailure);
  CHECK(late.challenges[0].find("stale=true") != std::string::npos);
  ch = reg.handle(r, at(302));
  authorize(r, ch, "pw-1001");
  CHECK(reg.handle(r, at(302)).status == 200);
  r.cseq = 2;  // a new request re-using nc 1: a replay
  auto replay = reg.handle(r, at(303));
  CHECK(replay.status == 401);
  CHECK(replay.challenges[0].find("stale=true") != std::string::npos);
  authorize(r, ch, "pw-1001", "SHA-256", "00000002");
  CHECK(reg.handle(r, at(303)).status == 200);
  r.authorizations[0].creds.nonce[3] ^= 1;
  CHECK(reg.handle(r, at(303)).authFailure);
}

TEST_CASE("registrar: digest uri must match, another user's credentials are forbidden") {
  Registrar reg(config());
  auto r = request("1001", "sip:1001@h");
  auto ch = reg.handle(r, at(0));
  authorize(r, ch, "pw-1001");
  r.authorizations[0].uriMatches = false;
  CHECK(reg.handle(r, at(0)).authFailure);
  auto other = request("1002", "sip:x@h");
  ch = reg.handle(other, at(0));
  authorize(other, reg.handle(request("1001", ""), at(0)), "pw-1001");
  other.authorizations[0].creds.username = "1001";
  const auto a = DigestAlgorithm::sha256;
  other.authorizations[0].creds.response =
      digestResponse(a, digestHa1(a, "1001", "sb.test", "pw-1001"), "REGISTER", other.authorizations[0].creds);
  CHECK(reg.handle(other, at(0)).status == 403);
}

TEST_CASE("registrar: 423 below minExpires, clamp above maxExpires, Expires 0 and * remove, query lists") {
  Registrar reg(config());
  auto r = request("1001", "sip:1001@h");
  r.expiresHeader = 30;
  auto brief = registerOk(reg, r, "pw-1001", at(0));
  CHECK(brief.status == 423);
  CHECK(brief.minExpires == 60);
  r.expiresHeader = 99999;
  r.cseq = 2;
  auto ok = registerOk(reg, r, "pw-1001", at(0));
  REQUIRE(ok.contacts.size() == 1);
  CHECK(ok.contacts[0].expires == 3600);
  auto q = request("1001", "");
  q.cseq = 3;
  auto listed = registerOk(reg, q, "pw-1001", at(10));
  REQUIRE(listed.contacts.size() == 1);
  CHECK(listed.contacts[0].expires == 3590);
  auto w = request("1001", "");
  w.wildcard = true;
  w.cseq = 4;
  auto bad = registerOk(reg, w, "pw-1001", at(10));
  CHECK(bad.status == 400);  // * needs Expires: 0
  w.expiresHeader = 0;
  w.cseq = 5;
  CHECK(registerOk(reg, w, "pw-1001", at(10)).contacts.empty());
  CHECK(reg.table().contactCount() == 0);
}

TEST_CASE("registrar: facts reach the sink, setting the sink replays current bindings") {
  Registrar reg(config());
  std::vector<sb::core::DeviceFact> facts;
  reg.setFactSink([&](const sb::core::DeviceFact& f) { facts.push_back(f); }, at(0));
  auto r = request("1001", "sip:1001@h");
  r.expiresHeader = 60;
  registerOk(reg, r, "pw-1001", at(0));
  REQUIRE(facts.size() == 1);
  const auto& reg1 = std::get<sb::core::ExtensionRegistered>(facts[0]);
  CHECK(reg1.extensionId == "1001");
  CHECK(reg1.contacts.at(0).source == "udp:192.0.2.1:5060");
  std::vector<sb::core::DeviceFact> replayed;
  reg.setFactSink([&](const sb::core::DeviceFact& f) { replayed.push_back(f); }, at(1));
  CHECK(replayed.size() == 1);
  reg.tick(at(61));
  REQUIRE(replayed.size() == 2);
  CHECK(std::get<sb::core::ExtensionUnregistered>(replayed[1]).reason == "expired");
}

TEST_CASE("registrar: Require is 420, a foreign AOR 404, malformed 400, a looping phone 503") {
  Registrar reg(config());
  auto r = request("1001", "sip:1001@h");
  r.require = {"gruu"};
  auto ext = reg.handle(r, at(0));
  CHECK(ext.status == 420);
  CHECK(ext.unsupported == std::vector<std::string>{"gruu"});
  r.require.clear();
  r.toHost = "elsewhere.example";
  CHECK(reg.handle(r, at(0)).status == 404);
  r.malformed = "contact_uri";
  auto bad = reg.handle(r, at(0));
  CHECK(bad.status == 400);
  CHECK(bad.malformedReason == "contact_uri");
  auto loop = request("1002", "sip:1002@h");
  int busy = 0;
  for (int i = 0; i < 300; ++i) busy += reg.handle(loop, at(1)).status == 503;
  CHECK(busy >= 100);
  CHECK(reg.handle(request("1001", "sip:1001@h"), at(1)).status == 401);  // others unaffected
}

TEST_CASE("registrar: a client that ignores a SHA-256 challenge list gets MD5 alone, one that answers never does") {
  Registrar reg(config());
  auto old = request("1001", "sip:1001@h", "192.0.2.50");
  CHECK(param(reg.handle(old, at(0)).challenges[0], "algorithm") == "SHA-256");
  auto again = reg.handle(old, at(30));  // came back without credentials
  REQUIRE(again.challenges.size() == 1);
  CHECK(param(again.challenges[0], "algorithm") == "MD5");
  authorize(old, again, "pw-1001", "MD5");
  CHECK(reg.handle(old, at(30)).status == 200);
  auto modern = request("1001", "sip:1001@h2", "192.0.2.51");
  for (int i = 0; i < 3; ++i) {
    modern.cseq = static_cast<uint32_t>(10 + i);
    auto ch = reg.handle(modern, at(40 + i));
    CHECK(param(ch.challenges[0], "algorithm") == "SHA-256");
    authorize(modern, ch, "pw-1001");
    CHECK(reg.handle(modern, at(40 + i)).status == 200);
  }
}

TEST_CASE("registrar: unanswered keepalives make a contact unreachable, the answer, found by its Call-ID tag, brings it back") {
  Registrar reg(config());
  std::vector<sb::core::DeviceFact> facts;
  reg.setFactSink([&](const sb::core::DeviceFact& f) { facts.push_back(f); }, at(0));
  REQUIRE(registerOk(reg, request("1001", "sip:1001@192.0.2.1:5060"), "pw-1001", at(0)).status == 200);
  CHECK(reg.tick(at(0)).empty());  // schedules the first keepalive, registrar.keepaliveSeconds on
  std::vector<Probe> probes;
  for (int s = 30; s <= 120; s += 30) probes = reg.tick(at(s));  // the third miss at 120 s
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].extension == "1001");
  CHECK(probes[0].source == "udp:192.0.2.1:5060");
  REQUIRE(facts.size() == 2);
  const auto& down = std::get<sb::core::ExtensionReachability>(facts[1]);
  CHECK(down.extensionId == "1001");
  CHECK(down.contactUri == "sip:1001@192.0.2.1:5060");
  CHECK_FALSE(down.reachable);
  CHECK_FALSE(reg.contacts("1001", at(120).wallMs).at(0).reachable);
  reg.keepaliveAnswered(keepaliveTag(probes[0].id, "1002"));  // no such binding of 1002
  reg.keepaliveAnswered("not-a-tag");
  reg.keepaliveAnswered("");
  CHECK(facts.size() == 2);
  reg.keepaliveAnswered(keepaliveTag(probes[0].id, probes[0].extension));
  REQUIRE(facts.size() == 3);
  const auto& up = std::get<sb::core::ExtensionReachability>(facts[2]);
  CHECK(up.contactUri == "sip:1001@192.0.2.1:5060");
  CHECK(up.reachable);
  CHECK(up.anyReachable);
  CHECK(reg.contacts("1001", at(120).wallMs).at(0).reachable);
}
