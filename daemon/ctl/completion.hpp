#pragma once
// `seatbridgectl completion bash|zsh`: a completion script for the commands, their
// options, the methods of `call`, their KEY= parameters and the values a
// parameter allows, all from the compiled-in method index.
#include <string>

namespace sb::ctl {

// The bash script (defines _seatbridgectl and registers it with `complete`).
std::string bashCompletion();
// zsh: the same script through zsh's bashcompinit.
std::string zshCompletion();
// The commands and methods as JSON (`completion --json`): what the scripts use.
std::string completionIndexJson();

}  // namespace sb::ctl
