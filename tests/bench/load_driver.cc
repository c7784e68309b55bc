#include "tests/bench/load_driver.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>

#include "node/chain/transaction.h"
#include "node/net/client.h"

namespace ringchain::bench {

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Events taken from epoll at once.
constexpr int events_max = 256;
// Backoff after a "retry later" refusal grows with the attempts, to this.
constexpr auto retry_backoff_max = 200ms;

// One client connection and where it is in its list of batches.
struct connection {
  net::client client;
  std::string address;
  std::size_t next = 0, end = 0;
  // A batch is outstanding: its request id, first and latest send.
  bool waiting = false;
  std::uint64_t request_id = 0;
  clock_type::time_point first_sent, sent;
  // Sends of the current batch so far.
  int attempts = 0;
};

bool retryable(const std::string& reason) {
  return reason.find("retry") != std::string::npos;
}

class driver {
 public:
  driver(const std::vector<std::string>& nodes, std::size_t first, const load_plan& plan,
         const load_limits& limits)
      : plan_(plan),
        limits_(limits),
        epoll_(::epoll_create1(EPOLL_CLOEXEC)),
        conns_(plan.batches.size()) {
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      conns_[i].address = nodes[first];
      conns_[i].end = std::min(limits.batches_per_connection, plan.batches[i].size());
    }
  }
  ~driver() { ::close(epoll_); }

  load_outcome run() {
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      if (reconnect(i)) due_.emplace(clock_type::now(), i);
    }
    const auto start = clock_type::now();
    const auto deadline = start + limits_.total_timeout;
    auto next_scan = start;
    while (busy_ > 0 || !due_.empty()) {
      const auto now = clock_type::now();
      if (now > deadline) {
        give_up_all();
        break;
      }
      send_due(now);
      if (now >= next_scan) {
        time_out(now);
        next_scan = now + 100ms;
      }
      wait_events();
    }
    out_.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    return std::move(out_);
  }

 private:
  std::size_t batch_size(const connection& c, std::size_t i) const {
    return static_cast<std::size_t>(plan_.batches[i][c.next].txs_size());
  }

  // Opens connection i to its address; on failure its remaining batches
  // are lost.
  bool reconnect(std::size_t i) {
    connection& c = conns_[i];
    const base::status st = c.client.connect(c.address, 2s);
    if (st.ok()) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      ::epoll_ctl(epoll_, EPOLL_CTL_ADD, c.client.fd(), &ev);
      return true;
    }
    ++out_.connect_failures;
    for (; c.next < c.end; ++c.next) lose(c, i, "could not connect: " + st.message());
    return false;
  }

  void lose(const connection& c, std::size_t i, const std::string& why) {
    out_.lost[why] += batch_size(c, i);
  }

  void send_due(clock_type::time_point now) {
    while (!due_.empty() && due_.begin()->first <= now) {
      const std::size_t i = due_.begin()->second;
      due_.erase(due_.begin());
      send(i, now);
    }
  }

  void send(std::size_t i, clock_type::time_point now) {
    connection& c = conns_[i];
    if (c.next >= c.end) return;
    if (!c.client.connected() && !reconnect(i)) return;
    nodepb::ClientRequest req;
    *req.mutable_submit() = plan_.batches[i][c.next];
    const auto id = c.client.send(std::move(req));
    if (!id) {
      finish_batch(i, "connection lost while sending");
      return;
    }
    if (c.attempts++ == 0) {
      out_.sent_txs += batch_size(c, i);
      c.first_sent = now;
    }
    c.request_id = *id;
    c.sent = now;
    c.waiting = true;
    ++busy_;
  }

  void wait_events() {
    epoll_event events[events_max];
    const int timeout_ms = due_.empty() ? 10 : 1;
    const int n = ::epoll_wait(epoll_, events, events_max, timeout_ms);
    for (int k = 0; k < n; ++k) read_answers(static_cast<std::size_t>(events[k].data.u64));
  }

  void read_answers(std::size_t i) {
    connection& c = conns_[i];
    for (;;) {
      auto resp = c.client.receive(0ms);
      if (!resp.ok()) break;
      if (c.waiting && resp->id() == c.request_id && resp->has_submit()) {
        c.waiting = false;
        --busy_;
        on_answer(i, resp->submit());
      }
    }
    if (!c.client.connected() && c.waiting) {
      c.waiting = false;
      --busy_;
      // The batch may or may not have been taken; resending it could only
      // be refused as a replay, so it is counted as lost.
      finish_batch(i, "connection closed by the node (outcome unknown)");
    }
  }

  void on_answer(std::size_t i, const nodepb::SubmitResponse& r) {
    connection& c = conns_[i];
    std::size_t not_leader = 0, retry = 0;
    for (const auto& t : r.results()) {
      not_leader += t.code() == nodepb::TxResult::NOT_LEADER;
      retry += t.code() == nodepb::TxResult::REFUSED && retryable(t.reason());
    }
    const auto n = static_cast<std::size_t>(r.results_size());
    if (n > 0 && not_leader == n) {
      ++out_.redirects;
      ::epoll_ctl(epoll_, EPOLL_CTL_DEL, c.client.fd(), nullptr);
      c.client.close();
      c.address = r.leader_client().empty() ? c.address : r.leader_client();
      // Without a known leader, ask again after an election's worth.
      due_.emplace(clock_type::now() + (r.leader_client().empty() ? 300ms : 0ms), i);
      return;
    }
    if (n > 0 && retry == n) {
      ++out_.retries;
      const auto backoff = std::min<clock_type::duration>(retry_backoff_max, c.attempts * 10ms);
      due_.emplace(clock_type::now() + backoff, i);
      return;
    }
    std::size_t committed = 0;
    for (const auto& t : r.results()) {
      if (t.code() == nodepb::TxResult::COMMITTED) {
        ++committed;
      } else {
        ++out_.lost[t.code() == nodepb::TxResult::NOT_LEADER ? "not leader" : t.reason()];
      }
    }
    out_.committed_txs += committed;
    if (committed > 0) {
      out_.batch_ms.push_back(
          std::chrono::duration<double, std::milli>(clock_type::now() - c.first_sent).count());
    }
    next_batch(i);
  }

  // The current batch is lost for `why`: counted, and the next one is due.
  void finish_batch(std::size_t i, const std::string& why) {
    lose(conns_[i], i, why);
    next_batch(i);
  }

  void next_batch(std::size_t i) {
    connection& c = conns_[i];
    ++c.next;
    c.attempts = 0;
    if (c.next < c.end) due_.emplace(clock_type::now(), i);
  }

  void time_out(clock_type::time_point now) {
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      connection& c = conns_[i];
      if (!c.waiting || now - c.sent < limits_.answer_timeout) continue;
      c.waiting = false;
      --busy_;
      ::epoll_ctl(epoll_, EPOLL_CTL_DEL, c.client.fd(), nullptr);
      c.client.close();  // a late answer must not be taken for the next batch's
      const auto s = std::chrono::duration_cast<std::chrono::seconds>(limits_.answer_timeout);
      finish_batch(i, "no answer within " + std::to_string(s.count()) + " s");
    }
  }

  void give_up_all() {
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      connection& c = conns_[i];
      if (c.waiting) finish_batch(i, "no answer before the time limit");
      for (; c.next < c.end; ++c.next) lose(c, i, "not sent (time limit)");
    }
    due_.clear();
  }

  const load_plan& plan_;
  load_limits limits_;
  int epoll_;
  std::vector<connection> conns_;
  // Connections whose next send is due, by when.
  std::multimap<clock_type::time_point, std::size_t> due_;
  // Batches outstanding.
  std::size_t busy_ = 0;
  load_outcome out_;
};

}  // namespace

load_plan presign(std::size_t connections, std::size_t txs_total, std::size_t batch_txs,
                  std::size_t tx_bytes) {
  load_plan plan;
  plan.batch_txs = batch_txs;
  const std::size_t per_connection = (txs_total + connections - 1) / connections;
  const std::size_t batches = (per_connection + batch_txs - 1) / batch_txs;
  const std::string value(tx_bytes > 120 ? tx_bytes - 120 : 1, 'v');
  plan.batches.resize(connections);
  for (std::size_t k = 0; k < connections; ++k) {
    std::string seed = "bench-" + std::to_string(k);
    seed.resize(32, '.');
    const chain::key_pair key = chain::key_pair_from_seed(seed);
    std::uint64_t nonce = 0;
    for (std::size_t b = 0; b < batches; ++b) {
      nodepb::SubmitRequest req;
      for (std::size_t t = 0; t < batch_txs; ++t) {
        ++nonce;
        *req.add_txs() = chain::make_transaction(
            key, nonce, "c" + std::to_string(k) + "-" + std::to_string(nonce), value);
      }
      plan.batches[k].push_back(std::move(req));
    }
  }
  return plan;
}

load_outcome drive(const std::vector<std::string>& nodes, std::size_t first, const load_plan& plan,
                   const load_limits& limits) {
  driver d(nodes, first, plan, limits);
  return d.run();
}

}  // namespace ringchain::bench
