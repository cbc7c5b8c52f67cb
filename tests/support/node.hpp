#pragma once
// Node v23.5.0 in tests, in one place: finding the binary (NETXX_NODE23, with
// a version check), running a program to its end with its output captured
// and a time bound, and Node peers as child processes (spawned with their
// stdout on a socketpair the loop can read, their output read on the loop,
// reaped without blocking it, killed and reaped when a test is done with
// them). Tests that need Node skip with the reason node_unavailable() gives.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <netxx/loop.hpp>
#include <netxx/task.hpp>

namespace netxx_test {

/// The environment variable `name`, or "".
inline std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// --- running a program to its end -------------------------------------------------

/// What run_program() saw.
struct program_result {
  int status = -1;         // the wait status (0: exited with 0)
  std::string out;         // its stdout (and stderr, when merged)
  bool timed_out = false;  // killed (SIGKILL) at the time bound
  bool ok() const noexcept { return !timed_out && status == 0; }
};

/// Starts argv[0] (a path, or a name looked up in PATH) with argv[1..], its
/// stdout (and stderr when `merge_stderr`, else stderr is inherited) on a
/// pipe; the child dies with this process. Returns the pid and our end of
/// the pipe (blocking, close-on-exec).
inline std::pair<pid_t, int> start_program(const std::vector<std::string>& argv, bool merge_stderr) {
  if (argv.empty()) throw std::invalid_argument("start_program: no program");
  std::vector<std::string> copy = argv;
  std::vector<char*> args;
  for (auto& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(p[1], STDOUT_FILENO);
    if (merge_stderr) ::dup2(p[1], STDERR_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(p[1]);
  return {pid, p[0]};
}

/// Runs argv to its end and returns its exit status and output. A program
/// still running after `limit_ms` is killed (timed_out); nothing here can
/// hang a test.
inline program_result run_program(const std::vector<std::string>& argv, std::int64_t limit_ms = 120'000,
                                  bool merge_stderr = true) {
  program_result r;
  auto [pid, fd] = start_program(argv, merge_stderr);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
  std::array<char, 1 << 16> buf;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd pf{fd, POLLIN, 0};
    const int n = ::poll(&pf, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    const ssize_t got = ::read(fd, buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // EOF: the program (and whatever it started) closed its output
    r.out.append(buf.data(), static_cast<std::size_t>(got));
  }
  ::close(fd);
  while (::waitpid(pid, &r.status, 0) < 0 && errno == EINTR) {
  }
  return r;
}

// --- the Node binary ----------------------------------------------------------------

namespace detail {
struct node_lookup {
  std::string path;  // "" when Node cannot be had
  std::string why;   // then, the reason
};
inline const node_lookup& find_node() {
  static const node_lookup found = [] {
    node_lookup l;
    const std::string node = env("NETXX_NODE23");
    if (node.empty()) {
      l.why = "NETXX_NODE23 is not set (scripts/fetch-node.sh prints a Node v23.5.0 path; pass it to CMake)";
      return l;
    }
    if (::access(node.c_str(), X_OK) != 0) {
      l.why = "NETXX_NODE23=" + node + " is not an executable";
      return l;
    }
    const program_result v = run_program({node, "--version"}, 30'000, false);
    if (!v.ok() || v.out.rfind("v23.5.0", 0) != 0) {
      l.why = "NETXX_NODE23=" + node + " is not a working Node v23.5.0 (--version said \"" + v.out + "\")";
      return l;
    }
    l.path = node;
    return l;
  }();
  return found;
}
}  // namespace detail

/// The Node v23.5.0 binary NETXX_NODE23 names, or "" when it is unset, not
/// executable, or another version. Checked once per process.
inline const std::string& node_binary() { return detail::find_node().path; }

/// Why node_binary() is empty ("" when it is not): the message a skipping test gives.
inline const std::string& node_unavailable() { return detail::find_node().why; }

/// Runs `node args...` to its end (stderr merged into the output), bounded as run_program.
inline program_result run_node(std::vector<std::string> args, std::int64_t limit_ms = 120'000) {
  args.insert(args.begin(), node_binary());
  return run_program(args, limit_ms, true);
}

// --- temporary files ----------------------------------------------------------------

/// A path in the temp directory, unique to this process.
inline std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("netxx-" + std::to_string(::getpid()) + "-" + name)).string();
}

/// A file written with `text` in the temp directory, removed when this goes.
struct temp_file {
  std::string path;
  temp_file(const std::string& name, std::string_view text) : path(temp_path(name)) { std::ofstream(path) << text; }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  ~temp_file() { std::filesystem::remove(path); }
};

// --- child processes on the loop ----------------------------------------------------

/// A child (a Node peer, an example program). Its stdout is one end of a
/// socketpair (not a pipe), so the loop's recv works on it with both backends.
struct node_child {
  pid_t pid = -1;
  int out = -1;  // our end: non-blocking, close with the loop's close_now
};

/// Starts the program all[0] with arguments all[1..] (and this process's
/// environment); the child dies with this process.
inline node_child spawn_child(std::vector<std::string> all) {
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw std::runtime_error("socketpair failed");
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // the child dies with the test
    if (::getppid() != parent) ::_exit(127);
    ::dup2(sv[1], STDOUT_FILENO);  // dup2 drops FD_CLOEXEC on the copy
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(sv[1]);
  ::fcntl(sv[0], F_SETFL, O_NONBLOCK);
  return {pid, sv[0]};
}

/// Starts `node script args...`; the child dies with this process.
inline node_child spawn_node(const std::string& script, const std::vector<std::string>& args) {
  std::vector<std::string> all{node_binary(), script};
  all.insert(all.end(), args.begin(), args.end());
  return spawn_child(std::move(all));
}

/// Reads the child's stdout until a newline (the rest stays in `pending`);
/// what is left when the child closes its output.
inline netxx::task<std::string> read_line(int fd, std::string& pending) {
  auto& loop = netxx::loop::current();
  std::array<std::byte, 256> buf;
  for (;;) {
    if (auto nl = pending.find('\n'); nl != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      co_return line;
    }
    const netxx::io_result r = co_await loop.recv(fd, buf);
    if (!r.ok() || r.value() == 0) {
      std::string rest = std::move(pending);
      pending.clear();
      co_return rest;
    }
    pending.append(reinterpret_cast<const char*>(buf.data()), r.value());
  }
}

/// Reads the child's stdout to its end (the child exited or closed it).
inline netxx::task<std::string> read_all(int fd) {
  auto& loop = netxx::loop::current();
  std::string out;
  std::array<std::byte, 256> buf;
  for (;;) {
    const netxx::io_result r = co_await loop.recv(fd, buf);
    if (!r.ok() || r.value() == 0) break;
    out.append(reinterpret_cast<const char*>(buf.data()), r.value());
  }
  co_return out;
}

/// Reaps the child without blocking the loop: its wait status.
inline netxx::task<int> reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) co_await netxx::loop::current().sleep(5);
  co_return status;
}

/// Outside the loop: kills the child (SIGKILL) if it still runs, reaps it
/// and closes our end of its stdout (with the loop's close_now, as the loop
/// may have read it). For a test's cleanup, whatever happened before.
inline void kill_child(node_child& c) {
  if (c.pid > 0) {
    ::kill(c.pid, SIGKILL);
    int status = 0;
    while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
    }
    c.pid = -1;
  }
  if (c.out >= 0) {
    netxx::loop::current().close_now(c.out);
    c.out = -1;
  }
}

}  // namespace netxx_test
