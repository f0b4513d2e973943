#include "sip/digest_client.hpp"

#include <doctest/doctest.h>

#include <string>

#include "parsed_message.hpp"
#include "sip/trunk_auth.hpp"

using namespace sb::sip;

namespace {

using sb::sip::test::Parsed;

std::string response(int status, const std::string& challenges) {
  return "SIP/2.0 " + std::to_string(status) +
         " Challenge\r\n"
         "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n"
         "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\n"
         "Call-ID: c1\r\nCSeq: 1 INVITE\r\n" +
         challenges + "Content-Length: 0\r\n\r\n";
}

// The value of `name` in a header value ("Digest a=\"x\", b=y").
std::string param(const std::string& value, const std::string& name) {
  const size_t at = value.find(" " + name + "=");
  if (at == std::string::npos) return {};
  size_t b = at + name.size() + 2, e;
  if (value[b] == '"') {
    e = value.find('"', ++b);
  } else {
    e = value.find_first_of(",\r", b);
  }
  return value.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

}  // namespace

TEST_CASE("digest client: challenges parsed, and refused when we cannot answer them") {
  auto c = parseDigestChallenge("Digest",
                                {"realm=\"trunk.test\"", "nonce=\"abc\"", "qop=\"auth,auth-int\"", "algorithm=SHA-256",
                                 "opaque=\"o\"", "stale=TRUE"},
                                true);
  REQUIRE(c);
  CHECK(c->proxy);
  CHECK(c->realm == "trunk.test");
  CHECK(c->qop == "auth");
  CHECK(c->algorithm == DigestAlgorithm::sha256);
  CHECK(c->stale);
  CHECK(c->opaque == "o");
  CHECK_FALSE(parseDigestChallenge("Basic", {"realm=\"x\""}, false));
  CHECK_FALSE(parseDigestChallenge("Digest", {"realm=\"x\""}, false));  // no nonce
  CHECK_FALSE(parseDigestChallenge("Digest", {"realm=\"x\"", "nonce=\"n\"", "algorithm=MD5-sess"}, false));
  CHECK_FALSE(parseDigestChallenge("Digest", {"realm=\"x\"", "nonce=\"n\"", "qop=\"auth-int\""}, false));
  CHECK_FALSE(parseDigestChallenge("Digest", {"realm=\"x\"", "nonce=\"n\"", "algorithm=SHA-1"}, false));
}

TEST_CASE("digest client: RFC 7616 §3.9.1 answered with SHA-256 and MD5") {
  auto c = parseDigestChallenge("Digest",
                                {"realm=\"http-auth@example.org\"", "qop=\"auth, auth-int\"", "algorithm=SHA-256",
                                 "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\"",
                                 "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""},
                                false);
  REQUIRE(c);
  const std::string cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
  const std::string v = digestAuthorization(*c, "Mufasa", "Circle of Life", "GET", "/dir/index.html", 1, cnonce);
  CHECK(v.rfind("Digest username=\"Mufasa\"", 0) == 0);
  CHECK(param(v, "response") == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
  CHECK(param(v, "nc") == "00000001");
  CHECK(param(v, "qop") == "auth");
  CHECK(param(v, "algorithm") == "SHA-256");
  CHECK(param(v, "opaque") == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
  CHECK(param(v, "uri") == "/dir/index.html");
  CHECK(param(v, "cnonce") == cnonce);
  c->algorithm = DigestAlgorithm::md5;
  c->algorithmName = "MD5";
  CHECK(param(digestAuthorization(*c, "Mufasa", "Circle of Life", "GET", "/dir/index.html", 1, cnonce), "response") ==
        "8ca523f5e9506fed4657c9700eebdbec");
}

TEST_CASE("digest client: RFC 2069 form when the challenge has no qop") {
  // RFC 2069 §2.4's example.
  auto c = parseDigestChallenge("Digest",
                                {"realm=\"testrealm@host.com\"", "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"",
                                 "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""},
                                false);
  REQUIRE(c);
  const std::string v = digestAuthorization(*c, "Mufasa", "CircleOfLife", "GET", "/dir/index.html", 1, "x");
  CHECK(param(v, "response") == "1949323746fe6a43ef61f9606e7febea");
  CHECK(param(v, "algorithm") == "MD5");
  CHECK(v.find("cnonce") == std::string::npos);
  CHECK(v.find("nc=") == std::string::npos);
}

TEST_CASE("digest client: a username with a quote is escaped") {
  auto c = parseDigestChallenge("Digest", {"realm=\"r\"", "nonce=\"n\""}, false);
  REQUIRE(c);
  CHECK(digestAuthorization(*c, "a\"b", "p", "REGISTER", "sip:h", 1, "x").rfind("Digest username=\"a\\\"b\"", 0) == 0);
}

TEST_CASE("trunk auth: one answer per realm, a second challenge for it is a refusal") {
  TrunkAuth auth("seatbridge", "secret");
  Parsed first(response(407, "Proxy-Authenticate: Digest realm=\"trunk.test\", nonce=\"n1\", qop=\"auth\"\r\n"));
  REQUIRE(first.sip);
  auto lines = auth.answer(first.sip, "INVITE", "sip:+1555@127.0.0.2:5060");
  REQUIRE(lines);
  CHECK(lines->rfind("Proxy-Authorization: Digest username=\"seatbridge\", realm=\"trunk.test\", nonce=\"n1\"", 0) ==
        0);
  CHECK(param(*lines, "uri") == "sip:+1555@127.0.0.2:5060");
  CHECK(auth.lines() == *lines);
  Parsed again(response(407, "Proxy-Authenticate: Digest realm=\"trunk.test\", nonce=\"n2\", qop=\"auth\"\r\n"));
  CHECK_FALSE(auth.answer(again.sip, "INVITE", "sip:+1555@127.0.0.2:5060"));
}

TEST_CASE("trunk auth: a stale nonce is answered once more") {
  TrunkAuth auth("u", "p");
  Parsed first(response(401, "WWW-Authenticate: Digest realm=\"r\", nonce=\"n1\", qop=\"auth\"\r\n"));
  REQUIRE(auth.answer(first.sip, "REGISTER", "sip:h"));
  Parsed stale(response(401, "WWW-Authenticate: Digest realm=\"r\", nonce=\"n2\", qop=\"auth\", stale=true\r\n"));
  auto lines = auth.answer(stale.sip, "REGISTER", "sip:h");
  REQUIRE(lines);
  CHECK(lines->rfind("Authorization: ", 0) == 0);
  CHECK(param(*lines, "nonce") == "n2");
  CHECK(param(*lines, "nc") == "00000001");  // a new nonce counts from 1
  CHECK_FALSE(auth.answer(stale.sip, "REGISTER", "sip:h"));
}

TEST_CASE("trunk auth: the next request repeats the answer with the next nonce count") {
  TrunkAuth auth("u", "p");
  CHECK(auth.again("REGISTER", "sip:h").empty());  // nothing answered yet
  Parsed first(response(401, "WWW-Authenticate: Digest realm=\"r\", nonce=\"n1\", qop=\"auth\"\r\n"));
  REQUIRE(auth.answer(first.sip, "REGISTER", "sip:h"));
  const std::string refresh = auth.again("REGISTER", "sip:h");
  CHECK(param(refresh, "nc") == "00000002");
  CHECK(param(refresh, "nonce") == "n1");
  // A new request: the realm may be challenged (and answered) once again.
  Parsed renewed(response(401, "WWW-Authenticate: Digest realm=\"r\", nonce=\"n3\", qop=\"auth\"\r\n"));
  auto lines = auth.answer(renewed.sip, "REGISTER", "sip:h");
  REQUIRE(lines);
  CHECK(param(*lines, "nonce") == "n3");
}

TEST_CASE("trunk auth: the topmost computable challenge per realm, every realm answered") {
  TrunkAuth auth("u", "p");
  Parsed two(response(407,
                      "Proxy-Authenticate: Digest realm=\"a\", nonce=\"x\", algorithm=SHA-512-256-sess\r\n"
                      "Proxy-Authenticate: Digest realm=\"a\", nonce=\"s\", algorithm=SHA-256, qop=\"auth\"\r\n"
                      "Proxy-Authenticate: Digest realm=\"a\", nonce=\"m\", algorithm=MD5, qop=\"auth\"\r\n"
                      "Proxy-Authenticate: Digest realm=\"b\", nonce=\"b1\"\r\n"));
  REQUIRE(two.sip);
  auto lines = auth.answer(two.sip, "INVITE", "sip:x@h");
  REQUIRE(lines);
  const size_t split = lines->find("\r\n");
  REQUIRE(split != std::string::npos);
  const std::string a = lines->substr(0, split), b = lines->substr(split + 2);
  CHECK(param(a, "realm") == "a");
  CHECK(param(a, "algorithm") == "SHA-256");
  CHECK(param(b, "realm") == "b");
  CHECK(lines->find("\r\n", split + 2) == std::string::npos);
}

TEST_CASE("trunk auth: nothing to answer without credentials or a challenge we can compute") {
  Parsed basic(response(401, "WWW-Authenticate: Basic realm=\"r\"\r\n"));
  CHECK_FALSE(TrunkAuth("u", "p").answer(basic.sip, "INVITE", "sip:h"));
  Parsed digest(response(401, "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\"\r\n"));
  CHECK_FALSE(TrunkAuth().answer(digest.sip, "INVITE", "sip:h"));
  Parsed none(response(401, ""));
  CHECK_FALSE(TrunkAuth("u", "p").answer(none.sip, "INVITE", "sip:h"));
  CHECK_FALSE(TrunkAuth("u", "p").answer(nullptr, "INVITE", "sip:h"));
}
