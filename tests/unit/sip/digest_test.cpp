#include <doctest/doctest.h>

#include "sip/digest.hpp"

using namespace sb::sip;

namespace {
// RFC 7616 §3.9.1 (the same request under SHA-256 and MD5).
DigestCredentials rfc7616() {
  return parseDigestParams({"username=\"Mufasa\"", "realm=\"http-auth@example.org\"", "uri=\"/dir/index.html\"",
                            "algorithm=SHA-256", "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\"", "nc=00000001",
                            "cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\"", "qop=auth",
                            "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\"",
                            "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""});
}
}  // namespace

TEST_CASE("digest: RFC 7616 §3.9.1 example, SHA-256 and MD5") {
  const auto c = rfc7616();
  CHECK(c.username == "Mufasa");
  CHECK(c.qop == "auth");
  CHECK(c.nc == "00000001");
  const auto ha1 = digestHa1(DigestAlgorithm::sha256, "Mufasa", "http-auth@example.org", "Circle of Life");
  CHECK(digestResponse(DigestAlgorithm::sha256, ha1, "GET", c) == c.response);
  const auto md5 = digestHa1(DigestAlgorithm::md5, "Mufasa", "http-auth@example.org", "Circle of Life");
  CHECK(digestResponse(DigestAlgorithm::md5, md5, "GET", c) == "8ca523f5e9506fed4657c9700eebdbec");
}

TEST_CASE("digest: RFC 2617 §3.5 example (MD5, qop=auth)") {
  const auto c = parseDigestParams({"username=\"Mufasa\"", "realm=\"testrealm@host.com\"",
                                    "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"", "uri=\"/dir/index.html\"",
                                    "qop=auth", "nc=00000001", "cnonce=\"0a4f113b\""});
  const auto ha1 = digestHa1(DigestAlgorithm::md5, "Mufasa", "testrealm@host.com", "Circle Of Life");
  CHECK(digestResponse(DigestAlgorithm::md5, ha1, "GET", c) == "6629fae49393a05397450978507c4ef1");
}

TEST_CASE("digest: algorithm names (RFC 8760) and hash lengths") {
  CHECK(parseDigestAlgorithm("sha-256") == DigestAlgorithm::sha256);
  CHECK(parseDigestAlgorithm("MD5") == DigestAlgorithm::md5);
  CHECK(parseDigestAlgorithm("SHA-512-256") == DigestAlgorithm::sha512_256);
  CHECK_FALSE(parseDigestAlgorithm("MD5-sess"));
  CHECK_FALSE(parseDigestAlgorithm(""));
  CHECK(digestHex(DigestAlgorithm::md5, "x").size() == 32);
  CHECK(digestHex(DigestAlgorithm::sha256, "x").size() == 64);
  CHECK(digestHex(DigestAlgorithm::sha512_256, "x").size() == 64);
  CHECK(digestHex(DigestAlgorithm::sha512_256, "x") != digestHex(DigestAlgorithm::sha256, "x"));
}

TEST_CASE("digest: parameters are unquoted, escapes removed, unknown ones ignored, junk survives") {
  const auto c = parseDigestParams({" USERNAME = \"a\\\"b\" ", "foo=bar", "noequals", "nonce=\"\"", "realm=\""});
  CHECK(c.username == "a\"b");
  CHECK(c.nonce.empty());
  CHECK(c.realm == "\"");
}

TEST_CASE("digest: constant-time comparison ignores hex case and checks length") {
  CHECK(constantTimeEqual("abcDEF", "ABCdef"));
  CHECK_FALSE(constantTimeEqual("abc", "abcd"));
  CHECK_FALSE(constantTimeEqual("abc", "abd"));
}
