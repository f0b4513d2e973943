// libFuzzer target: arbitrary bytes as seatbridge's YAML configuration
// (config::loadString: yaml-cpp's parser, then every key's validation). A bad
// configuration must come back as errors with their places, never a crash,
// an exception or a hang; one that loads must survive a reload comparison
// against itself.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/log.hpp"
#include "config/config.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  sb::log::setLevel(sb::log::Level::error);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // A folder that does not exist: file checks (queueMusic, recordings) fail
  // cleanly instead of touching the machine.
  const sb::config::LoadResult r = sb::config::loadString(text, "fuzz.yaml", "/nonexistent/seatbridge-fuzz");
  if (r.ok() && !sb::config::restartOnlyDifferences(*r.config, *r.config).empty()) __builtin_trap();
  return 0;
}
