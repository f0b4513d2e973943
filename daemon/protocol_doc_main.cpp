// seatbridge-protocol-doc: renders docs/PROTOCOL.md from the daemon's method table.
//   seatbridge-protocol-doc              print it
//   seatbridge-protocol-doc --write FILE rewrite FILE (the `protocol-doc` build target)
//   seatbridge-protocol-doc --check FILE exit 1 when FILE differs (a test)
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "control/protocol_doc.hpp"
#include "daemon/gateway_methods.hpp"

int main(int argc, char** argv) {
  const sb::control::MethodTable table = sb::daemon::buildMethodTable(nullptr);
  const std::string text = sb::control::renderProtocol(sb::daemon::protocolDoc(table));
  if (argc == 3 && std::strcmp(argv[1], "--write") == 0) {
    std::ofstream out(argv[2], std::ios::binary | std::ios::trunc);
    out << text;
    return out ? 0 : 1;
  }
  if (argc == 3 && std::strcmp(argv[1], "--check") == 0) {
    std::ifstream in(argv[2], std::ios::binary);
    std::stringstream committed;
    committed << in.rdbuf();
    if (committed.str() == text) return 0;
    std::fprintf(stderr,
                 "%s differs from the method table: run `cmake --build BUILD --target protocol-doc` and commit it\n",
                 argv[2]);
    return 1;
  }
  if (argc != 1) {
    std::fprintf(stderr, "usage: seatbridge-protocol-doc [--write FILE | --check FILE]\n");
    return 2;
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}
