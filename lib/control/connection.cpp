#include "control/connection.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <sys/socket.h>

#include <cstdlib>

#include "common/c_callback.hpp"
#include "control/control_server.hpp"
#include "control/errors.hpp"

namespace sb::control {

using nlohmann::json;

Connection::Connection(ControlServer& server, uint64_t id, bufferevent* bev, const Limits& limits, std::string tabUuid)
    : server_(server),
      id_(id),
      bev_(bev),
      limits_(limits),
      tabUuid_(std::move(tabUuid)),
      gate_(limits.maxQueuedBytes, limits.resumeBelowBytes),
      framer_(limits.maxLineBytes) {
  bufferevent_setcb(bev_, &Connection::onRead, &Connection::onWrite, &Connection::onEvent, this);
  // The write callback fires once the output drained to the resume mark: the
  // moment to tell a slow client what it missed and to read its requests again.
  bufferevent_setwatermark(bev_, EV_WRITE, limits.resumeBelowBytes, 0);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
}

Connection::~Connection() { bufferevent_free(bev_); }

size_t Connection::queuedBytes() const {
  return evbuffer_get_length(bufferevent_get_output(bev_)) + gathered_.size();
}

void Connection::writeLine(std::string_view line) {
  gathered_ += line;
  flush();
  pauseReadingIfFull();
}

bool Connection::deliver(const StoredEvent& event) {
  if (!subscription_.matches(event.userId, event.topic)) return true;
  if (!gate_.offer(event.seq, queuedBytes())) return false;
  if (gate_.noticeDue()) appendNotice();
  gathered_ += event.line;
  return true;
}

bool Connection::deliverAll(const std::string& lines) {
  if (!subscription_.all || gate_.dropping() || queuedBytes() + lines.size() >= limits_.maxQueuedBytes) return false;
  if (gate_.noticeDue()) appendNotice();
  gathered_ += lines;
  return true;
}

void Connection::reportLost(uint64_t fromSeq, uint64_t toSeq) {
  if (!subscription_.any()) return;
  gate_.recordLost(fromSeq, toSeq);
  if (gate_.noticeDue()) appendNotice();
}

void Connection::flush() {
  if (gathered_.empty()) return;
  evbuffer* out = bufferevent_get_output(bev_);
  size_t written = 0;
  // Only while the gate is open: a gate that is dropping, or owes a notice,
  // learns that the client caught up from onWrite, which libevent calls only
  // for output that went through its buffer.
  if (evbuffer_get_length(out) == 0 && !gate_.dropping() && !gate_.noticeDue()) {
    // Nothing queued ahead of it: write now. Left to the bufferevent, the batch
    // would wait for the next loop pass and cost an epoll_ctl to arm the write
    // event and another to disarm it, per client per batch; with 100 clients
    // that is most of the fan-out's syscalls and the tail of its latency.
    // Whatever the socket does not take now (EAGAIN, or an error, which the
    // bufferevent then meets and reports through onEvent) is queued as before.
    const ssize_t n = ::send(bufferevent_getfd(bev_), gathered_.data(), gathered_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) written = static_cast<size_t>(n);
  }
  // One append (and so one write-event check inside libevent) per batch.
  if (written < gathered_.size()) evbuffer_add(out, gathered_.data() + written, gathered_.size() - written);
  gathered_.clear();
  if (gathered_.capacity() > 4 * limits_.maxQueuedBytes) gathered_.shrink_to_fit();
}

void Connection::appendNotice() {
  const DropNotice n = gate_.takeNotice();
  // Numbered with the last seq it covers: a client tracking seq has now been told
  // about everything up to there.
  gathered_ += eventLine("eventsDropped", n.toSeq, "",
                         json{{"fromSeq", n.fromSeq}, {"toSeq", n.toSeq}, {"count", n.count}});
}

void Connection::pauseReadingIfFull() {
  if (!readingPaused_ && queuedBytes() > limits_.pauseReadingBytes) {
    readingPaused_ = true;
    bufferevent_disable(bev_, EV_READ);
  }
}

void Connection::onRead(bufferevent*, void* self) noexcept {
  guardedCallback("control", "reading a request", [&] { static_cast<Connection*>(self)->readLines(); });
}

void Connection::onWrite(bufferevent*, void* self) noexcept {
  guardedCallback("control", "a write callback", [&] { static_cast<Connection*>(self)->drained(); });
}

void Connection::drained() {
  const size_t queued = queuedBytes();
  gate_.onDrained(queued);
  if (gate_.noticeDue()) {
    appendNotice();
    flush();
  }
  if (readingPaused_ && queued <= limits_.resumeBelowBytes) {
    readingPaused_ = false;
    bufferevent_enable(bev_, EV_READ);
    readLines();  // requests that arrived while paused
  }
}

void Connection::onEvent(bufferevent*, short what, void* self) noexcept {
  guardedCallback("control", "a connection event", [&] {
    auto* c = static_cast<Connection*>(self);
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) c->server_.onClosed(c->id_);  // deletes c
  });
}

void Connection::tooLong() {
  server_.sendAnswer(id_, "", false,
                     nlohmann::ordered_json{{"id", nullptr},
                                            {"status", "error"},
                                            {"errorCode", errc::lineTooLong},
                                            {"errorMsg", "a request line may be at most " +
                                                             std::to_string(limits_.maxLineBytes) + " bytes"}});
}

void Connection::readLines() {
  evbuffer* in = bufferevent_get_input(bev_);
  const uint64_t id = id_;
  ControlServer& server = server_;
  while (!readingPaused_) {
    LineFramer::Next n = framer_.next(in);
    if (n.kind == LineFramer::Next::Kind::none) return;
    if (n.kind == LineFramer::Next::Kind::tooLong) {
      tooLong();
      continue;
    }
    server.onLine(*this, n.text);
    if (!server.connected(id)) return;  // a handler closed us
  }
}

}  // namespace sb::control
