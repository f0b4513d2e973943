#pragma once
// A fresh folder for one test's store, removed with everything in it after.
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace sb::store::test {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/sbstore-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string db() const { return (path / "db").string(); }
};

}  // namespace sb::store::test
