#include <doctest/doctest.h>

#include "config/config.hpp"
#include "config/dial_pattern.hpp"

using namespace sb::config;

TEST_CASE("dial patterns: X Z N, digit sets and the two tails match whole numbers") {
  CHECK(dialPatternMatches("+1NXXNXXXXXX", "+15552345678"));
  CHECK_FALSE(dialPatternMatches("+1NXXNXXXXXX", "+11551234567"));   // N is 2-9
  CHECK_FALSE(dialPatternMatches("+1NXXNXXXXXX", "+155523456788"));  // one digit too many
  CHECK_FALSE(dialPatternMatches("+1NXXNXXXXXX", "+1555123456"));    // one too few
  CHECK(dialPatternMatches("0[1-37]XXX", "07123"));
  CHECK_FALSE(dialPatternMatches("0[1-37]XXX", "04123"));
  CHECK(dialPatternMatches("9.", "912"));
  CHECK_FALSE(dialPatternMatches("9.", "9"));  // '.' wants one or more
  CHECK(dialPatternMatches("9!", "9"));
  CHECK(dialPatternMatches("zxx", "123"));  // lower case wildcards
  CHECK_FALSE(dialPatternMatches("X.", "1+2"));  // wildcards never match '+'
  CHECK(dialPatternMatches("*XX#", "*72#"));
}

TEST_CASE("dial patterns: malformed ones are explained") {
  CHECK(dialPatternError("+1NXX").empty());
  CHECK(dialPatternError("").find("empty") != std::string::npos);
  CHECK(dialPatternError("9.X").find("last") != std::string::npos);
  CHECK(dialPatternError("0[12").find("never closed") != std::string::npos);
  CHECK(dialPatternError("0[a]").find("digit set") != std::string::npos);
  CHECK(dialPatternError("1+2").find("notation") != std::string::npos);  // '+' only first
  CHECK(dialPatternError(".").find("at least one") != std::string::npos);
}

TEST_CASE("dialled numbers: visual separators dropped, anything else refused") {
  CHECK(normalizeDialled("+1 (555) 123-4567") == std::nullopt);  // a space is not a separator of RFC 3966
  CHECK(normalizeDialled("+1(555)123-45.67") == "+15551234567");
  CHECK(normalizeDialled("*72#") == "*72#");
  CHECK(normalizeDialled("") == std::nullopt);
  CHECK(normalizeDialled("+") == std::nullopt);
  CHECK(normalizeDialled("12+3") == std::nullopt);
  CHECK(normalizeDialled("alice") == std::nullopt);
  CHECK(normalizeDialled(std::string(33, '1')) == std::nullopt);
}

TEST_CASE("restricted prefixes pass only a pattern that spells them out") {
  const std::vector<std::string> restricted = Outbound{}.restrictedPrefixes;
  const std::vector<std::string> national{"+1NXXNXXXXXX", "NXXNXXXXXX"};
  CHECK(dialAllowed(national, "+15552345678", restricted));
  CHECK(dialAllowed(national, "5552345678", restricted));
  // N matches the 9 of +1900, but the premium prefix is not written out.
  CHECK_FALSE(dialAllowed(national, "+19005551234", restricted));
  CHECK(dialAllowed({"+1900XXXXXXX"}, "+19005551234", restricted));
  // "X." would take any digits; the international access code must be spelled.
  CHECK_FALSE(dialAllowed({"X."}, "00442071234567", restricted));
  CHECK(dialAllowed({"0044X."}, "00442071234567", restricted));
  CHECK_FALSE(dialAllowed({}, "5552345678", restricted));
  CHECK(dialAllowed({"X."}, "00442071234567", {}));  // no restricted prefixes configured
}

TEST_CASE("dial plan errors in the config are located at the pattern") {
  const auto r = loadString(
      "sip: {listen: ['udp:127.0.0.1:5060'], domain: example.test}\n"
      "control: {socket: run/s.sock}\n"
      "storage: {path: var/s.db}\n"
      "outbound: {emergencyNumbers: ['112', 'abc'], ringTimeout: 0}\n"
      "skillGroups:\n"
      "  - id: sales\n"
      "    dialPatterns: ['+1NXX', '9.X']\n"
      "    callerNumbers: ['nope']\n"
      "trunks:\n"
      "  - name: pbx\n"
      "    address: 127.0.0.2:5060\n"
      "    dialPatterns: ['+1NXXNXXXXXX']\n"
      "    privacy: id\n",
      "t.yaml", "/tmp");
  REQUIRE_FALSE(r.ok());
  std::vector<std::string> lines;
  for (const auto& e : r.errors) lines.push_back(e.str());
  for (const auto& l : lines) INFO(l);
  const auto has = [&](const std::string& part) {
    for (const auto& l : lines)
      if (l.find(part) != std::string::npos) return true;
    return false;
  };
  CHECK(has("t.yaml:4:"));  // both outbound errors on line 4
  CHECK(has("outbound.emergencyNumbers[1]: 'abc' is not a dialable number"));
  CHECK(has("outbound.ringTimeout: 0 is outside 1..600"));
  CHECK(has("t.yaml:7:29: skillGroups[0].dialPatterns[1]: dial pattern '9.X': '.' must be the last character"));
  CHECK(has("t.yaml:8:21: skillGroups[0].callerNumbers[0]: 'nope' is not a phone number"));
  CHECK(has("trunks[0].privacy: privacy id hides From"));
  CHECK(has("trunks[0].dialPatterns: a trunk that carries outbound calls needs callerNumbers"));
}
