#include <doctest/doctest.h>

#include "control/method_table.hpp"

using namespace sb::control;
using nlohmann::json;

namespace {

MethodSpec setStatus() {
  return MethodSpec{.name = "Agent.setStatus",
                    .help = "",
                    .params = {{"status", ParamType::String, true, "", {"free", "rest"}},
                               {"restReason", ParamType::String, false, ""}},
                    .actsForAgent = true};
}

MethodSpec typed() {
  return MethodSpec{.name = "T.typed",
                    .params = {{"s", ParamType::String, false, ""},
                               {"i", ParamType::Integer, false, ""},
                               {"n", ParamType::Number, false, ""},
                               {"b", ParamType::Boolean, false, ""},
                               {"a", ParamType::StringArray, false, ""},
                               {"o", ParamType::Object, false, ""}}};
}

std::string codeOf(const MethodSpec& m, json params, const std::string& login = {}) {
  auto e = validateParams(m, params, login);
  return e ? e->code : "ok";
}

}  // namespace

TEST_CASE("control method table: a valid request passes and keeps its parameters") {
  json p{{"userId", "alice"}, {"status", "rest"}, {"restReason", "Meal"}};
  CHECK_FALSE(validateParams(setStatus(), p, ""));
  CHECK(p["restReason"] == "Meal");
}

TEST_CASE("control method table: a missing required parameter is missingParam and names it") {
  json p{{"userId", "alice"}};
  auto e = validateParams(setStatus(), p, "");
  REQUIRE(e);
  CHECK(e->code == "missingParam");
  CHECK(e->message.find("'status'") != std::string::npos);
  CHECK(codeOf(setStatus(), {{"userId", "alice"}, {"status", nullptr}}) == "missingParam");
}

TEST_CASE("control method table: a wrong type is invalidParams with the expected type") {
  json p{{"userId", "alice"}, {"status", 3}};
  auto e = validateParams(setStatus(), p, "");
  REQUIRE(e);
  CHECK(e->code == "invalidParams");
  CHECK(e->message == "'status' must be a string");
  CHECK(codeOf(typed(), {{"s", 1}}) == "invalidParams");
  CHECK(codeOf(typed(), {{"i", 1.5}}) == "invalidParams");
  CHECK(codeOf(typed(), {{"i", "1"}}) == "invalidParams");
  CHECK(codeOf(typed(), {{"i", -4}}) == "ok");
  CHECK(codeOf(typed(), {{"n", 1.5}}) == "ok");
  CHECK(codeOf(typed(), {{"b", 0}}) == "invalidParams");
  CHECK(codeOf(typed(), {{"a", json::array({"x", 1})}}) == "invalidParams");
  CHECK(codeOf(typed(), {{"a", json::array({"x", "y"})}}) == "ok");
  CHECK(codeOf(typed(), {{"o", json::array()}}) == "invalidParams");
}

TEST_CASE("control method table: a value outside the allowed set is invalidParams listing the set") {
  json p{{"userId", "alice"}, {"status", "sleeping"}};
  auto e = validateParams(setStatus(), p, "");
  REQUIRE(e);
  CHECK(e->code == "invalidParams");
  CHECK(e->message == "'status' must be one of free, rest");
}

TEST_CASE("control method table: an undeclared parameter is unknownParam") {
  auto e = [] {
    json p{{"userId", "alice"}, {"status", "free"}, {"stauts", "x"}};
    return validateParams(setStatus(), p, "");
  }();
  REQUIRE(e);
  CHECK(e->code == "unknownParam");
  CHECK(e->message.find("'stauts'") != std::string::npos);
}

TEST_CASE("control method table: params must be an object, and null means none") {
  CHECK(codeOf(typed(), json::array()) == "invalidParams");
  CHECK(codeOf(typed(), nullptr) == "ok");
}

TEST_CASE("control method table: userId defaults to the login binding and may not name another agent") {
  json p{{"status", "free"}};
  CHECK_FALSE(validateParams(setStatus(), p, "alice"));
  CHECK(p["userId"] == "alice");
  CHECK(codeOf(setStatus(), {{"status", "free"}}) == "missingParam");
  CHECK(codeOf(setStatus(), {{"status", "free"}, {"userId", "bob"}}, "alice") == "userMismatch");
  CHECK(codeOf(setStatus(), {{"status", "free"}, {"userId", "alice"}}, "alice") == "ok");
  CHECK(codeOf(setStatus(), {{"status", "free"}, {"userId", 7}}) == "invalidParams");
  CHECK(codeOf(setStatus(), {{"status", "free"}, {"userId", ""}}) == "invalidParams");
}

TEST_CASE("control method table: a required string may not be empty") {
  CHECK(codeOf(setStatus(), {{"userId", "a"}, {"status", ""}}) == "invalidParams");
}

TEST_CASE("control method table: the table refuses a duplicate and finds by exact name") {
  MethodTable t;
  t.add(setStatus());
  CHECK_THROWS_AS(t.add(setStatus()), std::logic_error);
  CHECK(t.find("Agent.setStatus") != nullptr);
  CHECK(t.find("agent.setstatus") == nullptr);
  CHECK(t.all().size() == 1);
}
