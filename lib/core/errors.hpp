#pragma once
// Method results: a success payload or an error with a precise errorCode, shaped
// like the SDK's CommonSDKResponse so the control socket can forward them as is.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace sb::core {

// errorCode values core/ answers with. The control layer adds its own for framing
// and parameter validation (e.g. invalidParams, unknownMethod).
namespace errc {
inline constexpr std::string_view agentNotFound = "agentNotFound";      // no such userId in config
inline constexpr std::string_view agentOffline = "agentOffline";        // needs Agent.online first
inline constexpr std::string_view invalidStatus = "invalidStatus";      // not a settable status
inline constexpr std::string_view invalidTransition = "invalidTransition";  // e.g. stopNotReady when not notReady
inline constexpr std::string_view sessionNotFound = "sessionNotFound";  // unknown, or not this agent's
inline constexpr std::string_view sessionNotEnded = "sessionNotEnded";  // Call.deleteCall on a live session
inline constexpr std::string_view extensionNotFound = "extensionNotFound";
inline constexpr std::string_view invalidParams = "invalidParams";
inline constexpr std::string_view remoteAnswerUnsupported = "remoteAnswerUnsupported";  // Call.accept: lift the handset
inline constexpr std::string_view deviceUnavailable = "deviceUnavailable";  // no desk phone or mobile to ring
inline constexpr std::string_view mediaNotAnchored = "mediaNotAnchored";  // mute, monitor, takeover: need media.mode anchored
inline constexpr std::string_view recordingDisabled = "recordingDisabled";  // recording.mode never
inline constexpr std::string_view notSupervisor = "notSupervisor";  // Call.monitor, Call.takeover: not a supervisor of the session's skill group
inline constexpr std::string_view codecNotDecodable = "codecNotDecodable";  // monitor, takeover, startRecording: the call's codec is not G.711
inline constexpr std::string_view transcriptUnavailable = "transcriptUnavailable";  // Call.monitor textOnly: no speech recognition yet
}  // namespace errc

struct Error {
  std::string code;     // one of errc
  std::string message;  // for humans: errorMsg
  friend bool operator==(const Error&, const Error&) = default;
};

struct Result {
  nlohmann::json data = nlohmann::json::object();  // the success payload
  std::optional<Error> error;                     // set on failure; data is then empty

  bool ok() const { return !error.has_value(); }
  static Result success(nlohmann::json data = nlohmann::json::object()) { return Result{std::move(data), {}}; }
  static Result failure(std::string_view code, std::string message) {
    return Result{nlohmann::json::object(), Error{std::string(code), std::move(message)}};
  }
};

}  // namespace sb::core
