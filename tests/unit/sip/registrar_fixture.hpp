#pragma once
// What the registrar's tests share (registrar_test.cpp for REGISTER,
// registrar_calls_test.cpp for INVITEs from desk phones): a two-extension
// config, the clock, and reading a challenge's parameters.
#include <cstdint>
#include <string>

#include "sip/registrar.hpp"

namespace sb::sip::test {

// Extensions 1001 and 1002 (passwords pw-1001, pw-1002) on sb.test; SHA-256
// and MD5; a source is banned for 60 s after 3 failures.
inline config::Config registrarConfig() {
  config::Config c;
  c.sip.domain = "sb.test";
  c.registrar = {60, 3600, 600, 2, 30};
  c.security.digestAlgorithms = {"SHA-256", "MD5"};
  c.security.maxAuthFailures = 3;
  c.security.banSeconds = 60;
  c.extensions = {{"1001", "Desk", "pw-1001", "", "", ""}, {"1002", "Desk", "pw-1002", "", "", ""}};
  return c;
}

// `s` seconds into the test, on both clocks.
inline Now at(int64_t s) { return {1'700'000'000'000 + s * 1000, 1'000'000 + s * 1000}; }

// A parameter of a WWW-/Proxy-Authenticate value, quoted or not ("" if absent).
inline std::string param(const std::string& challenge, const std::string& name) {
  size_t at = challenge.find(name + "=");
  size_t skip = name.size() + 1;
  if (at == std::string::npos) {
    at = challenge.find(name + " = ");  // SWS around '=' (RFC 3261 §25.1)
    skip += 2;
  }
  if (at == std::string::npos) return "";
  at += skip;
  if (challenge[at] == '"') ++at;
  const size_t end = challenge.find_first_of("\",", at);
  return challenge.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

}  // namespace sb::sip::test
