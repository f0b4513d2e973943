#pragma once
// Every errorCode the control socket answers, with what it means. The docs list
// this table, so an error a client can see is always documented.
#include <string_view>
#include <vector>

namespace sb::control::errc {

inline constexpr const char* badRequest = "badRequest";
inline constexpr const char* lineTooLong = "lineTooLong";
inline constexpr const char* unknownMethod = "unknownMethod";
inline constexpr const char* missingParam = "missingParam";
inline constexpr const char* invalidParams = "invalidParams";
inline constexpr const char* unknownParam = "unknownParam";
inline constexpr const char* userMismatch = "userMismatch";
inline constexpr const char* agentNotFound = "agentNotFound";
inline constexpr const char* sessionNotFound = "sessionNotFound";
inline constexpr const char* notImplemented = "notImplemented";
inline constexpr const char* notSubscribed = "notSubscribed";
inline constexpr const char* resumeUnavailable = "resumeUnavailable";
inline constexpr const char* notPermitted = "notPermitted";
inline constexpr const char* tooManyClients = "tooManyClients";
inline constexpr const char* shuttingDown = "shuttingDown";
inline constexpr const char* internalError = "internalError";

struct ErrorDoc {
  std::string_view code;
  std::string_view meaning;
};

// Codes from the control layer; the domain (core/) adds its own, listed by the
// daemon beside these.
const std::vector<ErrorDoc>& controlErrors();

}  // namespace sb::control::errc
