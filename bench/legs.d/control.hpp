// bench/legs.d: what nta_legs.cpp and nua_uas.cpp share. Both read one-word
// commands on stdin from bench/legs, on the same su_root as the SIP stack, and
// answer each on one stdout line:
//   stats  ->  "stats heap=B mapped=B arena=B <program's own key=value ...>"
//   trim   ->  malloc_trim(0), then "trimmed"
//   quit, or stdin closed  ->  the program's stop function (a clean shutdown)
// The SIP stack never writes to stdout, so each line is one answer.
#pragma once

#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include <sofia-sip/su_wait.h>

namespace legs {

// The SDP both servers answer with: one PCMU stream, nothing is sent.
inline constexpr char kSdp[] =
    "v=0\r\n"
    "o=- 1 1 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 40000 RTP/AVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\n";

struct Options {
  std::string host = "127.0.0.1";
  unsigned port = 0;
  bool ack_on_irq = false;  // nta_legs only
};

// --port N [--host A] [--ack leg|irq]; exits 2 on anything else.
inline Options parse(int argc, char** argv, bool ack_option) {
  Options o;
  auto usage = [&] {
    std::fprintf(stderr, "usage: %s --port N [--host 127.0.0.1]%s\n", argv[0],
                 ack_option ? " [--ack leg|irq]" : "");
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) usage();
    std::string_view v = argv[++i];
    if (a == "--port") {
      o.port = static_cast<unsigned>(std::strtoul(std::string(v).c_str(), nullptr, 10));
    } else if (a == "--host") {
      o.host = v;
    } else if (a == "--ack" && ack_option && (v == "leg" || v == "irq")) {
      o.ack_on_irq = v == "irq";
    } else {
      usage();
    }
  }
  if (o.port == 0 || o.port > 65535) usage();
  return o;
}

// The stdin command reader, registered on the root's wait set.
class Control {
 public:
  using Stats = std::function<std::string()>;
  using Stop = std::function<void()>;

  Control(su_root_t* root, Stats stats, Stop stop)
      : root_(root), stats_(std::move(stats)), stop_(std::move(stop)) {
    su_wait_create(wait_, 0, SU_WAIT_IN);
    index_ = su_root_register(root_, wait_, &Control::wakeup, reinterpret_cast<su_wakeup_arg_t*>(this), 0);
  }
  ~Control() { unregister(); }
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  bool ok() const { return index_ > 0; }

 private:
  static int wakeup(su_root_magic_t*, su_wait_t*, su_wakeup_arg_t* arg) noexcept {
    auto* self = reinterpret_cast<Control*>(arg);
    char buf[256];
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
    if (n <= 0) {  // bench/legs went away: stop by ourselves
      self->unregister();
      self->stop_();
      return 0;
    }
    self->line_.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = self->line_.find('\n')) != std::string::npos) {
      std::string cmd = self->line_.substr(0, nl);
      self->line_.erase(0, nl + 1);
      if (!self->command(cmd)) return 0;
    }
    return 0;
  }

  bool command(const std::string& cmd) {
    if (cmd == "stats") {
      struct mallinfo2 mi = mallinfo2();
      std::printf("stats heap=%zu mapped=%zu arena=%zu %s\n", mi.uordblks, mi.hblkhd, mi.arena,
                  stats_().c_str());
    } else if (cmd == "trim") {
      malloc_trim(0);
      std::printf("trimmed\n");
    } else if (cmd == "quit") {
      unregister();
      stop_();
      return false;
    } else {
      std::printf("error unknown command\n");
    }
    std::fflush(stdout);
    return true;
  }

  void unregister() {
    if (index_ > 0) su_root_deregister(root_, index_);
    index_ = 0;
  }

  su_root_t* root_;
  Stats stats_;
  Stop stop_;
  su_wait_t wait_[1] = {};
  int index_ = 0;
  std::string line_;
};

}  // namespace legs
