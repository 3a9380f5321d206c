#include "keel/load/load_engine.h"

#include <sys/prctl.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cmath>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "http_transport.h"
#include "rls_transport.h"
#include "transport.h"

namespace keel::load {

namespace asio = boost::asio;
using boost::system::error_code;
using obs::LatencyHistogram;

StatusOr<Target> ParseUrl(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("invalid URL '" + std::string(url) + "': " + why);
  };
  constexpr std::string_view kHttp = "http://", kRls = "rls://";
  Target t;
  std::string_view rest;
  if (url.substr(0, kHttp.size()) == kHttp) {
    rest = url.substr(kHttp.size());
  } else if (url.substr(0, kRls.size()) == kRls) {
    rest = url.substr(kRls.size());
    t.protocol = Protocol::kRls;
  } else {
    return bad("expected http://HOST[:PORT][/PATH] or rls://HOST:PORT");
  }
  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  t.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (t.protocol == Protocol::kRls && t.target != "/") return bad("rls:// takes no path");
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    t.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad("expected ':' after ']'");
      port = authority.substr(close + 2);
    }
  } else {
    std::size_t colon = authority.rfind(':');
    t.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (t.host.empty()) return bad("no host");
  if (t.protocol == Protocol::kRls && port.empty()) return bad("rls:// needs a port");
  if (!port.empty()) {
    auto p = ParseInt(port);
    if (!p.ok() || *p < 1 || *p > 65535) return bad("port must be 1-65535");
    t.port = static_cast<std::uint16_t>(*p);
  } else if (authority.find(':') != std::string_view::npos && authority.front() != '[') {
    return bad("empty port");
  }
  return t;
}

namespace {

struct Counters {
  std::uint64_t sent = 0, completed = 0;
  std::uint64_t errors = 0;         // every failed request
  std::uint64_t status_errors = 0;  // of which answered 4xx/5xx (also in completed)
  std::uint64_t over_limit = 0;     // rls://: answered OVER_LIMIT (in completed, not errors)
  std::array<std::uint64_t, kMaxCountWithin> within{};  // per LoadConfig::count_within_us
};

// Collects per-second data from all workers and emits seconds in order once
// every worker has moved past them; evaluates the sliding SLO windows.
class Aggregator {
 public:
  Aggregator(const LoadConfig& cfg, int workers, double measured_s, RunResult* result)
      : cfg_(cfg), progress_(static_cast<std::size_t>(workers), 0),
        total_seconds_(static_cast<std::int64_t>(std::ceil(measured_s))), result_(result) {
    for (const auto& b : cfg_.slos) {
      SloResult r;
      r.bound = b.text;
      r.unit = b.unit;
      slo_results_.push_back(r);
    }
  }

  void Flush(int worker, std::int64_t second, const Counters& c, const LatencyHistogram& h) {
    // Answers that arrive while an open-loop run drains belong to its last second.
    second = std::min(second, std::max<std::int64_t>(total_seconds_ - 1, 0));
    std::lock_guard<std::mutex> lock(mu_);
    Slot& slot = Get(second);
    slot.counters.sent += c.sent;
    slot.counters.completed += c.completed;
    slot.counters.errors += c.errors;
    slot.counters.status_errors += c.status_errors;
    slot.counters.over_limit += c.over_limit;
    for (std::size_t i = 0; i < kMaxCountWithin; ++i) slot.counters.within[i] += c.within[i];
    (void)slot.corrected.Add(h);
    // The last second stays open until the worker finishes: answers that
    // arrive while an open-loop run drains are added to it.
    auto& p = progress_[static_cast<std::size_t>(worker)];
    p = std::max(p, std::min(second + 1, total_seconds_ - 1));
    EmitReady();
  }

  void Finish(int worker) {
    std::lock_guard<std::mutex> lock(mu_);
    progress_[static_cast<std::size_t>(worker)] = std::numeric_limits<std::int64_t>::max();
    EmitReady();
  }

  std::vector<SloResult> slo_windows() const { return slo_results_; }

 private:
  struct Slot {
    Counters counters;
    LatencyHistogram corrected = LatencyHistogram::ForLatencyMicros();
  };

  Slot& Get(std::int64_t second) {
    auto it = slots_.find(second);
    if (it == slots_.end()) it = slots_.emplace(second, std::make_unique<Slot>()).first;
    return *it->second;
  }

  void EmitReady() {
    std::int64_t ready = *std::min_element(progress_.begin(), progress_.end());
    while (next_ < ready && next_ < total_seconds_) {
      std::unique_ptr<Slot> slot;
      auto it = slots_.find(next_);
      if (it != slots_.end()) {
        slot = std::move(it->second);
        slots_.erase(it);
      } else {
        slot = std::make_unique<Slot>();
      }
      Emit(next_, std::move(slot));
      ++next_;
    }
  }

  void Emit(std::int64_t second, std::unique_ptr<Slot> slot) {
    SecondRow row;
    row.t = static_cast<double>(second + 1);
    row.sent = slot->counters.sent;
    row.completed = slot->counters.completed;
    row.errors = slot->counters.errors;
    row.ok = slot->counters.completed - slot->counters.status_errors - slot->counters.over_limit;
    row.over_limit = slot->counters.over_limit;
    row.within.assign(slot->counters.within.begin(),
                      slot->counters.within.begin() + static_cast<std::ptrdiff_t>(cfg_.count_within_us.size()));
    if (slot->corrected.total_count() > 0) {
      row.p50_us = static_cast<double>(slot->corrected.ValueAtPercentile(50));
      row.p99_us = static_cast<double>(slot->corrected.ValueAtPercentile(99));
      row.p999_us = static_cast<double>(slot->corrected.ValueAtPercentile(99.9));
    }
    result_->seconds.push_back(row);
    if (cfg_.on_second) cfg_.on_second(row, slot->corrected, static_cast<double>(second));
    window_.push_back(std::move(slot));
    const auto w = static_cast<std::size_t>(
        std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(cfg_.slo_window).count()));
    if (window_.size() > w) window_.pop_front();
    if (window_.size() == w && !cfg_.slos.empty()) CheckWindow(second + 1 - static_cast<std::int64_t>(w), second + 1);
  }

  void CheckWindow(std::int64_t start, std::int64_t end) {
    LatencyHistogram merged = LatencyHistogram::ForLatencyMicros();
    Counters c;
    for (const auto& s : window_) {
      (void)merged.Add(s->corrected);
      c.completed += s->counters.completed;
      c.errors += s->counters.errors;
      c.status_errors += s->counters.status_errors;
    }
    const double len = static_cast<double>(end - start);
    SloWindow win;
    win.corrected = &merged;
    win.errors = c.errors;
    win.completed = c.completed - c.status_errors;
    win.achieved_rate = static_cast<double>(c.completed) / len;
    if (cfg_.profile) {
      auto at = [&](std::int64_t s) { return cfg_.profile->ExpectedCount(std::chrono::seconds(s)); };
      win.requested_rate = (at(end) - at(start)) / len;
    }
    for (std::size_t i = 0; i < cfg_.slos.size(); ++i) {
      SloResult& r = slo_results_[i];
      if (r.window_breached || Holds(cfg_.slos[i], win)) continue;
      r.window_breached = true;
      r.window_start = static_cast<double>(start);
      r.window_end = static_cast<double>(end);
      r.window_measured = InBoundUnit(cfg_.slos[i], Measure(cfg_.slos[i], win));
    }
  }

  const LoadConfig& cfg_;
  std::mutex mu_;
  std::vector<std::int64_t> progress_;
  std::map<std::int64_t, std::unique_ptr<Slot>> slots_;
  std::deque<std::unique_ptr<Slot>> window_;
  std::int64_t next_ = 0;
  const std::int64_t total_seconds_;
  RunResult* result_;
  std::vector<SloResult> slo_results_;
};

// The run's timeline, shared read-only by all workers.
struct Timeline {
  Clock::time_point start;          // first request may be due
  Clock::time_point measure_start;  // after warm-up
  Clock::time_point send_end;       // no request is due after this
  double warmup_rate = 0;           // open loop: rate during warm-up
  std::uint64_t warmup_count = 0;   // open loop: requests due during warm-up
  Clock::duration unix_offset{};    // a steady time plus this is its wall-clock time
};

// Runs one load thread: the schedule, backlog, timeouts and counting, over
// whichever Transport carries the requests.
class Worker final : public TransportEvents {
 public:
  using TransportFactory =
      std::function<std::unique_ptr<Transport>(asio::io_context&, TransportEvents&, int index)>;

  // `thread_safe_io`: the transport posts from other threads (gRPC).
  Worker(const LoadConfig& cfg, const Timeline& tl, Aggregator& agg, int index, int threads,
         bool thread_safe_io, const TransportFactory& make)
      : cfg_(cfg), tl_(tl), agg_(agg), index_(index), threads_(threads),
        io_(thread_safe_io ? 1 : BOOST_ASIO_CONCURRENCY_HINT_UNSAFE), pacer_(io_), tick_(io_),
        transport_(make(io_, *this, index)),
        slots_(static_cast<std::size_t>(transport_->slots())) {
    if (cfg_.results != nullptr) results_.emplace(*cfg_.results);
  }

  void Run() {
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // sub-millisecond pacing
    transport_->Start();
    next_k_ = static_cast<std::uint64_t>(index_);
    if (cfg_.profile) {
      due_ = DueTime(next_k_);
      if (due_) SchedulePacer();
    }
    tick_.expires_at(tl_.start);
    tick_.async_wait([this](const error_code& ec) {
      if (!ec) Tick();
    });
    io_.run();
    if (results_) results_->Flush();
    FlushSecond(std::numeric_limits<std::int64_t>::max());
    agg_.Finish(index_);
  }

  LatencyHistogram corrected = LatencyHistogram::ForLatencyMicros();
  LatencyHistogram uncorrected = LatencyHistogram::ForLatencyMicros();
  std::uint64_t sent = 0, completed = 0, over_limit = 0;
  std::array<std::uint64_t, kErrorKinds> errors{};
  std::uint64_t backlog_requests = 0, backlog_max = 0, not_sent = 0;

 private:
  struct Pending {
    Clock::time_point intended;
    std::uint64_t seq;
  };
  // The worker's view of a transport slot.
  struct Slot {
    enum class State { kNotReady, kIdle, kBusy } state = State::kNotReady;
    Clock::time_point intended, sent, deadline;
    std::uint64_t seq = 0;  // what {{seq}} rendered to for its request
    bool measured = false;  // its request is after warm-up and not yet counted
  };

  // TransportEvents
  void OnReady(int slot) override { BecomeIdle(slot); }

  void OnLost(int slot) override {
    idle_.erase(std::remove(idle_.begin(), idle_.end(), slot), idle_.end());
    slots_[static_cast<std::size_t>(slot)].state = Slot::State::kNotReady;
  }

  void OnDone(int slot, const Outcome& o, Next next) override {
    Slot& s = slots_[static_cast<std::size_t>(slot)];
    if (s.state == Slot::State::kBusy && s.measured) Record(s, o);
    s.measured = false;
    switch (next) {
      case Next::kReady:
        BecomeIdle(slot);
        break;
      case Next::kWriting:
        break;  // stays busy (and subject to the timeout) until OnReady
      case Next::kNotReady:
        s.state = Slot::State::kNotReady;
        break;
    }
  }

  bool OnConnectFailed() override {
    const auto now = Clock::now();
    if (now < tl_.measure_start || stopped_) return false;
    ++errors[static_cast<int>(ErrorKind::kConnect)];
    Count(now).errors++;
    return true;
  }

  void Record(const Slot& s, const Outcome& o) {
    WriteResult(s, o.at, o.status,
                o.kind == Outcome::Kind::kOk         ? "ok"
                : o.kind == Outcome::Kind::kOverLimit ? "over_limit"
                                                      : ErrorKindName(o.error));
    Counters& cnt = Count(o.at);
    const bool answered = o.kind != Outcome::Kind::kError || o.answered;
    if (o.kind == Outcome::Kind::kError) {
      ++errors[static_cast<int>(o.error)];
      cnt.errors++;
      if (o.answered) cnt.status_errors++;
    }
    if (!answered) return;
    ++completed;
    auto us = [](Clock::duration d) {
      return std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::microseconds>(d).count());
    };
    const std::int64_t corrected_us = us(o.at - s.intended);
    corrected.Record(corrected_us);
    uncorrected.Record(us(o.at - s.sent));
    cnt.completed++;
    interval_.Record(corrected_us);
    if (o.kind == Outcome::Kind::kError) return;
    if (o.kind == Outcome::Kind::kOverLimit) {
      ++over_limit;
      cnt.over_limit++;
    }
    for (std::size_t i = 0; i < cfg_.count_within_us.size(); ++i) {
      if (corrected_us <= cfg_.count_within_us[i]) cnt.within[i]++;
    }
  }

  void WriteResult(const Slot& s, Clock::time_point at, int status, std::string_view outcome) {
    if (!results_) return;
    using std::chrono::duration_cast;
    using std::chrono::microseconds;
    results_->Add({.seq = s.seq,
                   .intended_unix_us =
                       duration_cast<microseconds>((s.intended + tl_.unix_offset).time_since_epoch()).count(),
                   .status = status,
                   .latency_us = std::max<std::int64_t>(1, duration_cast<microseconds>(at - s.intended).count()),
                   .outcome = outcome});
  }

  std::optional<Clock::time_point> DueTime(std::uint64_t k) const {
    if (k < tl_.warmup_count) {
      return tl_.start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(static_cast<double>(k) / tl_.warmup_rate));
    }
    auto t = cfg_.profile->IntendedTime(k - tl_.warmup_count);
    if (!t) return std::nullopt;
    return tl_.measure_start + std::chrono::duration_cast<Clock::duration>(*t);
  }

  void SchedulePacer() {
    pacer_.expires_at(*due_);
    pacer_.async_wait([this](const error_code& ec) {
      if (!ec) Pace();
    });
  }

  void Pace() {
    const auto now = Clock::now();
    while (due_ && *due_ <= now && !stopped_) {
      if (*due_ >= tl_.send_end) {
        due_.reset();
        break;
      }
      Enqueue(Pending{*due_, next_k_});
      next_k_ += static_cast<std::uint64_t>(threads_);
      due_ = DueTime(next_k_);
    }
    Dispatch();
    // What is left waits for a slot to free up.
    if (now >= tl_.measure_start) backlog_max = std::max<std::uint64_t>(backlog_max, backlog_.size());
    if (due_ && !stopped_) SchedulePacer();
  }

  void Enqueue(const Pending& p) {
    // Due now but more due than idle slots: this one will wait.
    if (backlog_.size() >= idle_.size() && p.intended >= tl_.measure_start) ++backlog_requests;
    backlog_.push_back(p);
  }

  void Dispatch() {
    while (!idle_.empty() && !backlog_.empty()) {
      const int slot = idle_.back();
      idle_.pop_back();
      Pending p = backlog_.front();
      backlog_.pop_front();
      Send(slot, p);
    }
  }

  void BecomeIdle(int slot) {
    slots_[static_cast<std::size_t>(slot)].state = Slot::State::kIdle;
    if (stopped_) return;
    if (!cfg_.profile && Clock::now() >= tl_.start) {
      // Closed loop: the next request goes out at once.
      Send(slot, Pending{Clock::now(), closed_seq_++ * static_cast<std::uint64_t>(threads_) +
                                           static_cast<std::uint64_t>(index_)});
      return;
    }
    idle_.push_back(slot);
    Dispatch();
  }

  void Send(int slot, const Pending& p) {
    Slot& s = slots_[static_cast<std::size_t>(slot)];
    const auto now = Clock::now();
    if (now >= tl_.send_end && !cfg_.profile) {
      idle_.push_back(slot);
      s.state = Slot::State::kIdle;
      return;
    }
    s.state = Slot::State::kBusy;
    s.intended = p.intended;
    s.seq = p.seq;
    s.sent = now;
    s.deadline = now + cfg_.timeout;
    s.measured = p.intended >= tl_.measure_start;
    if (s.measured) {
      ++sent;
      Count(now).sent++;
    }
    transport_->Send(slot, p.seq);
  }

  // The counters of the second `now` falls in, flushing finished seconds.
  Counters& Count(Clock::time_point now) {
    if (now >= tl_.measure_start) {
      auto sec = std::chrono::duration_cast<std::chrono::seconds>(now - tl_.measure_start).count();
      if (sec > second_) FlushSecond(sec);
    }
    return interval_counters_;
  }

  void FlushSecond(std::int64_t next) {
    if (second_ >= 0 || interval_counters_.sent + interval_counters_.completed > 0) {
      agg_.Flush(index_, std::max<std::int64_t>(second_, 0), interval_counters_, interval_);
    }
    interval_counters_ = Counters{};
    interval_.Reset();
    second_ = next;
  }

  void Tick() {
    const auto now = Clock::now();
    Count(now);
    if (!cfg_.profile && !stopped_ && !idle_.empty()) {
      // Closed loop starts here: slots ready before the start wait idle.
      std::vector<int> idle;
      idle.swap(idle_);
      for (int slot : idle) BecomeIdle(slot);
    }
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      if (s.state != Slot::State::kBusy || now < s.deadline) continue;
      if (s.measured) {
        ++errors[static_cast<int>(ErrorKind::kTimeout)];
        Count(now).errors++;
        WriteResult(s, now, 0, ErrorKindName(ErrorKind::kTimeout));
      }
      s.measured = false;
      s.state = Slot::State::kNotReady;
      transport_->Cancel(static_cast<int>(i));
    }
    if (now >= tl_.send_end && !stopped_) {
      if (!cfg_.profile) {
        Stop();
        return;
      }
      // Open loop: requests still waiting were due but never sent; in-flight
      // ones get up to the timeout to answer.
      bool busy = std::any_of(slots_.begin(), slots_.end(),
                              [](const Slot& s) { return s.state == Slot::State::kBusy; });
      if (!draining_) {
        // Requests due before the end that the pacer has not taken yet (its
        // wake-up may be queued behind this tick) are sent or counted too.
        while (due_ && *due_ < tl_.send_end) {
          Enqueue(Pending{*due_, next_k_});
          next_k_ += static_cast<std::uint64_t>(threads_);
          due_ = DueTime(next_k_);
        }
        Dispatch();
        draining_ = true;
        drain_deadline_ = now + cfg_.timeout;
        for (const auto& p : backlog_) not_sent += p.intended >= tl_.measure_start ? 1 : 0;
        backlog_.clear();
        due_.reset();
        pacer_.cancel();
      }
      if (!busy || now >= drain_deadline_) {
        Stop();
        return;
      }
    }
    tick_.expires_after(std::chrono::milliseconds(10));
    tick_.async_wait([this](const error_code& ec) {
      if (!ec) Tick();
    });
  }

  void Stop() {
    stopped_ = true;
    transport_->Stop();
    pacer_.cancel();
    io_.stop();
  }

  const LoadConfig& cfg_;
  const Timeline& tl_;
  Aggregator& agg_;
  const int index_;
  const int threads_;
  asio::io_context io_;
  asio::steady_timer pacer_, tick_;
  // Declared after io_: destroyed first, while handlers it posted can still be dropped.
  std::unique_ptr<Transport> transport_;
  std::vector<Slot> slots_;
  std::optional<ResultsBuffer> results_;
  std::vector<int> idle_;
  std::deque<Pending> backlog_;
  std::uint64_t next_k_ = 0;
  std::uint64_t closed_seq_ = 0;
  std::optional<Clock::time_point> due_;
  bool stopped_ = false;
  bool draining_ = false;
  Clock::time_point drain_deadline_;
  std::int64_t second_ = -1;
  Counters interval_counters_;
  LatencyHistogram interval_ = LatencyHistogram::ForLatencyMicros();
};

}  // namespace

StatusOr<RunResult> RunLoad(const LoadConfig& cfg) {
  const bool rls = cfg.target.protocol == Protocol::kRls;
  if (rls && (!cfg.rls || cfg.rls->domain.empty() || cfg.rls->descriptors.empty())) {
    return InvalidArgument("rls:// needs a domain and at least one descriptor");
  }
  if (!rls && cfg.requests.empty()) return InvalidArgument("no request to send");
  if (cfg.threads < 1) return InvalidArgument("--threads must be at least 1");
  if (cfg.connections < cfg.threads) {
    return InvalidArgument("--connections (" + std::to_string(cfg.connections) +
                           ") must be at least --threads (" + std::to_string(cfg.threads) + ")");
  }
  if (cfg.count_within_us.size() > kMaxCountWithin) {
    return InvalidArgument("at most " + std::to_string(kMaxCountWithin) + " latency thresholds to count within");
  }
  asio::io_context resolve_io;
  asio::ip::tcp::resolver resolver(resolve_io);
  error_code ec;
  auto endpoints = resolver.resolve(cfg.target.host, std::to_string(cfg.target.port), ec);
  if (ec || endpoints.empty()) {
    return Unavailable("cannot resolve '" + cfg.target.host + "': " + ec.message());
  }
  asio::ip::tcp::endpoint endpoint = endpoints.begin()->endpoint();
  std::string host_header = cfg.target.host;
  if (host_header.find(':') != std::string::npos) host_header = "[" + host_header + "]";
  if (cfg.target.port != 80) host_header += ":" + std::to_string(cfg.target.port);

  const Duration measured = cfg.profile ? cfg.profile->total_duration() : cfg.duration;
  const double measured_s = std::chrono::duration<double>(measured).count();
  Timeline tl;
  tl.start = Clock::now() + std::chrono::milliseconds(200);  // connections open first
  tl.measure_start = tl.start + std::chrono::duration_cast<Clock::duration>(cfg.warmup);
  tl.send_end = tl.measure_start + std::chrono::duration_cast<Clock::duration>(measured);
  if (cfg.profile && cfg.warmup.count() > 0) {
    tl.warmup_rate = cfg.profile->RateAt(Duration(0));
    tl.warmup_count = static_cast<std::uint64_t>(
        std::floor(tl.warmup_rate * std::chrono::duration<double>(cfg.warmup).count()));
  }

  RunResult result;
  result.url = cfg.url;
  result.rls = rls;
  result.open_loop = cfg.profile.has_value();
  result.threads = cfg.threads;
  result.connections = cfg.connections;
  result.duration_s = measured_s;
  result.count_within_us = cfg.count_within_us;
  result.measure_start_unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          (std::chrono::system_clock::now() + (tl.measure_start - Clock::now())).time_since_epoch())
          .count();
  tl.unix_offset = std::chrono::duration_cast<Clock::duration>(
      std::chrono::system_clock::now().time_since_epoch() - Clock::now().time_since_epoch());
  Aggregator agg(cfg, cfg.threads, measured_s, &result);

  const std::string grpc_target =
      (endpoint.address().is_v6() ? "ipv6:[" : "ipv4:") + endpoint.address().to_string() +
      (endpoint.address().is_v6() ? "]:" : ":") + std::to_string(endpoint.port());
  // Closed loop: one call in flight per channel, as one request per HTTP
  // connection; open loop: up to kOpenLoopCallsPerChannel before the backlog.
  const int calls_per_channel = cfg.profile ? kOpenLoopCallsPerChannel : 1;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < cfg.threads; ++i) {
    const int conns = cfg.connections / cfg.threads + (i < cfg.connections % cfg.threads ? 1 : 0);
    const std::uint64_t seed = std::random_device{}() ^ (static_cast<std::uint64_t>(i) << 32);
    Worker::TransportFactory make = [&, conns, seed](asio::io_context& io, TransportEvents& events,
                                                     int) -> std::unique_ptr<Transport> {
      if (rls) {
        return MakeRlsTransport(io, events, *cfg.rls, grpc_target, conns, calls_per_channel,
                                cfg.timeout, seed);
      }
      return MakeHttpTransport(io, events, cfg.requests, endpoint, host_header, conns, seed);
    };
    workers.push_back(std::make_unique<Worker>(cfg, tl, agg, i, cfg.threads, rls, make));
  }
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->Run(); });
  for (auto& t : threads) t.join();

  for (auto& w : workers) {
    (void)result.corrected.Add(w->corrected);
    (void)result.uncorrected.Add(w->uncorrected);
    result.sent += w->sent;
    result.completed += w->completed;
    result.over_limit += w->over_limit;
    for (int k = 0; k < kErrorKinds; ++k) result.errors[static_cast<std::size_t>(k)] += w->errors[static_cast<std::size_t>(k)];
    result.backlog_requests += w->backlog_requests;
    result.backlog_max = std::max(result.backlog_max, w->backlog_max);
    result.not_sent += w->not_sent;
  }
  if (cfg.profile) result.requested_rate = cfg.profile->ExpectedCount(measured) / measured_s;
  result.achieved_rate = static_cast<double>(result.completed) / measured_s;

  // Whole-run SLO verdicts, joined with the first breaching window of each.
  std::vector<SloResult> windows = agg.slo_windows();
  SloWindow whole;
  whole.corrected = &result.corrected;
  const std::uint64_t status_errors =
      result.errors[static_cast<int>(ErrorKind::kStatus4xx)] + result.errors[static_cast<int>(ErrorKind::kStatus5xx)];
  whole.errors = result.total_errors();
  whole.completed = result.completed - status_errors;
  whole.requested_rate = result.requested_rate;
  whole.achieved_rate = result.achieved_rate;
  for (std::size_t i = 0; i < cfg.slos.size(); ++i) {
    SloResult r = windows[i];
    r.measured = InBoundUnit(cfg.slos[i], Measure(cfg.slos[i], whole));
    r.passed = Holds(cfg.slos[i], whole) && !r.window_breached;
    result.slos.push_back(r);
  }
  return result;
}

}  // namespace keel::load
