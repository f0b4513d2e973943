#pragma once
// Parsing of the address forms the configuration uses: "udp:HOST:PORT" listen
// entries, "HOST:PORT" endpoints and "ADDR/LEN" CIDR blocks. Pure functions so the
// loader and the SIP layer agree on one grammar.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sb::config {

struct HostPort {
  std::string host;  // IP literal (IPv6 without brackets) or DNS name
  uint16_t port = 0;
  bool ipv6 = false;
  std::string str() const;  // host:port, IPv6 bracketed
};

struct ListenAddr {
  std::string transport;  // "udp" or "tcp"
  HostPort where;
  std::string str() const { return transport + ":" + where.str(); }
};

// An IPv4 or IPv6 block; IPv4 is kept as an IPv4-mapped IPv6 address so one
// comparison serves both families.
struct Cidr {
  std::array<uint8_t, 16> addr{};
  int prefix = 0;  // in IPv6 bits (IPv4 /n is stored as /(96+n))
  std::string text;
  bool contains(const std::array<uint8_t, 16>& other) const;
};

std::optional<HostPort> parseHostPort(std::string_view text, std::string* why);
std::optional<ListenAddr> parseListen(std::string_view text, std::string* why);
std::optional<Cidr> parseCidr(std::string_view text, std::string* why);
// Parses an IPv4 or IPv6 literal into the mapped 16-byte form.
std::optional<std::array<uint8_t, 16>> parseIp(std::string_view text);
bool isValidHostname(std::string_view host);

}  // namespace sb::config
