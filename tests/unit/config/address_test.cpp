#include <doctest/doctest.h>

#include "config/address.hpp"

using namespace sb::config;

TEST_CASE("listen addresses") {
  std::string why;
  auto a = parseListen("udp:127.0.0.1:5060", &why);
  REQUIRE(a);
  CHECK(a->transport == "udp");
  CHECK(a->where.host == "127.0.0.1");
  CHECK(a->where.port == 5060);
  auto b = parseListen("tcp:[::1]:5070", &why);
  REQUIRE(b);
  CHECK(b->where.ipv6);
  CHECK(b->str() == "tcp:[::1]:5070");
  CHECK_FALSE(parseListen("tls:127.0.0.1:5061", &why));
  CHECK(why.find("transport") != std::string::npos);
  CHECK_FALSE(parseListen("udp:127.0.0.1:70000", &why));
  CHECK_FALSE(parseListen("udp:pbx.example.com:5060", &why));  // listen needs an IP
  CHECK_FALSE(parseListen("udp:::1:5060", &why));
  CHECK_FALSE(parseListen("udp:127.0.0.256:5060", &why));
}

TEST_CASE("host:port endpoints accept names and literals") {
  std::string why;
  CHECK(parseHostPort("pbx.example.com:5060", &why));
  CHECK(parseHostPort("127.0.0.2:5060", &why));
  CHECK_FALSE(parseHostPort("300.1.1.1:5060", &why));
  CHECK_FALSE(parseHostPort("bad_host:5060", &why));
  CHECK_FALSE(parseHostPort("127.0.0.2", &why));
  CHECK_FALSE(parseHostPort("127.0.0.2:", &why));
}

TEST_CASE("CIDR blocks") {
  std::string why;
  auto c = parseCidr("127.0.0.0/8", &why);
  REQUIRE(c);
  CHECK(c->contains(*parseIp("127.1.2.3")));
  CHECK_FALSE(c->contains(*parseIp("10.0.0.1")));
  auto host = parseCidr("127.0.0.2", &why);
  REQUIRE(host);
  CHECK(host->contains(*parseIp("127.0.0.2")));
  CHECK_FALSE(host->contains(*parseIp("127.0.0.3")));
  auto v6 = parseCidr("2001:db8::/32", &why);
  REQUIRE(v6);
  CHECK(v6->contains(*parseIp("2001:db8::1")));
  CHECK_FALSE(v6->contains(*parseIp("2001:db9::1")));
  CHECK_FALSE(parseCidr("127.0.0.0/33", &why));
  CHECK_FALSE(parseCidr("nonsense/8", &why));
  auto all = parseCidr("0.0.0.0/0", &why);
  REQUIRE(all);
  CHECK(all->contains(*parseIp("192.0.2.1")));
  CHECK_FALSE(all->contains(*parseIp("::1")));  // an IPv4 block never matches IPv6
}
