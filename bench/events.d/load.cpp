// bench/events load client: N subscriber connections and one producer on a Unix
// socket; measures events delivered per second and fact-to-read latency.
//
// The fact is the producer's request leaving the process (the time is taken just
// before write()); the read is the moment a subscriber's read() returned the line.
// Each request causes exactly one event and events arrive in request order, so
// the k-th event every subscriber reads belongs to the k-th request.
//
//   load --mode seatbridge|reference --socket PATH [--producer-socket PATH]
//        --clients 100 --events N [--window W | --rate R] [--user ID] [--trace FILE]
// seatbridge: subscribers send Client.subscribe {"all":true}; the producer sends
//   Agent.setStatus toggles (rest/free) for --user, which must be online.
// reference: subscribers just connect to PATH; the producer writes the same
//   request lines to --producer-socket, and the server fans out one event per line.
// --trace (paced runs): one line per event, "index sent-us min-us max-us", to tell
//   whole late events (a stall before the fan-out) from a late fan-out or fan-in.
// Prints one JSON object.
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

int64_t nowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "load: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

int connectTo(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("connect " + path);
  return fd;
}

void writeAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) die("write");
    off += static_cast<size_t>(n);
  }
}

// Blocking read of one line (set-up only).
std::string readLine(int fd, std::string& buf) {
  while (true) {
    const auto nl = buf.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      return line;
    }
    char tmp[4096];
    const ssize_t n = read(fd, tmp, sizeof tmp);
    if (n <= 0) die("read during set-up");
    buf.append(tmp, static_cast<size_t>(n));
  }
}

std::string awaitAnswer(int fd, std::string& buf) {
  while (true) {
    std::string line = readLine(fd, buf);
    if (line.find("\"status\"") != std::string::npos && line.find("\"event\"") == std::string::npos) return line;
  }
}

struct Options {
  std::string mode = "seatbridge";
  std::string socket, producerSocket, user = "bench@bench.test";
  int clients = 100;
  long events = 100000;
  long window = 2000;  // closed loop: at most this many events ahead of the slowest subscriber
  long rate = 0;       // open loop: events per second (0: closed loop)
  int sampleEvery = 1;
  std::string trace;   // paced: write one line per event: index, sent (us from the start), min and max latency (us)
};

struct Subscriber {
  int fd = -1;
  std::string partial;
  std::atomic<long> seen{0};
  long dropped = 0;
  std::vector<uint32_t> latencyUs;
};

struct Shared {
  Options o;
  std::unique_ptr<std::atomic<int64_t>[]> sentAt;  // per event index, ns
  std::vector<std::unique_ptr<Subscriber>> subs;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> lastReadNs{0};
};

long slowest(const Shared& s) {
  long m = s.o.events;
  for (const auto& sub : s.subs) m = std::min(m, sub->seen.load(std::memory_order_relaxed));
  return m;
}

void onLines(Shared& s, Subscriber& sub, const char* data, size_t len, int64_t t) {
  size_t start = 0;
  for (size_t i = 0; i < len; ++i) {
    if (data[i] != '\n') continue;
    std::string_view line;
    std::string joined;
    if (!sub.partial.empty()) {
      joined = sub.partial + std::string(data + start, i - start);
      sub.partial.clear();
      line = joined;
    } else {
      line = std::string_view(data + start, i - start);
    }
    start = i + 1;
    if (line.find("\"eventsDropped\"") != std::string_view::npos) {
      const auto c = line.find("\"count\":");
      const long n = c == std::string_view::npos ? 0 : std::atol(std::string(line.substr(c + 8, 20)).c_str());
      sub.dropped += n;
      sub.seen.fetch_add(n, std::memory_order_relaxed);  // keeps the index aligned
      continue;
    }
    if (line.find("statusChanged") == std::string_view::npos) continue;
    const long k = sub.seen.load(std::memory_order_relaxed);
    if (k < s.o.events && k % s.o.sampleEvery == 0) {
      const int64_t sent = s.sentAt[k].load(std::memory_order_acquire);
      if (sent > 0) sub.latencyUs.push_back(static_cast<uint32_t>(std::max<int64_t>(0, (t - sent) / 1000)));
    }
    sub.seen.store(k + 1, std::memory_order_relaxed);
  }
  if (start < len) sub.partial.append(data + start, len - start);
}

void readerLoop(Shared& s) {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  for (size_t i = 0; i < s.subs.size(); ++i) {
    fcntl(s.subs[i]->fd, F_SETFL, O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, s.subs[i]->fd, &ev);
  }
  std::vector<char> buf(1 << 20);
  epoll_event evs[128];
  while (!s.stop.load()) {
    const int n = epoll_wait(ep, evs, 128, 100);
    for (int e = 0; e < n; ++e) {
      Subscriber& sub = *s.subs[evs[e].data.u64];
      while (true) {
        const ssize_t r = read(sub.fd, buf.data(), buf.size());
        if (r <= 0) break;
        const int64_t t = nowNs();
        onLines(s, sub, buf.data(), static_cast<size_t>(r), t);
        s.lastReadNs.store(t, std::memory_order_relaxed);
        if (static_cast<size_t>(r) < buf.size()) break;
      }
    }
    if (slowest(s) >= s.o.events) break;
  }
  close(ep);
}

std::string request(const Options& o, long k) {
  return "{\"id\":" + std::to_string(k) + ",\"method\":\"Agent.setStatus\",\"params\":{\"userId\":\"" + o.user +
         "\",\"status\":\"" + (k % 2 ? "free" : "rest") + "\"}}\n";
}

// Drains whatever the producer connection has to read (seatbridge's answers).
void drainAnswers(int fd) {
  char tmp[1 << 16];
  while (read(fd, tmp, sizeof tmp) > 0) {
  }
}

void producerLoop(Shared& s, int fd, int64_t& firstSend) {
  const Options& o = s.o;
  fcntl(fd, F_SETFL, O_NONBLOCK);
  long sent = 0;
  const int64_t start = nowNs();
  firstSend = start;
  while (sent < o.events && !s.stop.load()) {
    long allowed;
    if (o.rate > 0) {
      const int64_t due = static_cast<int64_t>(static_cast<double>(nowNs() - start) * 1e-9 * static_cast<double>(o.rate)) + 1;
      allowed = std::min<long>(o.events, due) - sent;
    } else {
      allowed = std::min<long>(o.events, slowest(s) + o.window) - sent;
    }
    allowed = std::min<long>(allowed, 256);
    if (allowed <= 0) {
      drainAnswers(fd);
      std::this_thread::sleep_for(std::chrono::microseconds(o.rate > 0 ? 200 : 50));
      continue;
    }
    std::string batch;
    for (long i = 0; i < allowed; ++i) batch += request(o, sent + i);
    const int64_t t = nowNs();
    for (long i = 0; i < allowed; ++i) s.sentAt[sent + i].store(t, std::memory_order_release);
    size_t off = 0;
    while (off < batch.size()) {
      const ssize_t n = write(fd, batch.data() + off, batch.size() - off);
      if (n > 0) {
        off += static_cast<size_t>(n);
      } else if (errno == EAGAIN) {
        drainAnswers(fd);
        std::this_thread::yield();
      } else if (errno != EINTR) {
        die("producer write");
      }
    }
    sent += allowed;
    drainAnswers(fd);
  }
}

// Per event: when it was sent and its fastest and slowest delivery, to tell a
// tail made of whole late events (a stall before the fan-out) from one spread
// over the clients (the fan-out itself). Needs --sample-every 1 and no drops.
void writeTrace(const Shared& s, int64_t firstSend) {
  FILE* f = std::fopen(s.o.trace.c_str(), "w");
  if (!f) die("open " + s.o.trace);
  for (long k = 0; k < s.o.events; ++k) {
    uint32_t lo = UINT32_MAX, hi = 0;
    for (const auto& sub : s.subs) {
      if (static_cast<size_t>(k) >= sub->latencyUs.size()) continue;
      lo = std::min(lo, sub->latencyUs[static_cast<size_t>(k)]);
      hi = std::max(hi, sub->latencyUs[static_cast<size_t>(k)]);
    }
    std::fprintf(f, "%ld %lld %u %u\n", k, static_cast<long long>((s.sentAt[k].load() - firstSend) / 1000), lo, hi);
  }
  std::fclose(f);
}

uint32_t percentile(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--mode") o.mode = v;
    else if (k == "--socket") o.socket = v;
    else if (k == "--producer-socket") o.producerSocket = v;
    else if (k == "--user") o.user = v;
    else if (k == "--clients") o.clients = std::atoi(v.c_str());
    else if (k == "--events") o.events = std::atol(v.c_str());
    else if (k == "--window") o.window = std::atol(v.c_str());
    else if (k == "--rate") o.rate = std::atol(v.c_str());
    else if (k == "--sample-every") o.sampleEvery = std::max(1, std::atoi(v.c_str()));
    else if (k == "--trace") o.trace = v;
    else {
      std::fprintf(stderr, "load: unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  if (o.producerSocket.empty()) o.producerSocket = o.socket;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Shared s;
  s.o = parse(argc, argv);
  const bool sb = s.o.mode == "seatbridge";
  s.sentAt.reset(new std::atomic<int64_t>[static_cast<size_t>(s.o.events)]);
  for (long i = 0; i < s.o.events; ++i) s.sentAt[i].store(0);
  for (int i = 0; i < s.o.clients; ++i) {
    auto sub = std::make_unique<Subscriber>();
    sub->fd = connectTo(s.o.socket);
    if (sb) {
      readLine(sub->fd, sub->partial);  // ready
      writeAll(sub->fd, "{\"id\":1,\"method\":\"Client.subscribe\",\"params\":{\"all\":true}}\n");
      const std::string answer = awaitAnswer(sub->fd, sub->partial);
      if (answer.find("success") == std::string::npos) {
        std::fprintf(stderr, "load: subscribe failed: %s\n", answer.c_str());
        return 1;
      }
    }
    sub->latencyUs.reserve(static_cast<size_t>(s.o.events / s.o.sampleEvery + 1));
    s.subs.push_back(std::move(sub));
  }
  const int producer = connectTo(s.o.producerSocket);
  if (sb) {
    std::string buf;
    readLine(producer, buf);
  }
  int64_t firstSend = 0;
  std::thread reader([&] { readerLoop(s); });
  std::thread prod([&] { producerLoop(s, producer, firstSend); });
  // Bounded: give up 60 s after the last read.
  while (slowest(s) < s.o.events) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (s.lastReadNs.load() && nowNs() - s.lastReadNs.load() > 60'000'000'000LL) break;
  }
  s.stop = true;
  prod.join();
  reader.join();
  const double secs = static_cast<double>(s.lastReadNs.load() - firstSend) * 1e-9;
  if (!s.o.trace.empty()) writeTrace(s, firstSend);
  long delivered = 0, dropped = 0;
  std::vector<uint32_t> all;
  for (auto& sub : s.subs) {
    delivered += sub->seen.load() - sub->dropped;
    dropped += sub->dropped;
    all.insert(all.end(), sub->latencyUs.begin(), sub->latencyUs.end());
  }
  std::printf(
      "{\"mode\":\"%s\",\"clients\":%d,\"events\":%ld,\"delivered\":%ld,\"dropped\":%ld,\"seconds\":%.3f,"
      "\"eventsPerSecond\":%.0f,\"deliveriesPerSecond\":%.0f,\"samples\":%zu,\"p50us\":%u,\"p99us\":%u,"
      "\"p999us\":%u,\"maxUs\":%u}\n",
      s.o.mode.c_str(), s.o.clients, s.o.events, delivered, dropped, secs,
      static_cast<double>(s.o.events) / secs, static_cast<double>(delivered) / secs, all.size(),
      percentile(all, 0.50), percentile(all, 0.99), percentile(all, 0.999), percentile(all, 1.0));
  for (auto& sub : s.subs) close(sub->fd);
  close(producer);
  return delivered + dropped == static_cast<long>(s.o.clients) * s.o.events ? 0 : 1;
}
