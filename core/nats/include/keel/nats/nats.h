// keel::nats — NATS JetStream through libnats (Debian's libnats-dev): a
// client that creates streams, publishes with broker de-duplication
// (Nats-Msg-Id), and pulls from durable consumers with explicit acks.
//
//   nats::Options options{.url = "nats://127.0.0.1:4222"};
//   auto client = nats::Client::Connect(options, obs::DefaultRegistry());
//   (*client)->EnsureStream({.name = "ORDERS", .subjects = {"orders.>"}});
//   auto ack = (*client)->Publish("orders.created", json, /*msg_id=*/"outbox-17");
//   // ack->duplicate: the stream had that id within its duplicate window.
//   auto consumer = (*client)->PullSubscribe("ORDERS", {.durable = "inventory",
//                                                       .filter_subject = "orders.>",
//                                                       .max_deliver = 5});
//   for (auto& m : *(*consumer)->Fetch(16, std::chrono::seconds(1))) { ...; m.Ack(); }
//
// Errors: a JetStream API error is Unavailable (timeouts, no connection,
// no JetStream), NotFound (stream/consumer missing) or InvalidArgument (the
// server rejected a config), with the server's text.
//
// Reconnects: libnats reconnects on its own (forever by default, every
// reconnect_wait); calls while disconnected fail with Unavailable or wait
// for the reconnect within their timeout. Consumers are durable, so a
// reconnect resumes where the acks left off.
//
// Thread-safety: Client is thread-safe (libnats locks inside). A
// PullConsumer and its Messages belong to one thread at a time.
//
// Metrics: keel_nats_published_total{outcome=ok|duplicate|error},
// keel_nats_publish_duration_seconds, keel_nats_received_total,
// keel_nats_acks_total{kind=ack|nak|term|progress}, keel_nats_connected.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/status.h"
#include "keel/base/units.h"
#include "keel/obs/metrics.h"

namespace keel::nats {

struct Options {
  std::string url = "nats://127.0.0.1:4222";  // nats.url; several: comma-separated
  std::string name = "keel";                  // the connection's name (server monitoring)
  Duration connect_timeout = std::chrono::seconds(2);
  Duration request_timeout = std::chrono::seconds(2);  // JetStream API calls and publish acks
  int max_reconnect = -1;                              // -1: forever
  Duration reconnect_wait = std::chrono::milliseconds(200);
};

Status ValidateOptions(const Options& options);

struct StreamConfig {
  std::string name;
  std::vector<std::string> subjects;
  Duration max_age = Duration::zero();  // 0: keep forever
  Duration duplicate_window = std::chrono::minutes(2);
  std::int64_t max_msgs = -1;  // -1: unlimited
  bool memory = false;         // memory storage (tests); default file
  int replicas = 1;
};

struct ConsumerConfig {
  std::string durable;         // required: the consumer's name, survives restarts
  std::string filter_subject;  // required: the subjects it takes ("orders.>")
  Duration ack_wait = std::chrono::seconds(30);  // unacked this long: redelivered
  int max_deliver = -1;                          // -1: unlimited
  std::int64_t max_ack_pending = 1000;
};

struct PubAck {
  std::string stream;
  std::uint64_t sequence = 0;
  bool duplicate = false;  // the stream already had this msg id
};

struct StreamState {
  std::uint64_t messages = 0;
  std::uint64_t first_sequence = 0;
  std::uint64_t last_sequence = 0;
};

// A message read from a stream by sequence (not through a consumer): what
// a dead-letter tool lists and replays.
struct StoredMessage {
  std::uint64_t sequence = 0;
  std::string subject;
  std::string data;
  std::map<std::string, std::string> headers;
  std::int64_t time_ns = 0;  // when the stream stored it, Unix nanoseconds
};

struct Metrics;

class Message {
 public:
  Message(Message&&) noexcept;
  Message& operator=(Message&&) noexcept;
  ~Message();

  std::string_view subject() const;
  std::string_view data() const;
  std::optional<std::string> header(const char* key) const;
  std::optional<std::string> msg_id() const { return header("Nats-Msg-Id"); }
  std::uint64_t delivered() const { return delivered_; }  // 1 on first delivery
  std::uint64_t stream_sequence() const { return stream_sequence_; }

  Status Ack();                                  // done: never redelivered
  Status Nak(Duration delay = Duration::zero());  // redeliver (after delay)
  Status Term();                                 // never redeliver (poison)
  Status InProgress();                           // still working: reset ack_wait

 private:
  friend class PullConsumer;
  Message(void* msg, Metrics* metrics);
  void* msg_;  // natsMsg*
  Metrics* metrics_;
  std::uint64_t delivered_ = 0;
  std::uint64_t stream_sequence_ = 0;
};

class PullConsumer {
 public:
  ~PullConsumer();
  PullConsumer(const PullConsumer&) = delete;
  PullConsumer& operator=(const PullConsumer&) = delete;
  // Up to `batch` messages, waiting at most `timeout` for the first; empty
  // when none came.
  StatusOr<std::vector<Message>> Fetch(int batch, Duration timeout);

 private:
  friend class Client;
  PullConsumer(void* sub, Metrics* metrics) : sub_(sub), metrics_(metrics) {}
  void* sub_;  // natsSubscription*
  Metrics* metrics_;
};

class Client {
 public:
  static StatusOr<std::unique_ptr<Client>> Connect(const Options& options, obs::Registry& registry);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Creates the stream, or updates it when it exists with other settings.
  Status EnsureStream(const StreamConfig& config);
  Status DeleteStream(const std::string& name);
  StatusOr<StreamState> Stream(const std::string& name);

  // Publishes to JetStream and waits for the stream's ack. With a msg_id the
  // stream drops a second message with the same id within its duplicate
  // window (PubAck::duplicate).
  StatusOr<PubAck> Publish(const std::string& subject, std::string_view data,
                           const std::string& msg_id = "",
                           const std::map<std::string, std::string>& headers = {});

  // The message at `sequence`; NotFound when there is none (deleted, or
  // beyond the stream's end).
  StatusOr<StoredMessage> GetMessage(const std::string& stream, std::uint64_t sequence);
  // Removes the message at `sequence` from the stream.
  Status DeleteMessage(const std::string& stream, std::uint64_t sequence);
  // Binds to (creating when missing) a durable pull consumer on `stream`.
  StatusOr<std::unique_ptr<PullConsumer>> PullSubscribe(const std::string& stream,
                                                        const ConsumerConfig& config);

  bool connected() const;

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::nats
