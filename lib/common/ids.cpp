#include "common/ids.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "common/log.hpp"

namespace sb {
namespace {
constexpr char kHex[] = "0123456789abcdef";
}  // namespace

void randomBytes(std::span<std::byte> out) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      SB_ERROR("main", "getrandom failed: no safe identifiers, aborting");
      std::abort();
    }
    done += static_cast<size_t>(n);
  }
}

std::string hexOf(std::string_view bytes) {
  std::string s;
  s.reserve(bytes.size() * 2);
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    s.append({kHex[c >> 4], kHex[c & 15]});
  }
  return s;
}

std::string randomHex(size_t bytes) {
  std::string b(bytes, '\0');
  randomBytes(std::as_writable_bytes(std::span(b.data(), b.size())));
  return hexOf(b);
}

std::string formatUuidV4(std::span<const std::byte, 16> bytes) {
  std::array<uint8_t, 16> b{};
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(bytes[i]);
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4 (RFC 9562 §5.4)
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // variant 10xx
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0f]);
  }
  return out;
}

std::string uuidV4() {
  std::array<std::byte, 16> b{};
  randomBytes(b);
  return formatUuidV4(b);
}

}  // namespace sb
