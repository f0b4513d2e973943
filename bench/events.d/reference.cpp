// bench/events reference peer: the least a fan-out over libevent can do. One
// thread; a producer connection writes request lines to IN_SOCKET; for each line
// the server numbers an event, formats it (the same size as seatbridge's
// statusChanged line, without parsing the request) and appends it to every
// subscriber connected to OUT_SOCKET. No JSON parsing, no thread hop, no
// backpressure policy, no history: a floor to compare seatbridge's full path with.
//   reference OUT_SOCKET IN_SOCKET
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

namespace {

event_base* base;
std::set<bufferevent*> subscribers;
unsigned long long seq = 0;

void onSubscriberEvent(bufferevent* bev, short what, void*) {
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    subscribers.erase(bev);
    bufferevent_free(bev);
  }
}

void onProducerRead(bufferevent* bev, void*) {
  evbuffer* in = bufferevent_get_input(bev);
  size_t len = 0;
  while (char* line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) {
    ++seq;
    char out[256];
    const int n = std::snprintf(out, sizeof out,
                                "{\"event\":\"statusChanged\",\"seq\":%llu,\"userId\":\"bench@bench.test\","
                                "\"data\":{\"status\":\"%s\"}}\n",
                                seq, seq % 2 ? "rest" : "free");
    for (bufferevent* s : subscribers) evbuffer_add(bufferevent_get_output(s), out, static_cast<size_t>(n));
    std::free(line);
  }
}

void onProducerEvent(bufferevent* bev, short what, void*) {
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) bufferevent_free(bev);
}

void onSubscriber(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void*) {
  bufferevent* bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
  bufferevent_setcb(bev, nullptr, nullptr, onSubscriberEvent, nullptr);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
  subscribers.insert(bev);
}

void onProducer(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void*) {
  bufferevent* bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
  bufferevent_setcb(bev, onProducerRead, nullptr, onProducerEvent, nullptr);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

evconnlistener* listenOn(const char* path, evconnlistener_cb cb) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  unlink(path);
  evconnlistener* l = evconnlistener_new_bind(base, cb, nullptr, LEV_OPT_CLOSE_ON_FREE, 256,
                                              reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  if (!l) {
    std::perror(path);
    std::exit(1);
  }
  return l;
}

void onSignal(evutil_socket_t, short, void*) { event_base_loopbreak(base); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: reference OUT_SOCKET IN_SOCKET\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  base = event_base_new();
  evconnlistener* out = listenOn(argv[1], onSubscriber);
  evconnlistener* in = listenOn(argv[2], onProducer);
  event* term = evsignal_new(base, SIGTERM, onSignal, nullptr);
  event_add(term, nullptr);
  std::printf("ready\n");
  std::fflush(stdout);
  event_base_dispatch(base);
  for (bufferevent* s : subscribers) bufferevent_free(s);
  evconnlistener_free(out);
  evconnlistener_free(in);
  event_free(term);
  event_base_free(base);
  unlink(argv[1]);
  unlink(argv[2]);
  return 0;
}
