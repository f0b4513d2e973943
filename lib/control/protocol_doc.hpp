#pragma once
// Renders docs/PROTOCOL.md from the method table, the event catalogue and the
// error tables, so the document cannot drift from what the daemon validates. A
// test compares the committed file with this output.
#include <string>
#include <string_view>
#include <vector>

#include "control/control_server.hpp"
#include "control/errors.hpp"
#include "control/method_table.hpp"

namespace sb::control {

struct EventDoc {
  std::string name;
  std::string userId;      // whether it carries an agent's userId: "yes", "no", "when bound"...
  std::string fields;      // data fields, as Markdown
  std::string when;
};

struct ProtocolDoc {
  const MethodTable* methods = nullptr;
  std::vector<EventDoc> events;
  std::vector<errc::ErrorDoc> domainErrors;  // errorCodes the domain adds
  Limits limits;
};

std::string renderProtocol(const ProtocolDoc& doc);

}  // namespace sb::control
