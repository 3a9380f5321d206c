#include "keel/nats/nats.h"

#include <gtest/gtest.h>
#include <nats/nats.h>

#include <atomic>
#include <thread>

#include "keel/nats/testing/nats_server.h"

namespace keel::nats {
namespace {

using namespace std::chrono_literals;

testing::NatsServer* g_server = nullptr;

class ServerEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    auto s = testing::NatsServer::Start();
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(*s);
    g_server = server_.get();
  }
  void TearDown() override {
    g_server = nullptr;
    server_.reset();
    nats_CloseAndWait(2000);  // libnats' threads and globals, for LeakSanitizer
  }

 private:
  std::unique_ptr<testing::NatsServer> server_;
};

std::string Unique(const std::string& prefix) {
  static std::atomic<int> n{0};
  return prefix + std::to_string(++n);
}

struct JetStream : ::testing::Test {
  void SetUp() override {
    auto c = Client::Connect({.url = g_server->url()}, registry);
    ASSERT_TRUE(c.ok()) << c.status().message();
    client = std::move(*c);
    stream = Unique("S");
    subject = stream + ".events";
    ASSERT_TRUE(client->EnsureStream({.name = stream, .subjects = {stream + ".>"}, .memory = false}).ok());
  }
  obs::Registry registry;
  std::unique_ptr<Client> client;
  std::string stream, subject;
};

TEST(NatsOptions, RejectsBadValues) {
  EXPECT_EQ(ValidateOptions({.url = ""}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateOptions({.connect_timeout = 0s}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateOptions({.max_reconnect = -2}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateOptions({}).ok());
}

TEST(NatsConnect, NothingListeningIsUnavailable) {
  obs::Registry registry;
  auto c = Client::Connect({.url = "nats://127.0.0.1:1", .connect_timeout = 500ms}, registry);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(c.status().message().find("connect nats://127.0.0.1:1"), std::string::npos);
}

TEST_F(JetStream, PublishDeduplicatesByMsgId) {
  auto first = client->Publish(subject, "one", "outbox-1");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->stream, stream);
  EXPECT_EQ(first->sequence, 1u);
  EXPECT_FALSE(first->duplicate);
  auto again = client->Publish(subject, "one", "outbox-1");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->sequence, 1u);
  auto other = client->Publish(subject, "two", "outbox-2");
  EXPECT_EQ(other->sequence, 2u);
  EXPECT_EQ(client->Stream(stream)->messages, 2u);
  const std::string text = registry.Render(obs::ExpositionFormat::kPrometheusText);
  EXPECT_NE(text.find("keel_nats_published_total{outcome=\"duplicate\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("keel_nats_published_total{outcome=\"ok\"} 2"), std::string::npos) << text;
}

TEST_F(JetStream, APublishNoStreamTakesFails) {
  auto r = client->Publish("nobody.listens.here", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("publish nobody.listens.here"), std::string::npos);
  EXPECT_EQ(client->Stream("NOPE").status().code(), StatusCode::kNotFound);
}

TEST_F(JetStream, HeadersAndDataRoundTrip) {
  const std::string body = std::string("{\"specversion\":\"1.0\"}") + '\0' + "binary";
  ASSERT_TRUE(client->Publish(subject, body, "id-7", {{"Ce-Type", "order.created"}, {"Ce-Id", "7"}}).ok());
  auto consumer = client->PullSubscribe(stream, {.durable = "c", .filter_subject = subject});
  ASSERT_TRUE(consumer.ok()) << consumer.status().message();
  auto got = (*consumer)->Fetch(10, 2s);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  Message& m = (*got)[0];
  EXPECT_EQ(m.subject(), subject);
  EXPECT_EQ(m.data(), body);
  EXPECT_EQ(m.header("Ce-Type"), "order.created");
  EXPECT_EQ(m.msg_id(), "id-7");
  EXPECT_EQ(m.header("Missing"), std::nullopt);
  EXPECT_EQ(m.delivered(), 1u);
  EXPECT_EQ(m.stream_sequence(), 1u);
  EXPECT_TRUE(m.Ack().ok());
}

TEST_F(JetStream, StoredMessagesAreReadAndDeletedBySequence) {
  ASSERT_TRUE(client->Publish(subject, "first").ok());
  ASSERT_TRUE(client->Publish(subject, "second", "id-2", {{"Keel-Error", "boom"}}).ok());
  ASSERT_TRUE(client->Publish(subject, "third").ok());
  auto m = client->GetMessage(stream, 2);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->sequence, 2u);
  EXPECT_EQ(m->subject, subject);
  EXPECT_EQ(m->data, "second");
  EXPECT_EQ(m->headers["Keel-Error"], "boom");
  EXPECT_EQ(m->headers["Nats-Msg-Id"], "id-2");
  EXPECT_GT(m->time_ns, 0);
  ASSERT_TRUE(client->DeleteMessage(stream, 2).ok());
  EXPECT_EQ(client->GetMessage(stream, 2).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(client->GetMessage(stream, 99).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(client->Stream(stream)->messages, 2u);
  auto third = client->GetMessage(stream, 3);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->data, "third");
}

TEST_F(JetStream, AckedMessagesStayAckedNakedOnesComeBack) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client->Publish(subject, std::to_string(i)).ok());
  auto consumer = client->PullSubscribe(stream, {.durable = "w", .filter_subject = subject, .ack_wait = 10s});
  ASSERT_TRUE(consumer.ok());
  auto batch = (*consumer)->Fetch(3, 2s);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 3u);
  EXPECT_TRUE((*batch)[0].Ack().ok());
  EXPECT_TRUE((*batch)[1].Nak().ok());
  EXPECT_TRUE((*batch)[2].Term().ok());
  auto again = (*consumer)->Fetch(3, 2s);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].data(), "1");
  EXPECT_EQ((*again)[0].delivered(), 2u);
  EXPECT_TRUE((*again)[0].Ack().ok());
  auto none = (*consumer)->Fetch(3, 200ms);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(JetStream, UnackedMessagesAreRedeliveredAfterAckWaitUpToMaxDeliver) {
  ASSERT_TRUE(client->Publish(subject, "poison").ok());
  auto consumer = client->PullSubscribe(
      stream, {.durable = "r", .filter_subject = subject, .ack_wait = 300ms, .max_deliver = 2});
  ASSERT_TRUE(consumer.ok());
  auto first = (*consumer)->Fetch(1, 2s);
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].delivered(), 1u);
  // Not acked: back after ack_wait, counted as the second delivery.
  auto second = (*consumer)->Fetch(1, 3s);
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].delivered(), 2u);
  // max_deliver reached: the server stops delivering it (a consumer moves it
  // to a DLQ when delivered() reaches max_deliver).
  auto third = (*consumer)->Fetch(1, 1s);
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->empty());
}

TEST_F(JetStream, EnsureStreamIsIdempotentAndUpdates) {
  EXPECT_TRUE(client->EnsureStream({.name = stream, .subjects = {stream + ".>"}}).ok());
  EXPECT_TRUE(client->EnsureStream({.name = stream, .subjects = {stream + ".>"}, .max_msgs = 5}).ok());
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(client->Publish(subject, "m").ok());
  EXPECT_EQ(client->Stream(stream)->messages, 5u);
  EXPECT_EQ(client->EnsureStream({.name = "", .subjects = {"x"}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client->PullSubscribe(stream, {.durable = ""}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(client->DeleteStream(stream).ok());
  EXPECT_EQ(client->Stream(stream).status().code(), StatusCode::kNotFound);
}

// Last: restarts the shared server.
TEST_F(JetStream, ZDurableConsumersAndStreamsSurviveAServerRestart) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client->Publish(subject, std::to_string(i), "m" + std::to_string(i)).ok());
  {
    auto consumer = client->PullSubscribe(stream, {.durable = "d", .filter_subject = subject});
    auto got = (*consumer)->Fetch(1, 2s);
    ASSERT_EQ(got->size(), 1u);
    ASSERT_TRUE((*got)[0].Ack().ok());
  }
  ASSERT_TRUE(g_server->Restart().ok());
  // The same client reconnects on its own.
  for (int i = 0; i < 100 && !client->connected(); ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(client->connected());
  // Dedup state is part of the stream: m1 again is still a duplicate.
  StatusOr<PubAck> dup = Unavailable("not tried");
  for (int i = 0; i < 40 && !dup.ok(); ++i) {
    dup = client->Publish(subject, "1", "m1");
    if (!dup.ok()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(dup.ok()) << dup.status().message();
  EXPECT_TRUE(dup->duplicate);
  auto consumer = client->PullSubscribe(stream, {.durable = "d", .filter_subject = subject});
  ASSERT_TRUE(consumer.ok()) << consumer.status().message();
  auto rest = (*consumer)->Fetch(10, 3s);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].data(), "1");
  EXPECT_EQ((*rest)[1].data(), "2");
}

}  // namespace
}  // namespace keel::nats

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new keel::nats::ServerEnv());
  return RUN_ALL_TESTS();
}
