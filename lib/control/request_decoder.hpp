#pragma once
// The control socket's input side with no socket: the framing of request lines
// out of a libevent buffer, and the decoding of one line into a method and its
// validated parameters. Connection and ControlServer use these; so does
// tests/fuzz/fuzz_control, which feeds them arbitrary bytes.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "control/method_table.hpp"

struct evbuffer;

namespace sb::control {

// Splits a byte stream into request lines (docs/PROTOCOL.md: one JSON object per
// line, LF-ended; a CR before the LF is dropped, empty lines are skipped). A
// line longer than maxLineBytes is reported once, as tooLong, and its bytes are
// dropped up to its LF, however many reads it spans: the client learns why, and
// the buffer never holds more than one over-long line's worth.
class LineFramer {
 public:
  explicit LineFramer(size_t maxLineBytes) : max_(maxLineBytes) {}

  struct Next {
    enum class Kind { none, line, tooLong } kind = Kind::none;
    std::string text{};  // the line, for Kind::line
  };
  // The next event out of `in`: a line, an over-long line, or none (more bytes
  // are needed; what is buffered stays for the next call).
  Next next(evbuffer* in);

 private:
  size_t max_;
  bool discarding_ = false;  // inside an over-long line: drop until its newline
};

struct DecodedRequest {
  const MethodSpec* spec = nullptr;
  nlohmann::json id;      // the client's, echoed in the answer (null when absent)
  nlohmann::json params;  // validated (validateParams), userId filled in from the login
};

struct DecodeError {
  nlohmann::json id;   // the client's, when the line was an object that had one
  std::string method;  // the method's name once known, for the answer and the metrics
  std::string code;    // errorCode: badRequest, unknownMethod, or validateParams' codes
  std::string message;
};

// One request line: a JSON object with a string `method` naming a method of
// `methods`, and `params` that method accepts. `methods` may be null (no table
// yet): every method is then unknown.
std::variant<DecodedRequest, DecodeError> decodeRequest(std::string_view line, const MethodTable* methods,
                                                        const std::string& loginUserId);

}  // namespace sb::control
