#pragma once
// seatbridgectl's commands and options as data: `--help` and the shell
// completion scripts are both printed from this list, so they agree.
#include <string>
#include <vector>

namespace sb::ctl {

struct Option {
  std::string flag;      // "--user"
  std::string value;     // "USERID"; empty for a flag without a value
  std::string help;
  // Where completion finds the option's values: a method parameter's oneOf
  // ("Gateway.listRecords endState"), "file", or empty for none.
  std::string valuesFrom{};
};

struct Command {
  std::string name;
  std::string args;  // after the name, for usage
  std::string help;
  std::vector<Option> options{};
  std::vector<std::string> words{};  // fixed positional words (completion's shells)
};

const std::vector<Command>& commands();
// Options before the command.
const std::vector<Option>& globalOptions();
const Command* findCommand(const std::string& name);

}  // namespace sb::ctl
