#include <doctest/doctest.h>
#include <event2/buffer.h>

#include <memory>
#include <string>
#include <vector>

#include "control/errors.hpp"
#include "control/request_decoder.hpp"

using namespace sb::control;
using nlohmann::json;

namespace {

struct Buffer {
  std::unique_ptr<evbuffer, decltype(&evbuffer_free)> b{evbuffer_new(), &evbuffer_free};
  void add(const std::string& s) { evbuffer_add(b.get(), s.data(), s.size()); }
};

// What the framer yields for the bytes fed so far: each line, or "<tooLong>".
std::vector<std::string> drain(LineFramer& f, Buffer& in) {
  std::vector<std::string> out;
  for (LineFramer::Next n = f.next(in.b.get()); n.kind != LineFramer::Next::Kind::none; n = f.next(in.b.get()))
    out.push_back(n.kind == LineFramer::Next::Kind::line ? n.text : "<tooLong>");
  return out;
}

MethodTable table() {
  MethodTable t;
  t.add({.name = "Agent.setStatus",
         .params = {{"status", ParamType::String, true, "", {"free", "rest"}}},
         .actsForAgent = true});
  t.add({.name = "Gateway.status"});
  return t;
}

}  // namespace

TEST_CASE("control framing: lines end at LF, a CR before it goes, empty lines are skipped, a partial line waits") {
  LineFramer f(64);
  Buffer in;
  in.add("{\"a\":1}\r\n\n\r\n{\"b\":2}\n{\"c\"");
  CHECK(drain(f, in) == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"});
  in.add(":3}\n");
  CHECK(drain(f, in) == std::vector<std::string>{"{\"c\":3}"});
}

TEST_CASE("control framing: an over-long line is reported once and dropped up to its LF, across reads") {
  LineFramer f(8);
  Buffer in;
  in.add(std::string(20, 'x'));  // no LF yet, already past the limit
  CHECK(drain(f, in) == std::vector<std::string>{"<tooLong>"});
  in.add(std::string(20, 'y'));  // still the same line: nothing more to say
  CHECK(drain(f, in).empty());
  in.add("yy\nok\n");
  CHECK(drain(f, in) == std::vector<std::string>{"ok"});
  in.add(std::string(9, 'z') + "\nfine\n");  // one read whole
  CHECK(drain(f, in) == std::vector<std::string>{"<tooLong>", "fine"});
}

TEST_CASE("control decoding: each refusal has its errorCode and keeps the client's id") {
  const MethodTable t = table();
  auto error = [&](const std::string& line, const std::string& login = {}) {
    auto d = decodeRequest(line, &t, login);
    REQUIRE(std::holds_alternative<DecodeError>(d));
    return std::get<DecodeError>(d);
  };
  CHECK(error("not json").code == errc::badRequest);
  CHECK(error("[1,2]").code == errc::badRequest);
  CHECK(error(R"({"id":7})").code == errc::badRequest);
  CHECK(error(R"({"id":7})").id == 7);
  CHECK(error(R"({"id":"x","method":3})").code == errc::badRequest);
  CHECK(error(R"({"id":"x","method":"Nope.nope"})").code == errc::unknownMethod);
  const DecodeError missing = error(R"({"id":1,"method":"Agent.setStatus","params":{"status":"free"}})");
  CHECK(missing.code == errc::missingParam);  // no userId and no login
  CHECK(missing.method == "Agent.setStatus");
  CHECK(error(R"({"method":"Agent.setStatus","params":{"status":"gone"}})", "alice").code == errc::invalidParams);
  CHECK(error(R"({"method":"Gateway.status","params":{"x":1}})").code == errc::unknownParam);
  CHECK(std::holds_alternative<DecodeError>(decodeRequest(R"({"method":"Gateway.status"})", nullptr, "")));
}

TEST_CASE("control decoding: a valid request names its method, keeps its id, and gets the login's userId") {
  const MethodTable t = table();
  auto d = decodeRequest(R"({"id":"r1","method":"Agent.setStatus","params":{"status":"rest"}})", &t, "alice");
  REQUIRE(std::holds_alternative<DecodedRequest>(d));
  const DecodedRequest& r = std::get<DecodedRequest>(d);
  CHECK(r.spec->name == "Agent.setStatus");
  CHECK(r.id == "r1");
  CHECK(r.params == json{{"status", "rest"}, {"userId", "alice"}});
  auto bare = decodeRequest(R"({"method":"Gateway.status"})", &t, "");
  REQUIRE(std::holds_alternative<DecodedRequest>(bare));
  CHECK(std::get<DecodedRequest>(bare).params == json::object());
  CHECK(std::get<DecodedRequest>(bare).id.is_null());
}
