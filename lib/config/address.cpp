#include "config/address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace sb::config {

std::string HostPort::str() const {
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool Cidr::contains(const std::array<uint8_t, 16>& other) const {
  int bits = prefix;
  for (size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((addr[i] & mask) != (other[i] & mask)) return false;
  }
  return true;
}

std::optional<std::array<uint8_t, 16>> parseIp(std::string_view text) {
  std::string s(text);
  std::array<uint8_t, 16> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(&out[12], &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

bool isValidHostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t label = 0;
  char prev = '.';
  for (char c : host) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-') {
      if (label == 0 && c == '-') return false;
      if (++label > 63) return false;
    } else {
      return false;
    }
    prev = c;
  }
  return prev != '-' && prev != '.';
}

namespace {
std::optional<uint16_t> parsePort(std::string_view text) {
  unsigned value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || p != text.data() + text.size() || value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}
}  // namespace

std::optional<HostPort> parseHostPort(std::string_view text, std::string* why) {
  HostPort hp;
  std::string_view portText;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      if (why) *why = "expected [IPv6]:PORT";
      return std::nullopt;
    }
    hp.host = std::string(text.substr(1, close - 1));
    hp.ipv6 = true;
    portText = text.substr(close + 2);
    in6_addr tmp{};
    if (inet_pton(AF_INET6, hp.host.c_str(), &tmp) != 1) {
      if (why) *why = "'" + hp.host + "' is not an IPv6 address";
      return std::nullopt;
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      if (why) *why = "expected HOST:PORT";
      return std::nullopt;
    }
    hp.host = std::string(text.substr(0, colon));
    portText = text.substr(colon + 1);
    if (hp.host.find(':') != std::string::npos) {
      if (why) *why = "an IPv6 address must be written in brackets, [ADDR]:PORT";
      return std::nullopt;
    }
    in_addr tmp{};
    const bool numeric = inet_pton(AF_INET, hp.host.c_str(), &tmp) == 1;
    bool looksNumeric = !hp.host.empty();
    for (char c : hp.host) looksNumeric = looksNumeric && ((c >= '0' && c <= '9') || c == '.');
    if (!numeric && (looksNumeric || !isValidHostname(hp.host))) {
      if (why) *why = "'" + hp.host + "' is not an IP address or host name";
      return std::nullopt;
    }
  }
  const auto port = parsePort(portText);
  if (!port) {
    if (why) *why = "'" + std::string(portText) + "' is not a port number (0-65535)";
    return std::nullopt;
  }
  hp.port = *port;
  return hp;
}

std::optional<ListenAddr> parseListen(std::string_view text, std::string* why) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    if (why) *why = "expected TRANSPORT:HOST:PORT, e.g. udp:127.0.0.1:5060";
    return std::nullopt;
  }
  ListenAddr la;
  la.transport = std::string(text.substr(0, colon));
  if (la.transport != "udp" && la.transport != "tcp") {
    if (why) *why = "transport '" + la.transport + "' is not udp or tcp";
    return std::nullopt;
  }
  auto hp = parseHostPort(text.substr(colon + 1), why);
  if (!hp) return std::nullopt;
  if (!parseIp(hp->host)) {
    if (why) *why = "listen host '" + hp->host + "' must be an IP address";
    return std::nullopt;
  }
  la.where = *hp;
  return la;
}

std::optional<Cidr> parseCidr(std::string_view text, std::string* why) {
  const auto slash = text.find('/');
  Cidr c;
  c.text = std::string(text);
  const std::string_view addrText = text.substr(0, slash);
  const auto ip = parseIp(addrText);
  if (!ip) {
    if (why) *why = "'" + std::string(addrText) + "' is not an IP address";
    return std::nullopt;
  }
  c.addr = *ip;
  const bool v4 = addrText.find(':') == std::string_view::npos;
  const int maxLen = v4 ? 32 : 128;
  int len = maxLen;
  if (slash != std::string_view::npos) {
    const std::string_view lenText = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(lenText.data(), lenText.data() + lenText.size(), len);
    if (ec != std::errc() || p != lenText.data() + lenText.size() || len < 0 || len > maxLen) {
      if (why) *why = "prefix length '" + std::string(lenText) + "' must be 0-" + std::to_string(maxLen);
      return std::nullopt;
    }
  }
  c.prefix = v4 ? 96 + len : len;
  return c;
}

}  // namespace sb::config
