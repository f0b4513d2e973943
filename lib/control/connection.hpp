#pragma once
// One control client: a bufferevent that splits input into lines, writes NDJSON,
// and holds the connection's state (login, subscription, output gate). Owned by
// ControlServer, on the control thread.
//
// Output has two kinds of lines. Answers are always queued (a client that sends
// requests and never reads stops being read once its output passes
// Limits::pauseReadingBytes, so answers cannot pile up without bound). Events pass
// the OutputGate: dropped above Limits::maxQueuedBytes and announced afterwards
// with one `eventsDropped` line.
#include <cstdint>
#include <string>
#include <string_view>

#include "control/history_ring.hpp"
#include "control/output_gate.hpp"
#include "control/request_decoder.hpp"
#include "control/subscription.hpp"

struct bufferevent;

namespace sb::control {

class ControlServer;
struct Limits;

class Connection {
 public:
  Connection(ControlServer& server, uint64_t id, bufferevent* bev, const Limits& limits, std::string tabUuid);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uint64_t id() const { return id_; }
  const std::string& tabUuid() const { return tabUuid_; }
  const std::string& loginUserId() const { return loginUserId_; }
  void setLoginUserId(std::string userId) { loginUserId_ = std::move(userId); }
  const Subscription& subscription() const { return subscription_; }
  void setSubscription(Subscription s) { subscription_ = std::move(s); }

  // An answer or a per-connection event (ready): always queued (after any
  // events gathered so far).
  void writeLine(std::string_view lineWithNewline);
  // A numbered event, if the subscription wants it and the gate lets it through.
  // Returns false when it was dropped. Events are gathered until flush(), so a
  // batch costs one buffer append per connection instead of one per event.
  bool deliver(const StoredEvent& event);
  // A whole batch of events (`lines`, concatenated) for an `all` subscriber whose
  // queue has room for all of it; false (nothing done) otherwise.
  bool deliverAll(const std::string& lines);
  // Seqs that never reached the control thread: reported to this subscriber.
  void reportLost(uint64_t fromSeq, uint64_t toSeq);
  // Hands the gathered events to the socket: written at once when nothing is
  // queued ahead of them and the gate is open, else to the output buffer.
  void flush();
  // Bytes waiting for this client: in the output buffer and gathered.
  size_t queuedBytes() const;

 private:
  // libevent's callbacks: noexcept trampolines (common/c_callback.hpp).
  static void onRead(bufferevent*, void* self) noexcept;
  void drained();  // the write buffer went below its low-water mark
  static void onWrite(bufferevent*, void* self) noexcept;
  static void onEvent(bufferevent*, short what, void* self) noexcept;
  void readLines();
  void appendNotice();
  void tooLong();
  void pauseReadingIfFull();

  ControlServer& server_;
  uint64_t id_;
  bufferevent* bev_;
  const Limits& limits_;
  std::string tabUuid_;
  std::string loginUserId_;
  Subscription subscription_;
  OutputGate gate_;
  std::string gathered_;  // events of the current batch, not yet in the output buffer
  LineFramer framer_;
  bool readingPaused_ = false;
};

}  // namespace sb::control
