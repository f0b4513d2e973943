// libFuzzer target: bytes as a control client's stream, through the control
// socket's own input code (lib/control/request_decoder.cpp): LineFramer splits
// them into request lines out of a libevent buffer, fed in two reads cut where
// the input's first byte says, and decodeRequest parses each line and validates
// it against the daemon's real method declarations (control_methods.json,
// rendered from the method table by seatbridge-protocol-doc and checked against
// it by the control.fuzz_methods test). No handler runs: what is fuzzed is
// everything before one.
//
// Beyond "no crash, no leak, no UB", every outcome is checked against what
// docs/PROTOCOL.md promises, and a broken promise aborts: no line longer than
// the limit reaches the decoder; an accepted request names a declared method,
// has an object of params with every required parameter present and of its
// declared type, none undeclared, a string in its allowed values, and for a
// method acting for an agent a non-empty userId that is the login's when there
// is one; a refusal carries one of the documented error codes.
#include <event2/buffer.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "control/errors.hpp"
#include "control/request_decoder.hpp"
#include "control_methods.inc"  // kControlMethodsJson, generated from control_methods.json

using namespace sb::control;
using nlohmann::json;

namespace {

constexpr size_t kMaxLine = 4096;  // small, so over-long lines are met often
MethodTable* table = nullptr;

ParamType typeNamed(const std::string& name) {
  for (ParamType t : {ParamType::String, ParamType::Integer, ParamType::Number, ParamType::Boolean,
                      ParamType::StringArray, ParamType::Object})
    if (name == paramTypeName(t)) return t;
  std::fprintf(stderr, "fuzz_control: unknown parameter type %s\n", name.c_str());
  std::abort();
}

[[noreturn]] void broken(const char* promise, std::string_view line) {
  std::fprintf(stderr, "fuzz_control: broken promise: %s\nline: %.*s\n", promise, static_cast<int>(line.size()),
               line.data());
  std::abort();
}

bool typed(const json& v, ParamType t) {
  switch (t) {
    case ParamType::String: return v.is_string();
    case ParamType::Integer: return v.is_number_integer();
    case ParamType::Number: return v.is_number();
    case ParamType::Boolean: return v.is_boolean();
    case ParamType::Object: return v.is_object();
    case ParamType::StringArray:
      if (!v.is_array()) return false;
      for (const auto& e : v)
        if (!e.is_string()) return false;
      return true;
  }
  return false;
}

void check(std::string_view line, const std::string& login) {
  if (line.size() > kMaxLine) broken("an over-long line reached the decoder", line);
  auto decoded = decodeRequest(line, table, login);
  if (auto* e = std::get_if<DecodeError>(&decoded)) {
    static const std::set<std::string> codes = {errc::badRequest, errc::unknownMethod, errc::missingParam,
                                                errc::invalidParams, errc::unknownParam, errc::userMismatch};
    if (!codes.count(e->code)) broken("a refusal with an undocumented errorCode", line);
    if (e->message.empty()) broken("a refusal without a message", line);
    return;
  }
  const DecodedRequest& r = std::get<DecodedRequest>(decoded);
  if (!r.spec || table->find(r.spec->name) != r.spec) broken("an accepted request of no declared method", line);
  if (!r.params.is_object()) broken("accepted params that are not an object", line);
  for (const auto& p : r.spec->params) {
    auto it = r.params.find(p.name);
    if (it == r.params.end()) {
      if (p.required) broken("a required parameter missing", line);
      continue;
    }
    if (!typed(*it, p.type)) broken("a parameter of the wrong type", line);
    if (!p.oneOf.empty() && std::find(p.oneOf.begin(), p.oneOf.end(), it->get<std::string>()) == p.oneOf.end())
      broken("a value outside the allowed ones", line);
  }
  for (auto it = r.params.begin(); it != r.params.end(); ++it) {
    bool declared = r.spec->actsForAgent && it.key() == "userId";
    for (const auto& p : r.spec->params) declared = declared || p.name == it.key();
    if (!declared) broken("an undeclared parameter accepted", line);
  }
  if (r.spec->actsForAgent) {
    auto u = r.params.find("userId");
    if (u == r.params.end() || !u->is_string() || u->get_ref<const std::string&>().empty())
      broken("an agent's method without a userId", line);
    if (!login.empty() && *u != login) broken("a userId other than the login's", line);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  table = new MethodTable;
  for (const auto& m : json::parse(kControlMethodsJson)) {
    MethodSpec spec{.name = m.at("name"), .actsForAgent = m.at("actsForAgent")};
    for (const auto& p : m.at("params"))
      spec.params.push_back(Param{p.at("name"), typeNamed(p.at("type")), p.at("required"), "",
                                  p.at("oneOf").get<std::vector<std::string>>()});
    spec.handler = [](const Request&) {};  // never called: the target stops before a handler
    table->add(std::move(spec));
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte: where the stream is cut between two reads, and whether the
  // connection is logged in (Client.login's binding fills and checks userId).
  const size_t cut = size > 1 ? (data[0] * (size - 1)) / 255 : 0;
  const std::string login = (data[0] & 1) ? "alice@example.com" : "";
  const auto* bytes = data + 1;
  const size_t n = size - 1;
  std::unique_ptr<evbuffer, decltype(&evbuffer_free)> in(evbuffer_new(), &evbuffer_free);
  LineFramer framer(kMaxLine);
  auto pump = [&] {
    for (LineFramer::Next next = framer.next(in.get()); next.kind != LineFramer::Next::Kind::none;
         next = framer.next(in.get()))
      if (next.kind == LineFramer::Next::Kind::line) {
        if (next.text.empty() || next.text.find('\n') != std::string::npos)
          broken("a line with its terminator or an empty line", next.text);
        check(next.text, login);
      }
  };
  evbuffer_add(in.get(), bytes, std::min(cut, n));
  pump();
  if (cut < n) evbuffer_add(in.get(), bytes + cut, n - cut);
  pump();
  // What stays buffered is less than a line's limit: a client cannot make the
  // daemon hold more than that of an unfinished line.
  if (evbuffer_get_length(in.get()) > kMaxLine) broken("more than a line's limit left buffered", "");
  return 0;
}
