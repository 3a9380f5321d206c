// `keel orders dlq list|replay`: the saga's dead letters (stream SAGA_DLQ).
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "keel/nats/nats.h"
#include "keel/orders/service.h"
#include "keel/saga/contract.h"

namespace keel::orders {

namespace {

constexpr int kUsage = 2;
constexpr int kUnavailable = 1;

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "keel: error: %s\n", message.c_str());
  return code;
}

std::string Header(const nats::StoredMessage& m, const char* name) {
  auto it = m.headers.find(name);
  return it == m.headers.end() ? "" : it->second;
}

std::string Time(std::int64_t ns) {
  const std::time_t t = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string EventId(const nats::StoredMessage& m) {
  auto j = nlohmann::json::parse(m.data, nullptr, false);
  return j.is_object() && j.contains("id") && j["id"].is_string() ? j["id"].get<std::string>() : "";
}

int Replay(nats::Client& nats, const nats::StoredMessage& m) {
  const std::string subject = Header(m, "Keel-Dlq-Subject");
  if (subject.empty()) return Fail(kUsage, "dlq #" + std::to_string(m.sequence) + ": no Keel-Dlq-Subject header");
  // A fresh message id: the original's may still be in the de-duplication
  // window. The inbox keys on the CloudEvent id, which stays.
  auto ack = nats.Publish(subject, m.data, "replay-" + std::to_string(m.sequence) + "-" + std::to_string(m.time_ns),
                          {{"Content-Type", "application/cloudevents+json"},
                           {"Keel-Replayed-From", std::to_string(m.sequence)}});
  if (!ack.ok()) return Fail(kUnavailable, ack.status().message());
  if (Status s = nats.DeleteMessage(saga::kDlqStream, m.sequence); !s.ok()) return Fail(kUnavailable, s.message());
  std::printf("replayed #%llu to %s (event %s)\n", static_cast<unsigned long long>(m.sequence), subject.c_str(),
              EventId(m).c_str());
  return 0;
}

}  // namespace

int RunDlqCommand(const DlqFlags& flags) {
  std::string url = flags.nats_url;
  if (url.empty()) {
    const char* env = std::getenv("KEEL_NATS_URL");
    url = env != nullptr && *env != '\0' ? env : "nats://127.0.0.1:4222";
  }
  std::uint64_t only = 0;
  const bool all = flags.sequence == "all";
  if (flags.command == "replay" && !all) {
    char* end = nullptr;
    only = std::strtoull(flags.sequence.c_str(), &end, 10);
    if (flags.sequence.empty() || end == nullptr || *end != '\0' || only == 0) {
      return Fail(kUsage, "dlq replay: '" + flags.sequence + "' is not a sequence number or 'all'");
    }
  }
  obs::Registry registry;
  auto nats = nats::Client::Connect({.url = url, .name = "keel-orders-dlq", .max_reconnect = 0}, registry);
  if (!nats.ok()) return Fail(kUnavailable, "nats.url " + url + ": " + nats.status().message());
  auto state = (*nats)->Stream(saga::kDlqStream);
  if (!state.ok()) {
    if (state.status().code() == StatusCode::kNotFound && flags.command == "list") return 0;  // nothing died yet
    return Fail(kUnavailable, state.status().message());
  }
  if (flags.command == "replay" && !all) {
    auto m = (*nats)->GetMessage(saga::kDlqStream, only);
    if (!m.ok()) {
      return Fail(m.status().code() == StatusCode::kNotFound ? kUsage : kUnavailable,
                  "dlq #" + flags.sequence + ": " + m.status().message());
    }
    return Replay(**nats, *m);
  }
  if (flags.command == "list" && !flags.json) {
    std::printf("%-6s %-20s %-10s %-32s %-9s %-28s %s\n", "SEQ", "TIME", "CONSUMER", "SUBJECT", "DELIVERED", "EVENT",
                "ERROR");
  }
  int rc = 0;
  for (std::uint64_t seq = state->first_sequence; seq != 0 && seq <= state->last_sequence; ++seq) {
    auto m = (*nats)->GetMessage(saga::kDlqStream, seq);
    if (!m.ok()) {
      if (m.status().code() == StatusCode::kNotFound) continue;  // replayed (deleted)
      return Fail(kUnavailable, m.status().message());
    }
    if (flags.command == "replay") {
      if (int r = Replay(**nats, *m); r != 0) rc = r;
      continue;
    }
    if (flags.json) {
      nlohmann::json line = {{"sequence", m->sequence}, {"time", Time(m->time_ns)},
                             {"consumer", Header(*m, "Keel-Dlq-Consumer")}, {"subject", Header(*m, "Keel-Dlq-Subject")},
                             {"delivered", Header(*m, "Keel-Dlq-Delivered")}, {"event_id", EventId(*m)},
                             {"error", Header(*m, "Keel-Dlq-Error")}};
      std::printf("%s\n", line.dump().c_str());
    } else {
      std::printf("%-6llu %-20s %-10s %-32s %-9s %-28s %s\n", static_cast<unsigned long long>(m->sequence),
                  Time(m->time_ns).c_str(), Header(*m, "Keel-Dlq-Consumer").c_str(),
                  Header(*m, "Keel-Dlq-Subject").c_str(), Header(*m, "Keel-Dlq-Delivered").c_str(),
                  EventId(*m).c_str(), Header(*m, "Keel-Dlq-Error").c_str());
    }
  }
  return rc;
}

}  // namespace keel::orders
