#pragma once
// One control client: a bufferevent that splits input into lines and writes
// NDJSON. Owned by ControlServer, on the control thread.
#include <cstdint>
#include <string>

struct bufferevent;

namespace sb::control {

class ControlServer;

class Connection {
 public:
  Connection(ControlServer& server, uint64_t id, bufferevent* bev, size_t maxLine, std::string tabUuid);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uint64_t id() const { return id_; }
  const std::string& tabUuid() const { return tabUuid_; }
  void write(const std::string& line);

 private:
  static void onRead(bufferevent*, void* self);
  static void onEvent(bufferevent*, short what, void* self);
  void readLines();

  ControlServer& server_;
  uint64_t id_;
  bufferevent* bev_;
  size_t maxLine_;
  std::string tabUuid_;
  bool discarding_ = false;  // inside an over-long line: drop until its newline
};

}  // namespace sb::control
