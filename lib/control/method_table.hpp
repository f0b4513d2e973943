#pragma once
// The control socket's methods, declared once as data: name, parameters (name,
// type, required, allowed values), help text and handler. Dispatch, parameter
// validation, `seatbridgectl` help and docs/PROTOCOL.md all derive from this table,
// so a method cannot be documented one way and validated another.
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "control/request.hpp"

namespace sb::control {

enum class ParamType { String, Integer, Number, Boolean, StringArray, Object };

const char* paramTypeName(ParamType type);

struct Param {
  std::string name{};
  ParamType type = ParamType::String;
  bool required = false;
  std::string help{};
  std::vector<std::string> oneOf{};  // allowed values of a string parameter; empty: any
};

// Whether the method's behaviour exists yet. Planned methods validate their
// parameters (and a sessionId's existence) and then answer `notImplemented`.
enum class Availability { Available, Planned };

struct MethodSpec {
  std::string name{};
  std::string help{};
  std::vector<Param> params{};
  // Acts for one agent: takes `userId`, which defaults to the Client.login binding.
  bool actsForAgent = false;
  Availability availability = Availability::Available;
  std::string answer{};   // what a success answer's `data` holds (for the docs)
  std::string sdkName{};  // the SDK's own name when it differs or is unconfirmed (docs)
  Handler handler{};
};

struct ValidationError {
  std::string code;  // errorCode: missingParam, invalidParams, unknownParam
  std::string message;
};

// Checks `params` against the method's declaration. For a method acting for an
// agent, a missing userId is filled in from `loginUserId` (the Client.login
// binding); a userId differing from the binding is refused.
std::optional<ValidationError> validateParams(const MethodSpec& method, nlohmann::json& params,
                                              const std::string& loginUserId);

class MethodTable {
 public:
  // Throws std::logic_error on a duplicate name: the table is built at start-up.
  void add(MethodSpec spec);
  const MethodSpec* find(const std::string& name) const;
  // In declaration order (the docs keep it).
  const std::vector<MethodSpec>& all() const { return methods_; }

 private:
  std::vector<MethodSpec> methods_;
};

}  // namespace sb::control
