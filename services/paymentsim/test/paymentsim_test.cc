#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "idempotency_cache.h"
#include "simulator.h"

namespace keel::paymentsim {
namespace {

using net::Method;
using nlohmann::json;

constexpr const char* kVisa = R"({"amount":1000,"currency":"usd","payment_method":"tok_visa"})";

std::string Authorize(std::string_view pm, int amount = 1000) {
  return json{{"amount", amount}, {"currency", "usd"}, {"payment_method", pm}}.dump();
}

json Body(const SimResponse& r) { return json::parse(r.body); }

// Asserts a Stripe-shaped error: {"error":{"type","code","message",...}}.
void ExpectError(const SimResponse& r, int status, std::string_view type, std::string_view code) {
  EXPECT_EQ(r.status, status) << r.body;
  const json doc = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << r.body;
  ASSERT_TRUE(doc.contains("error")) << r.body;
  EXPECT_EQ(doc["error"]["type"], type) << r.body;
  EXPECT_EQ(doc["error"]["code"], code) << r.body;
  EXPECT_TRUE(doc["error"]["message"].is_string()) << r.body;
}

class SimulatorTest : public ::testing::Test {
 protected:
  explicit SimulatorTest(SimulatorOptions options = {})
      : sim_(options, [this] { return NextDraw(); }) {}

  // Scripted draws, then 0.5 forever.
  double NextDraw() {
    ++draws_;
    if (script_.empty()) return 0.5;
    const double d = script_.front();
    script_.pop_front();
    return d;
  }

  SimResponse Post(std::string_view path, std::string_view key, std::string_view body) {
    return sim_.Handle(Method::kPost, path, key, body);
  }
  SimResponse Get(std::string_view path) { return sim_.Handle(Method::kGet, path, "", ""); }
  // Authorizes 1000 usd with tok_visa under `key`; returns the intent id.
  std::string NewIntent(std::string_view key) {
    SimResponse r = Post("/v1/payment_intents", key, kVisa);
    EXPECT_EQ(r.status, 200) << r.body;
    return Body(r)["id"].get<std::string>();
  }
  std::string Captured(std::string_view key) {
    const std::string id = NewIntent(key);
    EXPECT_EQ(Post("/v1/payment_intents/" + id + "/capture", "", "").status, 200);
    return id;
  }

  std::deque<double> script_;
  int draws_ = 0;
  Simulator sim_;
};

TEST_F(SimulatorTest, AuthorizesTokVisaAsRequiresCapture) {
  SimResponse r = Post("/v1/payment_intents", "k1", kVisa);
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.replayed);
  EXPECT_EQ(Body(r), json::parse(R"({"id":"pi_1","object":"payment_intent","amount":1000,
      "currency":"usd","status":"requires_capture","payment_method":"tok_visa"})"));
  EXPECT_EQ(Body(Get("/v1/payment_intents/pi_1")), Body(r));
  EXPECT_EQ(draws_, 0) << "no draw while every rate is 0";
}

TEST_F(SimulatorTest, UnlistedTokensSucceedAndCurrencyIsLowerCased) {
  SimResponse r = Post("/v1/payment_intents", "k1",
                       R"({"amount":5,"currency":"EUR","payment_method":"tok_mastercard"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["currency"], "eur");
}

TEST_F(SimulatorTest, DeclinesChargeDeclinedToken) {
  SimResponse r = Post("/v1/payment_intents", "k1", Authorize("tok_chargeDeclined"));
  ExpectError(r, 402, "card_error", "card_declined");
  EXPECT_EQ(Body(r)["error"]["decline_code"], "generic_decline");
  EXPECT_EQ(sim_.stats().declined, 1u);
  EXPECT_EQ(sim_.stats().authorized, 0u);
}

TEST_F(SimulatorTest, DeclinesInsufficientFundsToken) {
  SimResponse r =
      Post("/v1/payment_intents", "k1", Authorize("tok_chargeDeclinedInsufficientFunds"));
  ExpectError(r, 402, "card_error", "card_declined");
  EXPECT_EQ(Body(r)["error"]["decline_code"], "insufficient_funds");
}

TEST_F(SimulatorTest, DeclineRateOneDeclinesGoodTokens) {
  sim_.SetDeclineRate(1.0);
  for (int i = 0; i < 5; ++i) {
    SimResponse r = Post("/v1/payment_intents", "k" + std::to_string(i), kVisa);
    ExpectError(r, 402, "card_error", "card_declined");
    EXPECT_EQ(Body(r)["error"]["decline_code"], "generic_decline");
  }
  EXPECT_EQ(sim_.stats().declined, 5u);
  EXPECT_EQ(sim_.stats().authorized, 0u);
}

TEST_F(SimulatorTest, DeclineRateDeclinesDrawsBelowIt) {
  sim_.SetDeclineRate(0.5);
  script_ = {0.49, 0.5};
  EXPECT_EQ(Post("/v1/payment_intents", "k1", kVisa).status, 402);
  EXPECT_EQ(Post("/v1/payment_intents", "k2", kVisa).status, 200);
  EXPECT_EQ(draws_, 2);
}

TEST_F(SimulatorTest, ErrorRateAnswers503WithoutEffectAndIsNotStored) {
  sim_.SetErrorRate(1.0);
  SimResponse r = Post("/v1/payment_intents", "k1", kVisa);
  ExpectError(r, 503, "api_error", "simulated_error");
  EXPECT_EQ(sim_.stats().errors, 1u);
  EXPECT_EQ(sim_.stats().authorized, 0u);
  EXPECT_EQ(Get("/v1/payment_intents/pi_1").status, 404);

  sim_.SetErrorRate(0);
  SimResponse retry = Post("/v1/payment_intents", "k1", kVisa);
  EXPECT_EQ(retry.status, 200) << retry.body;
  EXPECT_FALSE(retry.replayed);
  EXPECT_EQ(Body(retry)["id"], "pi_1");
}

TEST_F(SimulatorTest, ErrorRateHitsCaptureWithoutEffect) {
  const std::string id = NewIntent("k1");
  sim_.SetErrorRate(1.0);
  ExpectError(Post("/v1/payment_intents/" + id + "/capture", "", ""), 503, "api_error",
              "simulated_error");
  EXPECT_EQ(Body(Get("/v1/payment_intents/" + id))["status"], "requires_capture");
  EXPECT_EQ(Get("/v1/payment_intents/" + id).status, 200) << "GETs are never failed";
}

TEST_F(SimulatorTest, ReplayReturnsTheStoredAnswer) {
  SimResponse first = Post("/v1/payment_intents", "k1", kVisa);
  SimResponse again = Post("/v1/payment_intents", "k1", kVisa);
  EXPECT_EQ(again.status, first.status);
  EXPECT_EQ(again.body, first.body);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(sim_.stats().authorized, 1u);
  EXPECT_EQ(sim_.stats().requests, 2u);
}

TEST_F(SimulatorTest, ReplayMatchesParamsWhateverTheirOrder) {
  Post("/v1/payment_intents", "k1", kVisa);
  SimResponse r = Post("/v1/payment_intents", "k1",
                       R"({ "payment_method":"tok_visa", "currency":"usd", "amount":1000 })");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.replayed);
}

TEST_F(SimulatorTest, ReplayOfADeclineIsDeclinedAgain) {
  sim_.SetDeclineRate(1.0);
  SimResponse first = Post("/v1/payment_intents", "k1", kVisa);
  ASSERT_EQ(first.status, 402);
  sim_.SetDeclineRate(0);
  SimResponse again = Post("/v1/payment_intents", "k1", kVisa);
  EXPECT_EQ(again.status, 402);
  EXPECT_EQ(again.body, first.body);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(sim_.stats().declined, 1u);
}

TEST_F(SimulatorTest, KeyReusedWithOtherParamsIsIdempotencyError) {
  Post("/v1/payment_intents", "k1", kVisa);
  ExpectError(Post("/v1/payment_intents", "k1", Authorize("tok_visa", 2000)), 400,
              "idempotency_error", "idempotency_key_reused");
  const std::string id = NewIntent("k2");
  ExpectError(Post("/v1/payment_intents/" + id + "/capture", "k1", ""), 400, "idempotency_error",
              "idempotency_key_reused");
  EXPECT_EQ(sim_.stats().authorized, 2u);
}

TEST_F(SimulatorTest, MissingIdempotencyKeyIs400) {
  SimResponse r = Post("/v1/payment_intents", "", kVisa);
  ExpectError(r, 400, "invalid_request_error", "parameter_missing");
  EXPECT_EQ(Body(r)["error"]["param"], "Idempotency-Key");
  EXPECT_EQ(sim_.stats().authorized, 0u);
}

TEST_F(SimulatorTest, OverlongIdempotencyKeyIs400) {
  ExpectError(Post("/v1/payment_intents", std::string(256, 'k'), kVisa), 400,
              "invalid_request_error", "idempotency_key_invalid");
  EXPECT_EQ(Post("/v1/payment_intents", std::string(255, 'k'), kVisa).status, 200);
}

struct BadInput {
  const char* name;
  const char* body;
  const char* code;
};

TEST_F(SimulatorTest, BadInputIs400AndNotStored) {
  const BadInput cases[] = {
      {"not json", "{\"amount\":", "invalid_json"},
      {"array", "[1,2]", "invalid_json"},
      {"string", "\"x\"", "invalid_json"},
      {"empty object", "{}", "parameter_missing"},
      {"no amount", R"({"currency":"usd","payment_method":"tok_visa"})", "parameter_missing"},
      {"negative", R"({"amount":-5,"currency":"usd","payment_method":"tok_visa"})",
       "parameter_invalid_integer"},
      {"zero", R"({"amount":0,"currency":"usd","payment_method":"tok_visa"})",
       "parameter_invalid_integer"},
      {"fraction", R"({"amount":10.5,"currency":"usd","payment_method":"tok_visa"})",
       "parameter_invalid_integer"},
      {"string amount", R"({"amount":"10","currency":"usd","payment_method":"tok_visa"})",
       "parameter_invalid_integer"},
      {"bool amount", R"({"amount":true,"currency":"usd","payment_method":"tok_visa"})",
       "parameter_invalid_integer"},
      {"huge", R"({"amount":18446744073709551615,"currency":"usd","payment_method":"tok_visa"})",
       "amount_too_large"},
      {"no currency", R"({"amount":1,"payment_method":"tok_visa"})", "parameter_missing"},
      {"long currency", R"({"amount":1,"currency":"usdd","payment_method":"tok_visa"})",
       "payment_intent_invalid_parameter"},
      {"digit currency", R"({"amount":1,"currency":"us1","payment_method":"tok_visa"})",
       "payment_intent_invalid_parameter"},
      {"number currency", R"({"amount":1,"currency":840,"payment_method":"tok_visa"})",
       "payment_intent_invalid_parameter"},
      {"no payment_method", R"({"amount":1,"currency":"usd"})", "parameter_missing"},
      {"empty payment_method", R"({"amount":1,"currency":"usd","payment_method":""})",
       "payment_intent_invalid_parameter"},
      {"object payment_method", R"({"amount":1,"currency":"usd","payment_method":{}})",
       "payment_intent_invalid_parameter"},
  };
  int n = 0;
  for (const BadInput& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string key = "bad-" + std::to_string(n++);
    ExpectError(Post("/v1/payment_intents", key, c.body), 400, "invalid_request_error", c.code);
    // Validation errors are not stored: the key still works.
    EXPECT_EQ(Post("/v1/payment_intents", key, kVisa).status, 200);
  }
  EXPECT_EQ(sim_.stats().invalid, std::size(cases));
}

TEST_F(SimulatorTest, BadRefundBodiesAre400) {
  const BadInput cases[] = {
      {"not json", "nope", "invalid_json"},
      {"no intent", "{}", "parameter_missing"},
      {"number intent", R"({"payment_intent":1})", "payment_intent_invalid_parameter"},
      {"bad amount", R"({"payment_intent":"pi_1","amount":-1})", "parameter_invalid_integer"},
  };
  for (const BadInput& c : cases) {
    SCOPED_TRACE(c.name);
    ExpectError(Post("/v1/refunds", "", c.body), 400, "invalid_request_error", c.code);
  }
}

TEST_F(SimulatorTest, CaptureSucceedsOnceAndAgainIsTheSameObject) {
  const std::string id = NewIntent("k1");
  SimResponse first = Post("/v1/payment_intents/" + id + "/capture", "", "");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(Body(first)["status"], "succeeded");
  SimResponse second = Post("/v1/payment_intents/" + id + "/capture", "", "{}");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, first.body);
  EXPECT_FALSE(second.replayed);
  EXPECT_EQ(sim_.stats().captured, 1u);
}

TEST_F(SimulatorTest, CaptureOfCanceledIsUnexpectedState) {
  const std::string id = NewIntent("k1");
  ASSERT_EQ(Post("/v1/payment_intents/" + id + "/cancel", "", "").status, 200);
  SimResponse r = Post("/v1/payment_intents/" + id + "/capture", "", "");
  ExpectError(r, 400, "invalid_request_error", "payment_intent_unexpected_state");
  EXPECT_EQ(Body(r)["error"]["payment_intent"]["status"], "canceled");
}

TEST_F(SimulatorTest, CancelVoidsOnceAndAgainIsTheSameObject) {
  const std::string id = NewIntent("k1");
  SimResponse first = Post("/v1/payment_intents/" + id + "/cancel", "", "");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(Body(first)["status"], "canceled");
  EXPECT_EQ(Post("/v1/payment_intents/" + id + "/cancel", "", "").body, first.body);
  EXPECT_EQ(sim_.stats().canceled, 1u);
}

TEST_F(SimulatorTest, CancelOfSucceededIsUnexpectedState) {
  const std::string id = Captured("k1");
  ExpectError(Post("/v1/payment_intents/" + id + "/cancel", "", ""), 400, "invalid_request_error",
              "payment_intent_unexpected_state");
  EXPECT_EQ(Body(Get("/v1/payment_intents/" + id))["status"], "succeeded");
}

TEST_F(SimulatorTest, RefundsASucceededIntentOnce) {
  const std::string id = Captured("k1");
  SimResponse r = Post("/v1/refunds", "r1", json{{"payment_intent", id}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), json::parse(R"({"id":"re_1","object":"refund","payment_intent":"pi_1",
      "amount":1000,"currency":"usd","status":"succeeded"})"));
  EXPECT_EQ(Body(Get("/v1/payment_intents/" + id))["refunded"], true);
  EXPECT_TRUE(Post("/v1/refunds", "r1", json{{"payment_intent", id}}.dump()).replayed);
  ExpectError(Post("/v1/refunds", "r2", json{{"payment_intent", id}}.dump()), 400,
              "invalid_request_error", "charge_already_refunded");
  EXPECT_EQ(sim_.stats().refunded, 1u);
}

TEST_F(SimulatorTest, RefundsOnlyTheWholeAmount) {
  const std::string id = Captured("k1");
  ExpectError(Post("/v1/refunds", "", json{{"payment_intent", id}, {"amount", 10}}.dump()), 400,
              "invalid_request_error", "parameter_invalid_integer");
  EXPECT_EQ(Post("/v1/refunds", "", json{{"payment_intent", id}, {"amount", 1000}}.dump()).status,
            200);
}

TEST_F(SimulatorTest, RefundOfUncapturedOrCanceledIsUnexpectedState) {
  const std::string open = NewIntent("k1");
  ExpectError(Post("/v1/refunds", "", json{{"payment_intent", open}}.dump()), 400,
              "invalid_request_error", "payment_intent_unexpected_state");
  const std::string canceled = NewIntent("k2");
  Post("/v1/payment_intents/" + canceled + "/cancel", "", "");
  ExpectError(Post("/v1/refunds", "", json{{"payment_intent", canceled}}.dump()), 400,
              "invalid_request_error", "payment_intent_unexpected_state");
}

TEST_F(SimulatorTest, UnknownIdsAre404ResourceMissing) {
  NewIntent("k1");
  for (const char* id :
       {"pi_2", "pi_0", "pi_01", "pi_", "pi_1x", "ch_1", "pi_99999999999999999999"}) {
    SCOPED_TRACE(id);
    const std::string path = std::string("/v1/payment_intents/") + id;
    ExpectError(Get(path), 404, "invalid_request_error", "resource_missing");
    ExpectError(Post(path + "/capture", "", ""), 404, "invalid_request_error", "resource_missing");
    ExpectError(Post(path + "/cancel", "", ""), 404, "invalid_request_error", "resource_missing");
    ExpectError(Post("/v1/refunds", "", json{{"payment_intent", id}}.dump()), 404,
                "invalid_request_error", "resource_missing");
  }
}

TEST_F(SimulatorTest, NotFoundIsNotStored) {
  ExpectError(Post("/v1/payment_intents/pi_1/capture", "c1", ""), 404, "invalid_request_error",
              "resource_missing");
  NewIntent("k1");
  EXPECT_EQ(Post("/v1/payment_intents/pi_1/capture", "c1", "").status, 200);
}

TEST_F(SimulatorTest, UnknownRoutesAre404Json) {
  ExpectError(Get("/v1/charges"), 404, "invalid_request_error", "resource_missing");
  ExpectError(Get("/v1/payment_intents"), 404, "invalid_request_error", "resource_missing");
  ExpectError(Post("/v1/payment_intents/pi_1/confirm", "", ""), 404, "invalid_request_error",
              "resource_missing");
}

TEST_F(SimulatorTest, StatsCountEveryOutcome) {
  const std::string a = Captured("k1");
  Post("/v1/refunds", "", json{{"payment_intent", a}}.dump());
  const std::string b = NewIntent("k2");
  Post("/v1/payment_intents/" + b + "/cancel", "", "");
  Post("/v1/payment_intents", "k3", Authorize("tok_chargeDeclined"));
  Post("/v1/payment_intents", "", kVisa);
  sim_.SetErrorRate(1.0);
  Post("/v1/payment_intents", "k4", kVisa);
  SimResponse r = Get("/v1/stats");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), json::parse(R"({"authorized":2,"declined":1,"captured":1,"canceled":1,
      "refunded":1,"errors":1,"invalid":1,"requests":8})"));
  EXPECT_EQ(Body(Get("/v1/stats"))["requests"], 8) << "reading stats is not a request";
}

TEST_F(SimulatorTest, HeadIsGet) {
  NewIntent("k1");
  EXPECT_EQ(sim_.Handle(Method::kHead, "/v1/payment_intents/pi_1", "", "").status, 200);
}

TEST(SimulatorLimitsTest, OldestIdempotencyKeyIsEvicted) {
  Simulator sim({.max_idempotency_keys = 2}, Simulator::SeededUniform(1));
  for (const char* key : {"a", "b", "c"}) {
    EXPECT_EQ(sim.Handle(Method::kPost, "/v1/payment_intents", key, kVisa).status, 200);
  }
  // "a" was evicted: reusing it is a new request, not an idempotency error.
  SimResponse r = sim.Handle(Method::kPost, "/v1/payment_intents", "a", Authorize("tok_visa", 7));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(sim.Handle(Method::kPost, "/v1/payment_intents", "c", kVisa).replayed);
}

TEST(SimulatorLimitsTest, OldestIntentIsForgotten) {
  Simulator sim({.max_intents = 2}, Simulator::SeededUniform(1));
  for (const char* key : {"a", "b", "c"}) {
    sim.Handle(Method::kPost, "/v1/payment_intents", key, kVisa);
  }
  EXPECT_EQ(sim.Handle(Method::kGet, "/v1/payment_intents/pi_1", "", "").status, 404);
  EXPECT_EQ(sim.Handle(Method::kGet, "/v1/payment_intents/pi_3", "", "").status, 200);
}

TEST(SimulatorSeedTest, SameSeedSameDeclines) {
  auto run = [](std::uint64_t seed) {
    Simulator sim({.decline_rate = 0.5}, Simulator::SeededUniform(seed));
    std::string outcomes;
    for (int i = 0; i < 64; ++i) {
      const int s =
          sim.Handle(Method::kPost, "/v1/payment_intents", "k" + std::to_string(i), kVisa).status;
      outcomes += s == 200 ? 'a' : 'd';
    }
    return outcomes;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
  const std::string o = run(7);
  EXPECT_NE(o.find('a'), std::string::npos);
  EXPECT_NE(o.find('d'), std::string::npos);
}

TEST(SimulatorConcurrencyTest, OneKeyAuthorizesOnceAcrossThreads) {
  Simulator sim({}, Simulator::SeededUniform(1));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::atomic<int> replays{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Every thread authorizes the same keys: each key once in all.
        SimResponse r = sim.Handle(Method::kPost, "/v1/payment_intents",
                                   "k" + std::to_string(i), kVisa);
        if (r.replayed) ++replays;
        if (t == 0) sim.Handle(Method::kGet, "/v1/stats", "", "");
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(sim.stats().authorized, static_cast<std::uint64_t>(kPerThread));
  EXPECT_EQ(replays.load(), (kThreads - 1) * kPerThread);
}

TEST(SimulatorGarbageTest, ArbitraryBodiesGetJsonAnswers) {
  Simulator sim({}, Simulator::SeededUniform(1));
  const std::string bodies[] = {
      std::string("\0\xff\xfe", 3), "{\"amount\":\"\xff\"}", std::string(10000, '['),
      "{\"payment_method\":\"\xc3\x28\",\"amount\":1,\"currency\":\"usd\"}", "null", "1e999",
  };
  int n = 0;
  for (const std::string& body : bodies) {
    for (const char* path :
         {"/v1/payment_intents", "/v1/refunds", "/v1/payment_intents/pi_1/capture"}) {
      SimResponse r = sim.Handle(Method::kPost, path, "g" + std::to_string(n++), body);
      EXPECT_GE(r.status, 400);
      EXPECT_LT(r.status, 500);
      EXPECT_TRUE(json::parse(r.body, nullptr, false).is_object()) << r.body;
    }
  }
}

TEST(IdempotencyCacheTest, EvictsInInsertionOrder) {
  IdempotencyCache cache(2);
  cache.Insert("a", {1, 200, "A"});
  cache.Insert("b", {2, 402, "B"});
  ASSERT_NE(cache.Find("a"), nullptr);
  cache.Insert("c", {3, 200, "C"});
  EXPECT_EQ(cache.Find("a"), nullptr);
  ASSERT_NE(cache.Find("b"), nullptr);
  EXPECT_EQ(cache.Find("b")->status, 402);
  EXPECT_EQ(cache.Find("c")->body, "C");
  EXPECT_EQ(cache.size(), 2u);
}

}  // namespace
}  // namespace keel::paymentsim
