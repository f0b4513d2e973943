#include "daemon/ctl/top.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>

#include "daemon/ctl/client.hpp"
#include "daemon/ctl/top_model.hpp"

namespace sb::ctl {

using nlohmann::json;

namespace {

int64_t monoMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Signals reach the poll loop through a pipe, so the handler does nothing
// but write one byte (async-signal-safe).
int gSignalPipe[2] = {-1, -1};

void onSignal(int sig) {
  const int saved = errno;
  const unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] const ssize_t n = write(gSignalPipe[1], &b, 1);
  errno = saved;
}

// The terminal's own state, put back on every way out: q, a signal, an exception.
class Terminal {
 public:
  Terminal() {
    if (tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios raw = saved_;
      // Keys one at a time and unechoed; ISIG stays so Ctrl-C is SIGINT.
      raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
      raw.c_cc[VMIN] = 1;
      raw.c_cc[VTIME] = 0;
      haveSaved_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    // The alternate screen (DEC private mode 1049) keeps the shell's screen to
    // come back to; the cursor is hidden while the view is up.
    write("\x1b[?1049h\x1b[?25l");
  }
  ~Terminal() { restore(); }
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  void restore() {
    if (restored_) return;
    restored_ = true;
    write("\x1b[0m\x1b[?25h\x1b[?1049l");
    if (haveSaved_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }

  static void write(const std::string& s) {
    size_t done = 0;
    while (done < s.size()) {
      const ssize_t n = ::write(STDOUT_FILENO, s.data() + done, s.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  static std::pair<int, int> size() {
    winsize ws{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) return {ws.ws_col, ws.ws_row};
    return {80, 24};
  }

 private:
  termios saved_{};
  bool haveSaved_ = false;
  bool restored_ = false;
};

// At most `width` columns of `s` (UTF-8: a code point is a column, near enough for names).
std::string clip(const std::string& s, int width) {
  int cols = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && ++cols > width) return s.substr(0, i);
  }
  return s;
}

std::string clockText() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

class Top {
 public:
  explicit Top(const TopOptions& o) : o_(o) {}

  int run() {
    if (pipe2(gSignalPipe, O_CLOEXEC | O_NONBLOCK) != 0) throw CtlError(kExitProtocol, "pipe failed");
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGWINCH}) sigaction(sig, &sa, nullptr);
    // The first connection decides whether there is anything to show: a
    // script (or an operator with the wrong --socket) gets the exit code now.
    connect();
    if (!o_.json) terminal_ = std::make_unique<Terminal>();
    draw();
    while (true) {
      if (const auto code = step()) return *code;
    }
  }

 private:
  // Connects, subscribes (every event and the queue topic) and takes the snapshot.
  void connect() {
    client_ = std::make_unique<Client>(o_.socket, o_.timeoutMs);
    const json sub = client_->callOk("Client.subscribe", json{{"all", true}, {"queues", true}});
    model_.startAt(sub.value("lastSeq", uint64_t{0}));
    const int64_t mono = monoMs();
    model_.loadQueues(client_->callOk("Gateway.listQueues", json::object()), mono);
    model_.loadAgents(client_->callOk("Gateway.listAgents", json::object()), mono);
    model_.loadSessions(client_->callOk("Gateway.listSessions", json::object()), wallMs());
    problem_.clear();
  }

  // One turn of the loop; a value when the program should end with it.
  std::optional<int> step() {
    pollfd fds[3];
    nfds_t n = 0;
    fds[n++] = {gSignalPipe[0], POLLIN, 0};
    const bool readKeys = !o_.json && !stdinClosed_;  // --json reads no keys
    const nfds_t keys = readKeys ? n : 0;             // 0: none (fds[0] is the pipe)
    if (readKeys) fds[n++] = {STDIN_FILENO, POLLIN, 0};
    const nfds_t sock = client_ ? n : 0;
    if (client_) fds[n++] = {client_->fd(), POLLIN, 0};
    // Wake at the next whole second to move the durations on (the local clock
    // only: the daemon is not asked anything).
    const int timeout = o_.json ? -1 : static_cast<int>(1000 - wallMs() % 1000);
    const int r = poll(fds, n, timeout);
    if (r < 0 && errno != EINTR) throw CtlError(kExitProtocol, std::string("poll: ") + std::strerror(errno));
    if (r > 0 && (fds[0].revents & POLLIN)) {
      unsigned char sig = 0;
      while (read(gSignalPipe[0], &sig, 1) == 1) {
        if (sig == SIGWINCH) continue;  // redrawn below at the new size
        finish();
        std::signal(sig, SIG_DFL);  // end as the signal asked, so the caller sees it
        std::raise(sig);
        return 128 + sig;
      }
    }
    if (keys && r > 0 && (fds[keys].revents & (POLLIN | POLLHUP))) {
      char typed[64];
      const ssize_t got = read(STDIN_FILENO, typed, sizeof typed);
      if (got == 0) stdinClosed_ = true;  // no keyboard: q cannot come, a signal still ends it
      for (ssize_t i = 0; i < got; ++i)
        if (typed[i] == 'q' || typed[i] == 'Q') {
          finish();
          return 0;
        }
    }
    if (sock && r > 0 && (fds[sock].revents & (POLLIN | POLLHUP | POLLERR))) {
      try {
        client_->readSome();
        handleLines();
      } catch (const CtlError& e) {
        if (o_.json) throw;
        lost(e.what());
      }
    }
    if (!client_ && !o_.json && monoMs() >= retryAt_) reconnect();
    if (!o_.json || changed_) draw();
    return std::nullopt;
  }

  void handleLines() {
    bool reread = false;
    while (auto line = client_->takeLine()) {
      const json m = json::parse(*line, nullptr, false);
      if (!m.is_object()) continue;
      if (m.value("event", "") == "eventsDropped") {
        connectAgainNow();  // the picture has holes: start from a new snapshot
        return;
      }
      reread = model_.apply(m, monoMs(), wallMs()) || reread;
      changed_ = true;
    }
    if (reread) {
      model_.loadSessions(client_->callOk("Gateway.listSessions", json::object()), wallMs());
      // Events that came while waiting for the answer are older than it; they
      // are applied next turn, in order (top_model.hpp says why that is safe).
      if (client_) handleLines();
    }
  }

  void connectAgainNow() {
    client_.reset();
    retryAt_ = 0;
    reconnect();
  }

  void lost(const std::string& why) {
    client_.reset();
    problem_ = "connection lost at " + clockText() + ", reconnecting every second (q quits): " + why;
    retryAt_ = monoMs() + 1000;
    changed_ = true;
  }

  void reconnect() {
    try {
      connect();
      changed_ = true;
    } catch (const CtlError& e) {
      client_.reset();
      if (problem_.empty() || problem_.rfind("connection lost", 0) != 0)
        problem_ = std::string("cannot reach seatbridged, retrying every second (q quits): ") + e.what();
      retryAt_ = monoMs() + 1000;
    }
  }

  void draw() {
    const int64_t mono = monoMs(), wall = wallMs();
    if (o_.json) {
      std::printf("%s\n", model_.toJson(mono, wall).dump().c_str());
      std::fflush(stdout);
      changed_ = false;
      return;
    }
    changed_ = false;
    const auto [width, height] = Terminal::size();
    std::vector<std::string> lines;
    lines.push_back("seatbridge top  " + o_.socket + "  " + clockText());
    lines.push_back(problem_.empty() ? "live (event stream, seq " + std::to_string(model_.lastSeq()) + ")"
                                     : "!! " + problem_);
    lines.emplace_back();
    for (auto& l : model_.render(mono, wall)) lines.push_back(std::move(l));
    const size_t room = height > 1 ? static_cast<size_t>(height - 1) : 1;
    if (lines.size() > room) {
      const size_t more = lines.size() - room + 1;
      lines.resize(room - 1);
      lines.push_back("... " + std::to_string(more) + " more lines (a taller window shows them)");
    }
    std::string out = "\x1b[H";
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string text = clip(lines[i], width);
      if (i == 0)
        out += "\x1b[7m" + text +
               std::string(static_cast<size_t>(std::max(0, width - static_cast<int>(text.size()))), ' ') + "\x1b[0m";
      else if (i == 1 && !problem_.empty())
        out += "\x1b[1m" + text + "\x1b[0m";
      else
        out += text;
      out += "\x1b[K\r\n";
    }
    while (lines.size() < room) {
      out += "\x1b[K\r\n";
      lines.emplace_back();
    }
    out += clip("q quits", width) + "\x1b[K";
    Terminal::write(out);
  }

  void finish() {
    if (terminal_) terminal_->restore();
  }

  TopOptions o_;
  std::unique_ptr<Terminal> terminal_;
  std::unique_ptr<Client> client_;
  TopModel model_;
  std::string problem_;
  int64_t retryAt_ = 0;
  bool changed_ = true;
  bool stdinClosed_ = false;
};

}  // namespace

int runTop(const TopOptions& options) {
  Top top(options);
  return top.run();
}

}  // namespace sb::ctl
