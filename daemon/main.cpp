// seatbridged: flags, configuration, and the App's life cycle. Nothing else.
#include <sofia-sip/su.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "common/log.hpp"
#include "config/config.hpp"
#include "daemon/app.hpp"
#include "seatbridge/version.hpp"

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: seatbridged --config FILE        run in the foreground\n"
               "       seatbridged --check-config FILE  validate FILE and exit (0 valid, 1 not)\n"
               "       seatbridged --version\n");
}

int checkConfig(const std::string& path) {
  const auto r = sb::config::loadFile(path);
  for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
  if (!r.ok()) return 1;
  std::printf("%s: ok\n", path.c_str());
  return 0;
}

int runDaemon(const std::string& path) {
  auto loaded = sb::config::loadFile(path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    return 1;
  }
  sb::daemon::blockSignals();
  su_init();
  int code = 1;
  try {
    sb::daemon::App app(path, std::move(*loaded.config));
    app.start();
    code = app.run();
  } catch (const std::exception& e) {
    SB_ERROR("main", "%s", e.what());
    code = 1;
  }
  su_deinit();
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("seatbridged %s\n", sb::kVersion);
    return 0;
  }
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    usage(stdout);
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "--check-config") == 0) return checkConfig(argv[2]);
  if (argc == 3 && std::strcmp(argv[1], "--config") == 0) return runDaemon(argv[2]);
  usage(stderr);
  return 2;
}
