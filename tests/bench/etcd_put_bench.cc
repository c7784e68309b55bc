// Durable puts against an etcd cluster, for scripts/etcd-bench.sh: a fixed
// number of puts from K client connections in parallel, each connection
// one put at a time, and the put latency each saw.
//
//   etcd_put_bench --endpoint HOST:PORT [--puts N] [--clients K] [--value-bytes B]
//
// etcd's own `benchmark` tool is not packaged in Debian 12 and no gRPC
// client is at hand here, so this speaks etcd's HTTP/JSON gateway
// (POST /v3/kv/put, on by default in etcd 3.4), over keep-alive HTTP/1.1.
// The gateway translates JSON into a gRPC call inside etcd, which costs
// etcd some CPU a native gRPC client would not; `etcdctl check perf` (a Go
// gRPC client) in the same script gives the other view.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "node/net/address.h"
#include "sim/report/budget.h"

namespace {

using namespace ringchain;
using clock_type = std::chrono::steady_clock;

std::string base64(const std::string& in) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16 |
                       static_cast<unsigned char>(in[i + 1]) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += table[v >> s & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += table[v >> 18 & 63];
    out += table[v >> 12 & 63];
    out += i + 1 < in.size() ? table[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

// One keep-alive HTTP/1.1 connection, one request at a time.
class http_connection {
 public:
  explicit http_connection(const std::string& endpoint) : host_(endpoint) {
    const base::result<sockaddr_in> a = net::resolve_address(endpoint);
    if (!a.ok()) return;
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&*a), sizeof *a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~http_connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

  // POSTs `body` to `path`; true on a 200 answer.
  bool post(const std::string& path, const std::string& body) {
    const std::string req =
        "POST " + path + " HTTP/1.1\r\nHost: " + host_ +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body;
    for (std::size_t sent = 0; sent < req.size();) {
      const ssize_t n = ::send(fd_, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return read_response();
  }

 private:
  // Reads one response with a Content-Length (what etcd's gateway sends
  // for answers this small); true when its status is 200.
  bool read_response() {
    std::size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return false;
    }
    const std::string head = buffer_.substr(0, header_end);
    const auto cl = head.find("Content-Length: ");
    if (cl == std::string::npos) return false;
    const std::size_t length = std::strtoull(head.c_str() + cl + 16, nullptr, 10);
    while (buffer_.size() < header_end + 4 + length) {
      if (!fill()) return false;
    }
    buffer_.erase(0, header_end + 4 + length);
    return head.rfind("HTTP/1.1 200", 0) == 0;
  }

  bool fill() {
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  std::string host_;
  int fd_ = -1;
  std::string buffer_;
};

struct client_result {
  std::vector<double> ms;
  std::size_t errors = 0;
};

void run_client(const std::string& endpoint, std::size_t id, std::size_t puts,
                std::size_t value_bytes, client_result* out) {
  http_connection c(endpoint);
  if (!c.ok()) {
    out->errors = puts;
    return;
  }
  const std::string value = base64(std::string(value_bytes, 'v'));
  for (std::size_t i = 0; i < puts; ++i) {
    const std::string key = base64("/bench/" + std::to_string(id) + "/" + std::to_string(i));
    const auto t = clock_type::now();
    if (!c.post("/v3/kv/put", "{\"key\":\"" + key + "\",\"value\":\"" + value + "\"}")) {
      out->errors += puts - i;
      return;
    }
    out->ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t).count());
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string endpoint;
  std::size_t puts = 20000, clients = 16, value_bytes = 256;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--endpoint")
      endpoint = argv[i + 1];
    else if (flag == "--puts")
      puts = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--clients")
      clients = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--value-bytes")
      value_bytes = std::strtoull(argv[i + 1], nullptr, 10);
    else
      endpoint.clear(), i = argc;
  }
  if (endpoint.empty() || clients == 0 || puts < clients) {
    std::fprintf(stderr,
                 "usage: etcd_put_bench --endpoint HOST:PORT [--puts N] [--clients K] "
                 "[--value-bytes B]\n");
    return 2;
  }
  std::vector<client_result> results(clients);
  std::vector<std::thread> threads;
  const auto start = clock_type::now();
  for (std::size_t k = 0; k < clients; ++k) {
    threads.emplace_back(run_client, endpoint, k, puts / clients, value_bytes, &results[k]);
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  std::vector<double> all;
  std::size_t errors = 0;
  for (const auto& r : results) {
    all.insert(all.end(), r.ms.begin(), r.ms.end());
    errors += r.errors;
  }
  std::printf(
      "etcd puts: %zu of %zu in %.2f s = %.0f puts/s; put latency p50 %.2f ms p99 %.2f "
      "ms; %zu clients, %zu-byte values; %zu failed\n",
      all.size(), puts / clients * clients, seconds, static_cast<double>(all.size()) / seconds,
      report::percentile(all, 50), report::percentile(all, 99), clients, value_bytes, errors);
  return errors == 0 ? 0 : 1;
}
