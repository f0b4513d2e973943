#include "control/method_table.hpp"

#include <algorithm>
#include <stdexcept>

#include "control/errors.hpp"

namespace sb::control {

using nlohmann::json;

const char* paramTypeName(ParamType type) {
  switch (type) {
    case ParamType::String: return "string";
    case ParamType::Integer: return "integer";
    case ParamType::Number: return "number";
    case ParamType::Boolean: return "boolean";
    case ParamType::StringArray: return "string[]";
    case ParamType::Object: return "object";
  }
  return "?";
}

namespace {

bool hasType(const json& v, ParamType type) {
  switch (type) {
    case ParamType::String: return v.is_string();
    case ParamType::Integer: return v.is_number_integer();
    case ParamType::Number: return v.is_number();
    case ParamType::Boolean: return v.is_boolean();
    case ParamType::Object: return v.is_object();
    case ParamType::StringArray:
      return v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); });
  }
  return false;
}

std::string article(ParamType type) {
  switch (type) {
    case ParamType::Integer:
    case ParamType::Object: return std::string("an ") + paramTypeName(type);
    case ParamType::StringArray: return "an array of strings";
    default: return std::string("a ") + paramTypeName(type);
  }
}

std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + v;
  return out;
}

const Param* findParam(const MethodSpec& method, const std::string& name) {
  for (const auto& p : method.params)
    if (p.name == name) return &p;
  return nullptr;
}

std::optional<ValidationError> checkUserId(const MethodSpec& method, json& params, const std::string& loginUserId) {
  if (!method.actsForAgent) return std::nullopt;
  auto it = params.find("userId");
  if (it == params.end() || it->is_null()) {
    if (loginUserId.empty())
      return ValidationError{errc::missingParam, method.name + " needs 'userId' (or a Client.login on this connection)"};
    params["userId"] = loginUserId;
    return std::nullopt;
  }
  if (!it->is_string() || it->get_ref<const std::string&>().empty())
    return ValidationError{errc::invalidParams, "'userId' must be a non-empty string"};
  if (!loginUserId.empty() && *it != loginUserId)
    return ValidationError{errc::userMismatch,
                           "this connection is logged in as '" + loginUserId + "' and cannot act for '" +
                               it->get<std::string>() + "'"};
  return std::nullopt;
}

}  // namespace

std::optional<ValidationError> validateParams(const MethodSpec& method, json& params, const std::string& loginUserId) {
  if (params.is_null()) params = json::object();
  if (!params.is_object()) return ValidationError{errc::invalidParams, "'params' must be an object"};
  for (auto it = params.begin(); it != params.end(); ++it) {
    const bool known = findParam(method, it.key()) || (method.actsForAgent && it.key() == "userId");
    if (!known) {
      std::string names;
      for (const auto& p : method.params) names += (names.empty() ? "" : ", ") + p.name;
      if (method.actsForAgent) names += (names.empty() ? "" : ", ") + std::string("userId");
      return ValidationError{errc::unknownParam, method.name + " has no parameter '" + it.key() + "'" +
                                                     (names.empty() ? " (it takes none)" : " (it takes " + names + ")")};
    }
  }
  if (auto e = checkUserId(method, params, loginUserId)) return e;
  for (const auto& p : method.params) {
    auto it = params.find(p.name);
    if (it == params.end() || it->is_null()) {
      if (p.required) return ValidationError{errc::missingParam, method.name + " needs '" + p.name + "'"};
      if (it != params.end()) params.erase(it);  // null means absent
      continue;
    }
    if (!hasType(*it, p.type))
      return ValidationError{errc::invalidParams, "'" + p.name + "' must be " + article(p.type)};
    if (p.type == ParamType::String && p.required && it->get_ref<const std::string&>().empty())
      return ValidationError{errc::invalidParams, "'" + p.name + "' must not be empty"};
    if (!p.oneOf.empty() &&
        std::find(p.oneOf.begin(), p.oneOf.end(), it->get_ref<const std::string&>()) == p.oneOf.end())
      return ValidationError{errc::invalidParams, "'" + p.name + "' must be one of " + joined(p.oneOf)};
  }
  return std::nullopt;
}

void MethodTable::add(MethodSpec spec) {
  if (find(spec.name)) throw std::logic_error("method declared twice: " + spec.name);
  for (const auto& p : spec.params)
    if (!p.oneOf.empty() && p.type != ParamType::String)
      throw std::logic_error(spec.name + "." + p.name + ": allowed values need a string parameter");
  methods_.push_back(std::move(spec));
}

const MethodSpec* MethodTable::find(const std::string& name) const {
  for (const auto& m : methods_)
    if (m.name == name) return &m;
  return nullptr;
}

}  // namespace sb::control
