#pragma once
// Runs a program in a network namespace and a mount namespace of its own,
// with /etc/hosts, /etc/resolv.conf and /etc/nsswitch.conf replaced by the
// test's own files (bind mounts, private to the namespace) and only a
// loopback interface (up, with extra addresses when asked). Whatever
// getaddrinfo does in there, no packet can leave the machine: there is no
// other interface and no route, and the resolver it is given is 127.0.0.1
// of the namespace. Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN); a test skips
// when unshare() is refused.

#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace netxx_test {

struct isolated_env {
  std::string hosts = "127.0.0.1 localhost\n";
  std::string resolv = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
  std::string nsswitch = "hosts: files dns\n";
  // Extra addresses on lo, which AI_ADDRCONFIG counts (it ignores only
  // 127.0.0.1 and ::1): "10.99.0.1" makes the namespace look IPv4-configured,
  // "fd99::1" IPv6-configured.
  std::vector<std::string> lo_addresses{};
};

struct isolated_result {
  bool ran = false;       // the program was started
  bool refused = false;   // unshare() was refused: skip
  std::string why;        // when it did not run
  int status = -1;        // exit status (128 + signal when killed)
  std::string out;        // its stdout
  double seconds = 0;     // wall time from fork to exit
};

/// True when /etc/hosts maps localhost to 127.0.0.1: then a lookup of
/// localhost (IPv4 or unspecified family, no hints) is answered by the file,
/// and no query is sent, in this process's own namespace.
inline bool hosts_maps_localhost_to_127() {
  std::ifstream in("/etc/hosts");
  for (std::string line; std::getline(in, line);) {
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    std::string addr, name;
    if (!(words >> addr) || addr != "127.0.0.1") continue;
    while (words >> name)
      if (name == "localhost") return true;
  }
  return false;
}

/// The path of the running executable, to run it again in the namespace.
inline std::string self_exe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

/// Runs argv in an isolated namespace (see above); `env` is added to the
/// environment. Bounded: killed after limit_seconds.
inline isolated_result run_isolated(const isolated_env& e, const std::vector<std::string>& argv,
                                    const std::vector<std::string>& env = {}, int limit_seconds = 120) {
  isolated_result r;
  namespace fs = std::filesystem;
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path() / ("netxx-isolated-" + std::to_string(::getpid()) + "-" +
                                                    std::to_string(counter++));
  fs::create_directories(dir);
  struct cleanup {
    fs::path d;
    ~cleanup() {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  } cleanup_dir{dir};
  auto write = [&](const char* name, const std::string& content) {
    std::ofstream(dir / name) << content;
    return (dir / name).string();
  };
  const std::string hosts = write("hosts", e.hosts);
  const std::string resolv = write("resolv.conf", e.resolv);
  const std::string nsswitch = write("nsswitch.conf", e.nsswitch);
  struct bind_t {
    const char* from;
    const char* to;
  };
  const bind_t binds[] = {{hosts.c_str(), "/etc/hosts"},
                          {resolv.c_str(), "/etc/resolv.conf"},
                          {nsswitch.c_str(), "/etc/nsswitch.conf"}};

  std::vector<in_addr> v4;
  std::vector<in6_addr> v6;
  for (const auto& a : e.lo_addresses) {
    in_addr a4{};
    in6_addr a6{};
    if (::inet_pton(AF_INET, a.c_str(), &a4) == 1)
      v4.push_back(a4);
    else if (::inet_pton(AF_INET6, a.c_str(), &a6) == 1)
      v6.push_back(a6);
  }
  std::vector<std::string> alias_names;
  for (std::size_t i = 0; i < v4.size(); ++i) alias_names.push_back("lo:" + std::to_string(i + 1));

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (char** p = environ; *p; ++p) envp.push_back(*p);
  for (const auto& v : env) envp.push_back(const_cast<char*>(v.c_str()));
  envp.push_back(nullptr);

  // The kernel's in6_ifreq (linux/ipv6.h), which glibc does not declare.
  struct in6_ifreq_t {
    in6_addr addr;
    std::uint32_t prefixlen;
    int ifindex;
  };

  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    r.why = "pipe2 failed";
    return r;
  }
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) {
    r.why = "fork failed";
    return r;
  }
  if (pid == 0) {
    // The child of a threaded process: system calls only until execve.
    struct failure {
      int step;
      int err;
    };
    auto fail = [&](int step) {
      failure f{step, errno};
      [[maybe_unused]] auto n = ::write(err_pipe[1], &f, sizeof f);
      ::_exit(127);
    };
    if (::unshare(CLONE_NEWNS | CLONE_NEWNET) != 0) fail(1);
    // Nothing below may reach the parent's mount namespace.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail(2);
    for (const auto& b : binds)
      if (::mount(b.from, b.to, nullptr, MS_BIND, nullptr) != 0) fail(3);
    const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) fail(4);
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "lo");
    if (::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) fail(5);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) fail(6);
    if (::ioctl(s, SIOCGIFINDEX, &ifr) != 0) fail(7);
    const int lo_index = ifr.ifr_ifindex;
    for (std::size_t i = 0; i < v4.size(); ++i) {
      ifreq a{};
      std::strncpy(a.ifr_name, alias_names[i].c_str(), IFNAMSIZ - 1);
      sockaddr_in sin{};
      sin.sin_family = AF_INET;
      sin.sin_addr = v4[i];
      std::memcpy(&a.ifr_addr, &sin, sizeof sin);
      if (::ioctl(s, SIOCSIFADDR, &a) != 0) fail(8);
    }
    if (!v6.empty()) {
      const int s6 = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (s6 < 0) fail(9);
      for (const auto& a6 : v6) {
        in6_ifreq_t q{a6, 128, lo_index};
        if (::ioctl(s6, SIOCSIFADDR, &q) != 0) fail(10);
      }
    }
    ::dup2(out_pipe[1], 1);
    ::execve(args[0], args.data(), envp.data());
    fail(11);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  // stdout until EOF, bounded in time.
  const auto deadline = start + std::chrono::seconds(limit_seconds);
  bool killed = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    pollfd p{out_pipe[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
    if (n <= 0) break;
    r.out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out_pipe[0]);
  int ws = 0;
  ::waitpid(pid, &ws, 0);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  struct {
    int step;
    int err;
  } f{};
  const ssize_t got = ::read(err_pipe[0], &f, sizeof f);
  ::close(err_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof f)) {
    if (f.step == 1 && (f.err == EPERM || f.err == EINVAL || f.err == ENOSYS || f.err == EACCES)) {
      r.refused = true;
      r.why = std::string("unshare(CLONE_NEWNS | CLONE_NEWNET) refused: ") + std::strerror(f.err);
    } else {
      r.why = "isolated setup failed at step " + std::to_string(f.step) + ": " + std::strerror(f.err);
    }
    return r;
  }
  r.ran = true;
  if (killed)
    r.why = "killed after " + std::to_string(limit_seconds) + " s";
  r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
  return r;
}

}  // namespace netxx_test
