// sendzc_bench: IORING_OP_SEND against IORING_OP_SEND_ZC over TCP, for issue 13
// item 4 (should netxx send large writes zero-copy, and from what size).
//
// A plain program, no netxx: one io_uring (SINGLE_ISSUER | DEFER_TASKRUN, as
// netxx's backend makes it) on a sender thread pinned to CPU 0 sends --bytes
// in messages of each size to a receiver thread pinned to CPU 1 (blocking recv
// into 1 MiB). One send in flight at a time per socket, as netxx's write queue
// does; a short send is resent from where it stopped. The message buffers
// rotate through a pool; with SEND_ZC a buffer is reused only after its
// notification CQE (IORING_CQE_F_NOTIF), so a send overlaps the notifications
// of the ones before it.
//
// Modes, interleaved within each size and round:
//   send    IORING_OP_SEND
//   zc      IORING_OP_SEND_ZC on ordinary memory (what netxx would do: its write
//           buffers are the user's, not registered)
//   zcfix   IORING_OP_SEND_ZC on buffers registered with io_uring_register_buffers
//           (IORING_RECVSEND_FIXED_BUF), which spares the page pinning per send
// Every SEND_ZC asks IORING_SEND_ZC_REPORT_USAGE; a notification whose res has
// IORING_NOTIF_USAGE_ZC_COPIED says the kernel copied the data anyway.
//
// Per case: throughput (MB/s, MB = 10^6 bytes, from the first send until the
// receiver has read everything and closed), sender thread CPU (getrusage
// RUSAGE_THREAD, user + sys, µs per MB: on loopback and veth the receive-side
// softirq work often runs on the sender's CPU and is charged to it, which is
// real cost), notifications and copied notifications.
//
// --recv-netns PATH makes the receiver thread setns() into that network
// namespace first (a veth peer in another namespace: see run_veth.sh).
#include <liburing.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

// liburing 2.3 carries its own copy of io_uring.h, older than the kernel's
// uapi header: the usage report (Linux 6.2) may be missing from it.
#ifndef IORING_SEND_ZC_REPORT_USAGE
#  define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#  define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#  define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#  define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif

namespace {

[[noreturn]] void die(const char* what, int err) {
  std::fprintf(stderr, "sendzc_bench: %s: %s\n", what, std::strerror(err));
  std::exit(1);
}

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity", errno);  // 0: this thread
}

double cpu_us(int who) {
  rusage ru{};
  ::getrusage(who, &ru);
  auto us = [](timeval t) { return double(t.tv_sec) * 1e6 + double(t.tv_usec); };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

enum class mode { send, zc, zcfix };
const char* mode_name(mode m) { return m == mode::send ? "send" : m == mode::zc ? "zc" : "zcfix"; }

struct options {
  std::string addr = "127.0.0.1";  // the receiver listens on it, the sender connects to it
  std::string recv_netns;
  std::uint64_t bytes = 256ull << 20;
  int rounds = 5;
  std::vector<std::size_t> sizes{4096, 16384, 65536, 262144, 1048576};
  std::vector<mode> modes{mode::send, mode::zc, mode::zcfix};
  // Buffers in rotation: at least 4, about this many bytes. Pinned pages count
  // against RLIMIT_MEMLOCK (8 MiB here) when the process lacks CAP_IPC_LOCK, as
  // in the user namespace of run_veth.sh: the registered pool, or the pages of
  // the sends whose notification has not come yet, must stay below it.
  std::size_t pool_bytes = 4u << 20;
};

// --- the receiver: accept, read to EOF, close; once per case ---
struct receiver {
  int listen_fd = -1;
  std::uint16_t port = 0;
  std::atomic<bool> ready{false};
  std::atomic<bool> stop{false};
  int failure = 0;

  void run(const options& o) {
    pin(1);
    if (!o.recv_netns.empty()) {
      int ns = ::open(o.recv_netns.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0) die("open netns", errno);
      if (::setns(ns, CLONE_NEWNET) != 0) die("setns", errno);
      ::close(ns);
    }
    listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    ::inet_pton(AF_INET, o.addr.c_str(), &sa.sin_addr);
    if (::bind(listen_fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("bind", errno);
    if (::listen(listen_fd, 16) != 0) die("listen", errno);
    socklen_t len = sizeof sa;
    ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&sa), &len);
    port = ntohs(sa.sin_port);
    ready = true;
    std::vector<char> buf(1u << 20);
    for (;;) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (stop) {
        if (fd >= 0) ::close(fd);
        break;
      }
      if (fd < 0) die("accept", errno);
      for (;;) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n == 0) break;
        if (n < 0) {
          if (errno == EINTR) continue;
          failure = errno;
          break;
        }
      }
      ::close(fd);  // the sender's recv() sees EOF: everything was read
    }
    ::close(listen_fd);
  }
};

struct result {
  double mbps = 0, cpu_us_per_mb = 0, proc_us_per_mb = 0;
  std::uint64_t sends = 0, notifs = 0, copied = 0;
  bool unsupported = false;
};

struct sender {
  io_uring ring{};
  std::vector<char*> bufs;  // the pool; registered for the zcfix cases only (see pool_bytes)
  std::vector<iovec> iov;
  std::size_t buf_size = 0;

  explicit sender(const options& o) {
    io_uring_params p{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int rc = ::io_uring_queue_init_params(256, &ring, &p);
    if (rc == -EINVAL) {
      p = {};
      rc = ::io_uring_queue_init_params(256, &ring, &p);
    }
    if (rc < 0) die("io_uring_queue_init_params", -rc);
    (void)o;
  }
  ~sender() {
    free_pool();
    ::io_uring_queue_exit(&ring);
  }

  void free_pool() {
    if (bufs.empty()) return;
    for (char* b : bufs) std::free(b);
    bufs.clear();
  }

  void make_pool(const options& o, std::size_t size) {
    free_pool();
    buf_size = size;
    std::size_t n = std::max<std::size_t>(4, o.pool_bytes / size);
    n = std::min<std::size_t>(n, 64);
    iov.clear();
    for (std::size_t i = 0; i < n; ++i) {
      void* b = nullptr;
      if (::posix_memalign(&b, 4096, size) != 0) die("posix_memalign", ENOMEM);
      std::memset(b, int('a' + i % 26), size);  // touched: no page faults while measuring
      bufs.push_back(static_cast<char*>(b));
      iov.push_back({b, size});
    }
  }

  io_uring_sqe* sqe() {
    io_uring_sqe* s = ::io_uring_get_sqe(&ring);
    if (!s) {
      ::io_uring_submit(&ring);
      s = ::io_uring_get_sqe(&ring);
    }
    return s;
  }

  result run_case(const options& o, std::uint16_t port, mode m) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    ::inet_pton(AF_INET, o.addr.c_str(), &sa.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("connect", errno);

    if (m == mode::zcfix) {  // outside the measured time
      int rc = ::io_uring_register_buffers(&ring, iov.data(), unsigned(iov.size()));
      if (rc < 0) die("io_uring_register_buffers", -rc);
    }
    const std::size_t nb = bufs.size();
    std::vector<int> pending(nb, 0);  // notifications owed per buffer
    result r;
    std::uint64_t left = o.bytes;
    std::size_t cur = 0;

    auto reap = [&](bool wait, bool& send_done, int& send_res) {
      io_uring_cqe* cqe = nullptr;
      int rc = wait ? ::io_uring_wait_cqe(&ring, &cqe) : ::io_uring_peek_cqe(&ring, &cqe);
      if (rc == -EAGAIN) return false;
      if (rc == -EINTR) return false;
      if (rc < 0) die("io_uring_wait_cqe", -rc);
      std::size_t idx = std::size_t(cqe->user_data);
      if (cqe->flags & IORING_CQE_F_NOTIF) {
        --pending[idx];
        ++r.notifs;
        if (std::uint32_t(cqe->res) & IORING_NOTIF_USAGE_ZC_COPIED) ++r.copied;
      } else {
        if (cqe->flags & IORING_CQE_F_MORE) ++pending[idx];  // its notification is to come
        send_done = true;
        send_res = cqe->res;
      }
      ::io_uring_cqe_seen(&ring, cqe);
      return true;
    };

    const double cpu0 = cpu_us(RUSAGE_THREAD), proc0 = cpu_us(RUSAGE_SELF);
    const auto t0 = std::chrono::steady_clock::now();
    while (left > 0) {
      std::size_t len = std::size_t(std::min<std::uint64_t>(left, buf_size));
      bool dummy_done = false;
      int dummy_res = 0;
      while (pending[cur] > 0) reap(true, dummy_done, dummy_res);  // buffer still the kernel's
      std::size_t off = 0;
      while (off < len) {
        io_uring_sqe* s = sqe();
        char* p = bufs[cur] + off;
        unsigned n = unsigned(len - off);
        if (m == mode::send) {
          ::io_uring_prep_send(s, fd, p, n, MSG_NOSIGNAL);
        } else {
          ::io_uring_prep_send_zc(s, fd, p, n, MSG_NOSIGNAL, IORING_SEND_ZC_REPORT_USAGE);
          if (m == mode::zcfix) {
            s->ioprio |= IORING_RECVSEND_FIXED_BUF;
            s->buf_index = std::uint16_t(cur);
          }
        }
        s->user_data = cur;
        ::io_uring_submit(&ring);
        ++r.sends;
        bool done = false;
        int res = 0;
        while (!done) reap(true, done, res);
        if (res == -EINVAL || res == -EOPNOTSUPP) {
          r.unsupported = true;
          ::close(fd);
          if (m == mode::zcfix) ::io_uring_unregister_buffers(&ring);
          return r;
        }
        if (res < 0) die("send", -res);
        off += std::size_t(res);
      }
      left -= len;
      cur = (cur + 1) % nb;
    }
    bool dummy_done = false;
    int dummy_res = 0;
    for (std::size_t i = 0; i < nb; ++i)
      while (pending[i] > 0) reap(true, dummy_done, dummy_res);
    const double cpu1 = cpu_us(RUSAGE_THREAD);
    ::shutdown(fd, SHUT_WR);
    char c;
    while (::recv(fd, &c, 1, 0) > 0) {
    }
    const auto t1 = std::chrono::steady_clock::now();
    const double proc1 = cpu_us(RUSAGE_SELF);  // the receiver has read everything
    ::close(fd);
    if (m == mode::zcfix) ::io_uring_unregister_buffers(&ring);
    const double secs = std::chrono::duration<double>(t1 - t0).count();
    const double mb = double(o.bytes) / 1e6;
    r.mbps = mb / secs;
    r.cpu_us_per_mb = (cpu1 - cpu0) / mb;
    r.proc_us_per_mb = (proc1 - proc0) / mb;
    return r;
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::uint64_t parse_size(const char* s) {
  char* end = nullptr;
  std::uint64_t v = std::strtoull(s, &end, 10);
  if (*end == 'k' || *end == 'K') v <<= 10;
  else if (*end == 'm' || *end == 'M') v <<= 20;
  else if (*end == 'g' || *end == 'G') v <<= 30;
  return v;
}

void usage() {
  std::fprintf(stderr,
               "usage: sendzc_bench [--addr IP] [--recv-netns PATH] [--bytes N[k|m|g]] [--rounds R]\n"
               "                    [--pool N[k|m]]\n"
               "                    [--sizes 4k,16k,...] [--modes send,zc,zcfix]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--addr") o.addr = next();
    else if (a == "--recv-netns") o.recv_netns = next();
    else if (a == "--bytes") o.bytes = parse_size(next());
    else if (a == "--pool") o.pool_bytes = std::size_t(parse_size(next()));
    else if (a == "--rounds") o.rounds = std::atoi(next());
    else if (a == "--sizes" || a == "--modes") {
      std::string list = next();
      if (a == "--sizes") o.sizes.clear();
      else o.modes.clear();
      std::size_t pos = 0;
      while (pos <= list.size()) {
        std::size_t comma = list.find(',', pos);
        std::string item = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        if (a == "--sizes") o.sizes.push_back(std::size_t(parse_size(item.c_str())));
        else if (item == "send") o.modes.push_back(mode::send);
        else if (item == "zc") o.modes.push_back(mode::zc);
        else if (item == "zcfix") o.modes.push_back(mode::zcfix);
        else usage();
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
    } else usage();
  }

  receiver rx;
  std::thread rt([&] { rx.run(o); });
  while (!rx.ready) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  pin(0);
  sender tx(o);
  std::printf("# %s, %llu bytes per case, %d rounds, sender CPU 0, receiver CPU 1%s%s\n", o.addr.c_str(),
              static_cast<unsigned long long>(o.bytes), o.rounds, o.recv_netns.empty() ? "" : ", receiver in ",
              o.recv_netns.c_str());
  std::printf("# per round: size mode MB/s cpu_us/MB(sender thread) cpu_us/MB(process) sends notifs copied\n");
  std::fflush(stdout);

  struct cell {
    std::vector<double> mbps, cpu, proc;
    std::uint64_t notifs = 0, copied = 0, sends = 0;
    bool unsupported = false;
  };
  std::vector<std::vector<cell>> cells(o.sizes.size(), std::vector<cell>(o.modes.size()));
  for (std::size_t si = 0; si < o.sizes.size(); ++si) {
    tx.make_pool(o, o.sizes[si]);
    for (int round = 0; round < o.rounds; ++round) {
      for (std::size_t k = 0; k < o.modes.size(); ++k) {
        // Interleaved, and the order turns each round, so that no mode always follows the same one.
        std::size_t mi = (k + std::size_t(round)) % o.modes.size();
        result r = tx.run_case(o, rx.port, o.modes[mi]);
        cell& c = cells[si][mi];
        if (r.unsupported) {
          c.unsupported = true;
          continue;
        }
        c.mbps.push_back(r.mbps);
        c.cpu.push_back(r.cpu_us_per_mb);
        c.proc.push_back(r.proc_us_per_mb);
        c.notifs += r.notifs;
        c.copied += r.copied;
        c.sends += r.sends;
        std::printf("r%d %7zu %-5s %8.0f %7.1f %7.1f %7llu %7llu %7llu\n", round, o.sizes[si],
                    mode_name(o.modes[mi]), r.mbps, r.cpu_us_per_mb, r.proc_us_per_mb, static_cast<unsigned long long>(r.sends),
                    static_cast<unsigned long long>(r.notifs), static_cast<unsigned long long>(r.copied));
        std::fflush(stdout);
      }
    }
  }

  // Two ratios against send: of the medians, and the median of the ratios
  // within each round (the cases of a round ran back to back, under about the
  // same load from the rest of the machine).
  std::printf("\n# medians over %d rounds; x: ratio of the medians to send's; rx: median of the per-round ratios\n",
              o.rounds);
  // cpu: the sender thread; proc: both threads (the receiver's copy to user included)
  std::printf("%8s %-5s %8s %9s %7s %7s %7s %7s %9s %7s %9s %9s\n", "size", "mode", "MB/s", "cpu_us/MB", "MB/s x",
              "MB/s rx", "cpu x", "cpu rx", "proc_us/MB", "proc rx", "notifs", "copied");
  auto ratios = [](const std::vector<double>& a, const std::vector<double>& b) {
    std::vector<double> r;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
      if (b[i] > 0) r.push_back(a[i] / b[i]);
    return median(r);
  };
  for (std::size_t si = 0; si < o.sizes.size(); ++si) {
    const cell* base = nullptr;
    for (std::size_t mi = 0; mi < o.modes.size(); ++mi)
      if (o.modes[mi] == mode::send) base = &cells[si][mi];
    for (std::size_t mi = 0; mi < o.modes.size(); ++mi) {
      const cell& c = cells[si][mi];
      if (c.unsupported) {
        std::printf("%8zu %-5s unsupported by this kernel\n", o.sizes[si], mode_name(o.modes[mi]));
        continue;
      }
      double mbps = median(c.mbps), cpu = median(c.cpu);
      double bm = base ? median(base->mbps) : 0, bc = base ? median(base->cpu) : 0;
      std::printf("%8zu %-5s %8.0f %9.1f %7.2f %7.2f %7.2f %7.2f %10.1f %7.2f %9llu %9llu\n", o.sizes[si],
                  mode_name(o.modes[mi]), mbps, cpu, bm > 0 ? mbps / bm : 0, base ? ratios(c.mbps, base->mbps) : 0,
                  bc > 0 ? cpu / bc : 0, base ? ratios(c.cpu, base->cpu) : 0, median(c.proc),
                  base ? ratios(c.proc, base->proc) : 0,
                  static_cast<unsigned long long>(c.notifs), static_cast<unsigned long long>(c.copied));
    }
  }

  rx.stop = true;
  {  // wake the receiver's accept
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(rx.port);
    ::inet_pton(AF_INET, o.addr.c_str(), &sa.sin_addr);
    ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::close(fd);
  }
  rt.join();
  if (rx.failure) die("receiver recv", rx.failure);
  return 0;
}
