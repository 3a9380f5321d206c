#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "keel/ordercheck/check.h"

namespace keel::ordercheck {
namespace {

using ::testing::HasSubstr;

// A settled, correct run: one confirmed order of 2 x A, one cancelled out of
// stock, every message published and applied.
Snapshot Healthy() {
  Snapshot s;
  s.now_ms = 100'000;
  s.orders = {{"ord_1", "CONFIRMED", "done", "USD", "pi_1", 1000, std::nullopt, 1000},
              {"ord_2", "CANCELLED", "done", "USD", "", 500, std::nullopt, 2000, "out_of_stock"}};
  s.history = {{"ord_1", "PENDING", 1000}, {"ord_1", "RESERVED", 1010}, {"ord_1", "PAID", 1020},
               {"ord_1", "CONFIRMED", 1030}, {"ord_2", "PENDING", 2000}, {"ord_2", "CANCELLED", 2010}};
  s.stock = {{"A", 8, 0}};
  s.reservations = {{"ord_1", "COMMITTED"}, {"ord_2", "REJECTED"}};
  s.payments = {{"ord_1", "CAPTURED", "pi_1", "USD", 1000}};
  s.messages = {{"orders-1", "saga.inventory.reserve", true},
                {"orders-2", "saga.events.order.created", true},
                {"inventory-1", "saga.orders.inventory.reserved", true},
                {"payments-1", "saga.orders.payment.authorized", true}};
  s.applied = {{"inventory", {"orders-1"}}, {"orders", {"inventory-1", "payments-1"}}};
  return s;
}

const Invariant& Find(const Report& r, const std::string& name) {
  for (const Invariant& i : r.invariants) {
    if (i.name == name) return i;
  }
  static Invariant none;
  ADD_FAILURE() << "no invariant " << name;
  return none;
}

// Evaluates and expects exactly `name` to be violated, with `what` in an example.
void ExpectOnly(const Snapshot& s, const std::string& name, const std::string& what, Options o = {}) {
  const Report r = Evaluate(s, o);
  EXPECT_FALSE(r.ok());
  for (const Invariant& i : r.invariants) {
    if (i.name == name) {
      EXPECT_GT(i.violations, 0u) << name;
      ASSERT_FALSE(i.examples.empty());
      std::string all;
      for (const auto& e : i.examples) all += e + "\n";
      EXPECT_THAT(all, HasSubstr(what));
    } else {
      EXPECT_EQ(i.violations, 0u) << i.name << ": " << (i.examples.empty() ? "" : i.examples[0]);
    }
  }
}

TEST(OrdercheckTest, HealthyRunHoldsEveryInvariant) {
  const Report r = Evaluate(Healthy(), {});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.invariants.size(), 8u);
  EXPECT_EQ(r.captured_cents, 1000);
  EXPECT_EQ(r.confirmed_cents, 1000);
  EXPECT_EQ(r.orders_by_status.at("CONFIRMED"), 1u);
  EXPECT_EQ(r.messages, 4u);
  EXPECT_EQ(r.cancelled_by_reason.at("out_of_stock"), 1u);
}

TEST(OrdercheckTest, OversoldOrDriftedStock) {
  Snapshot s = Healthy();
  s.orders.push_back({"ord_3", "PENDING", "reserving", "USD", "", 100, 200'000, 99'000});
  s.history.push_back({"ord_3", "PENDING", 99'000});
  s.reservations.push_back({"ord_3", "HELD"});
  s.held["A"] = 9;  // more than on hand
  s.stock[0].reserved = 9;
  s.orders.back().status = "RESERVED";
  const Report r = Evaluate(s, {});
  EXPECT_GT(Find(r, "stock").violations, 0u);
  EXPECT_THAT(Find(r, "stock").examples[0], HasSubstr("on_hand 8 < held 9"));

  Snapshot drift = Healthy();
  drift.stock[0].reserved = 2;  // counter without HELD rows
  ExpectOnly(drift, "stock", "reserved 2 but HELD reservations hold 0");
  Snapshot ghost = Healthy();
  ghost.held["Z"] = 1;
  ExpectOnly(ghost, "stock", "sku Z: 1 held of a SKU with no stock row");
}

TEST(OrdercheckTest, OpenOrdersAndLateSteps) {
  Snapshot s = Healthy();
  s.orders.push_back({"ord_3", "RESERVED", "capturing", "USD", "", 100, 99'000, 90'000});
  s.history.push_back({"ord_3", "PENDING", 90'000});
  s.history.push_back({"ord_3", "RESERVED", 90'010});
  s.reservations.push_back({"ord_3", "HELD"});
  s.held["A"] = 1;
  s.stock[0].reserved = 1;
  // Within deadline + grace: open, not late.
  ExpectOnly(s, "settled", "ord_3: still RESERVED/capturing");
  // 6 s past its deadline with 5 s of grace: late too.
  s.now_ms = 105'000;
  Report r = Evaluate(s, {});
  EXPECT_THAT(Find(r, "deadlines").examples.at(0), HasSubstr("ord_3: RESERVED/capturing 6000 ms past its deadline"));

  Snapshot slow = Healthy();
  slow.history[2].at_ms = 1010 + 40'000;  // RESERVED -> PAID took 40 s
  slow.history[3].at_ms = 1010 + 40'010;
  ExpectOnly(slow, "deadlines", "ord_1: RESERVED -> PAID took 40000 ms");
  // A late compensation after the cancel is not a step.
  Snapshot after = Healthy();
  after.history.insert(after.history.begin() + 6, {"ord_2", "CANCELLED", 80'000});
  EXPECT_TRUE(Evaluate(after, {}).ok());
  // A longer step_timeout accepts the slow step.
  Options lenient;
  lenient.step_timeout = std::chrono::seconds(60);
  EXPECT_TRUE(Evaluate(slow, lenient).ok());
}

TEST(OrdercheckTest, DoubleCaptureAndMismatchedPayment) {
  Snapshot s = Healthy();
  s.orders.push_back({"ord_3", "CANCELLED", "done", "USD", "", 1000, std::nullopt, 3000});
  s.history.push_back({"ord_3", "CANCELLED", 3000});
  s.payments.push_back({"ord_3", "REFUNDED", "pi_1", "USD", 1000});  // the same provider payment
  ExpectOnly(s, "captures", "provider payment pi_1 captured for ord_1 and ord_3");
  Snapshot other = Healthy();
  other.orders[0].payment_id = "pi_9";
  ExpectOnly(other, "captures", "ord_1: confirmed with payment pi_9 but pi_1 was captured");
}

TEST(OrdercheckTest, RevenueMustMatchConfirmedOrders) {
  Snapshot uncaptured = Healthy();
  uncaptured.payments[0].status = "AUTHORIZED";
  Report r = Evaluate(uncaptured, {});
  EXPECT_THAT(Find(r, "revenue").examples.at(0), HasSubstr("ord_1: CONFIRMED, payment AUTHORIZED"));
  EXPECT_THAT(Find(r, "revenue").examples.at(1), HasSubstr("sum captured 0 != sum confirmed 1000"));
  Snapshot amount = Healthy();
  amount.payments[0].amount_cents = 999;
  ExpectOnly(amount, "revenue", "CONFIRMED for 1000 USD, captured 999 USD");
  Snapshot orphan = Healthy();
  orphan.payments.push_back({"ord_x", "CAPTURED", "pi_7", "USD", 5});
  ExpectOnly(orphan, "revenue", "ord_x: captured 5 USD for no order");
}

TEST(OrdercheckTest, RefundsOnlyForCancelledAndNoLivePaymentAfterCancel) {
  Snapshot s = Healthy();
  s.payments.push_back({"ord_2", "AUTHORIZED", "pi_2", "USD", 500});
  ExpectOnly(s, "refunds", "ord_2: CANCELLED, payment still AUTHORIZED");
  Snapshot refunded = Healthy();
  refunded.payments[0].status = "REFUNDED";
  Report r = Evaluate(refunded, {});
  EXPECT_THAT(Find(r, "refunds").examples.at(0), HasSubstr("ord_1: refunded, order CONFIRMED"));
  EXPECT_GT(Find(r, "revenue").violations, 0u);  // and the confirmed order is not captured
}

TEST(OrdercheckTest, ReservationsFollowTheOrder) {
  Snapshot s = Healthy();
  s.reservations[0].status = "RELEASED";
  ExpectOnly(s, "reservations", "ord_1: CONFIRMED, reservation RELEASED");
  Snapshot held = Healthy();
  held.reservations[1].status = "HELD";
  held.held["A"] = 1;
  held.stock[0].reserved = 1;
  ExpectOnly(held, "reservations", "ord_2: CANCELLED, reservation still HELD");
  Snapshot orphan = Healthy();
  orphan.reservations.push_back({"ord_9", "RELEASED"});
  ExpectOnly(orphan, "reservations", "ord_9: reservation RELEASED for no order");
}

TEST(OrdercheckTest, EveryMessagePublishedAndApplied) {
  Snapshot s = Healthy();
  s.messages.push_back({"orders-3", "saga.payments.capture", true});
  ExpectOnly(s, "messages", "orders-3 (saga.payments.capture): not applied by payments");
  Snapshot unpublished = Healthy();
  unpublished.messages[1].published = false;
  ExpectOnly(unpublished, "messages", "orders-2 (saga.events.order.created): not published");
  // Domain events have no consumer to apply them.
  EXPECT_EQ(ConsumerOf("saga.events.order.created"), "");
  EXPECT_EQ(ConsumerOf("saga.orders.payment.voided"), "orders");
  EXPECT_EQ(ConsumerOf("saga.inventory.commit"), "inventory");
}

TEST(OrdercheckTest, ExamplesAreBoundedButEveryViolationCounted) {
  Snapshot s = Healthy();
  for (int i = 0; i < 50; ++i) s.messages.push_back({"orders-x" + std::to_string(i), "saga.inventory.release", true});
  Options o;
  o.max_examples = 3;
  const Report r = Evaluate(s, o);
  EXPECT_EQ(Find(r, "messages").violations, 50u);
  EXPECT_EQ(Find(r, "messages").examples.size(), 3u);
  EXPECT_EQ(r.violations(), 50u);
}

}  // namespace
}  // namespace keel::ordercheck
