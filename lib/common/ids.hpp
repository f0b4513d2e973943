#pragma once
// The one source of random identifiers in seatbridge (session ids, tabUUIDs,
// SIP tags and Call-ID prefixes): the kernel's CSPRNG through getrandom(2).
// Session ids and tabUUIDs are capabilities on the control socket, so a failing
// source aborts the daemon rather than ever handing out weak bytes.
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace sb {

// Each byte as two lower-case hex digits (digests, nonces, RFC 7433 user data).
std::string hexOf(std::string_view bytes);

void randomBytes(std::span<std::byte> out);
// `bytes` random bytes as 2*bytes lower-case hex digits.
std::string randomHex(size_t bytes);
// 16 bytes as an RFC 9562 version-4 UUID (the version and variant bits are set).
std::string formatUuidV4(std::span<const std::byte, 16> bytes);
std::string uuidV4();

}  // namespace sb
