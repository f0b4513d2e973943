#pragma once
// Dial patterns: the toll-fraud guard's vocabulary (docs/CONFIG.md, "Dial plan").
// The notation is the one PBX administrators already write (Asterisk's
// extension patterns, minus its leading '_'), matched against a whole number:
//   0-9 + * #   that character
//   X  any digit 0-9     Z  1-9     N  2-9
//   [15-7]      one digit of the set (digits and ranges)
//   .  one or more further characters, last in the pattern only
//   !  zero or more further characters, last in the pattern only
// X, Z and N may be lower case. Wildcards match digits, '*' and '#', never '+',
// so a number in international form is only ever matched by a '+' written out.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::config {

// Empty when `pattern` is well formed; otherwise what is wrong with it.
std::string dialPatternError(std::string_view pattern);
// Whether a well-formed `pattern` matches all of `number`.
bool dialPatternMatches(std::string_view pattern, std::string_view number);
// The characters a pattern spells out before its first wildcard ("+1" for
// "+1NXXNXXXXXX"): a restricted prefix is allowed only where it is written out.
std::string dialPatternLiteralPrefix(std::string_view pattern);

// The number a phone dialled, as the dial plan sees it: the visual separators
// of RFC 3966 §5.1.1 ('-', '.', '(', ')') dropped; nullopt unless what is left is
// 1..32 of 0-9 * # with at most one leading '+'.
std::optional<std::string> normalizeDialled(std::string_view dialled);

// Whether `number` may go out under `patterns`: one of them matches it, and
// where the number starts with one of `restricted` (international and premium
// prefixes), the matching pattern spells that prefix out itself.
bool dialAllowed(const std::vector<std::string>& patterns, std::string_view number,
                 const std::vector<std::string>& restricted);

}  // namespace sb::config
