#include "control/request_decoder.hpp"

#include <event2/buffer.h>

#include <cstdlib>
#include <memory>

#include "control/errors.hpp"

namespace sb::control {

using nlohmann::json;

LineFramer::Next LineFramer::next(evbuffer* in) {
  for (;;) {
    size_t len = 0;
    std::unique_ptr<char, decltype(&std::free)> line(evbuffer_readln(in, &len, EVBUFFER_EOL_LF), &std::free);
    if (!line) {
      // No LF yet. Past the limit, this line can only be over-long: drop what
      // there is and remember to drop its rest.
      if (evbuffer_get_length(in) > max_) {
        evbuffer_drain(in, evbuffer_get_length(in));
        const bool first = !discarding_;
        discarding_ = true;
        if (first) return {Next::Kind::tooLong, {}};
      }
      return {};
    }
    if (discarding_ || len > max_) {  // the tail of an over-long line, or one read whole
      const bool first = !discarding_;
      discarding_ = false;
      if (first) return {Next::Kind::tooLong, {}};
      continue;
    }
    std::string_view text(line.get(), len);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.empty()) continue;
    return {Next::Kind::line, std::string(text)};
  }
}

std::variant<DecodedRequest, DecodeError> decodeRequest(std::string_view line, const MethodTable* methods,
                                                        const std::string& loginUserId) {
  json request = json::parse(line.begin(), line.end(), nullptr, false);
  if (request.is_discarded() || !request.is_object())
    return DecodeError{nullptr, "", errc::badRequest, "the line is not a JSON object"};
  json id = request.contains("id") ? request["id"] : json(nullptr);
  auto m = request.find("method");
  if (m == request.end() || !m->is_string())
    return DecodeError{std::move(id), "", errc::badRequest, "a request needs a string 'method'"};
  const std::string& method = m->get_ref<const std::string&>();
  const MethodSpec* spec = methods ? methods->find(method) : nullptr;
  if (!spec) return DecodeError{std::move(id), "", errc::unknownMethod, "no method named '" + method + "'"};
  json params = request.contains("params") ? std::move(request["params"]) : json::object();
  if (auto e = validateParams(*spec, params, loginUserId))
    return DecodeError{std::move(id), spec->name, std::move(e->code), std::move(e->message)};
  return DecodedRequest{spec, std::move(id), std::move(params)};
}

}  // namespace sb::control
