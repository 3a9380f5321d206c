// The invariants, judged on a snapshot: no database here, so every rule is
// unit-tested with hand-made snapshots (test/evaluate_test.cc).
#include <unordered_map>
#include <unordered_set>

#include "keel/ordercheck/check.h"

namespace keel::ordercheck {
namespace {

bool Terminal(const std::string& status) { return status == "CONFIRMED" || status == "CANCELLED"; }

std::int64_t Ms(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

class Judge {
 public:
  Judge(Report* report, std::size_t max_examples) : report_(report), max_(max_examples) {}
  Invariant& Start(std::string name, std::string meaning) {
    report_->invariants.push_back({std::move(name), std::move(meaning), 0, {}});
    return report_->invariants.back();
  }
  void Violation(std::string what) {
    Invariant& inv = report_->invariants.back();
    ++inv.violations;
    if (inv.examples.size() < max_) inv.examples.push_back(std::move(what));
  }

 private:
  Report* report_;
  std::size_t max_;
};

std::string Money(std::int64_t cents, const std::string& currency) {
  return std::to_string(cents) + " " + currency;
}

}  // namespace

std::string ConsumerOf(const std::string& subject) {
  for (const char* schema : {"inventory", "payments", "orders"}) {
    const std::string prefix = std::string("saga.") + schema + ".";
    if (subject.compare(0, prefix.size(), prefix) == 0) return schema;
  }
  return "";
}

bool Report::ok() const { return violations() == 0; }

std::uint64_t Report::violations() const {
  std::uint64_t n = 0;
  for (const Invariant& i : invariants) n += i.violations;
  return n;
}

Report Evaluate(const Snapshot& s, const Options& options) {
  Report report;
  Judge judge(&report, options.max_examples);
  std::unordered_map<std::string, const Order*> orders;
  for (const Order& o : s.orders) {
    orders[o.id] = &o;
    ++report.orders_by_status[o.status];
    if (o.status == "CANCELLED") ++report.cancelled_by_reason[o.reason];
  }
  std::unordered_map<std::string, const Payment*> payments;
  for (const Payment& p : s.payments) payments[p.order_id] = &p;
  std::unordered_map<std::string, const Reservation*> reservations;
  for (const Reservation& r : s.reservations) reservations[r.order_id] = &r;
  report.skus = s.stock.size();
  report.messages = s.messages.size();

  judge.Start("stock", "on_hand - HELD reservations >= 0 and reserved = HELD, for every SKU");
  std::unordered_set<std::string> stocked;
  for (const Stock& st : s.stock) {
    stocked.insert(st.sku);
    auto it = s.held.find(st.sku);
    const std::int64_t held = it == s.held.end() ? 0 : it->second;
    if (st.on_hand - held < 0) {
      judge.Violation("sku " + st.sku + ": on_hand " + std::to_string(st.on_hand) + " < held " + std::to_string(held));
    }
    if (st.reserved != held) {
      judge.Violation("sku " + st.sku + ": reserved " + std::to_string(st.reserved) + " but HELD reservations hold " +
                      std::to_string(held));
    }
    if (st.on_hand < 0 || st.reserved < 0) judge.Violation("sku " + st.sku + ": negative stock");
  }
  for (const auto& [sku, qty] : s.held) {
    if (!stocked.count(sku)) judge.Violation("sku " + sku + ": " + std::to_string(qty) + " held of a SKU with no stock row");
  }

  judge.Start("settled", "every order CONFIRMED or CANCELLED");
  for (const Order& o : s.orders) {
    if (!Terminal(o.status)) judge.Violation(o.id + ": still " + o.status + "/" + o.step);
  }

  judge.Start("deadlines", "no open order past its step deadline, no step longer than step_timeout (+ grace)");
  const std::int64_t grace = Ms(options.grace);
  const std::int64_t step_limit = Ms(options.step_timeout) + grace;
  for (const Order& o : s.orders) {
    if (!Terminal(o.status) && o.step_deadline_ms && s.now_ms > *o.step_deadline_ms + grace) {
      judge.Violation(o.id + ": " + o.status + "/" + o.step + " " + std::to_string(s.now_ms - *o.step_deadline_ms) +
                      " ms past its deadline");
    }
  }
  // Moves of one order are consecutive in history; a step is the time from
  // one move to the next, up to the first terminal one (compensation replies
  // may still be recorded after it).
  for (std::size_t i = 0; i < s.history.size(); ++i) {
    const Move& m = s.history[i];
    if (i == 0 || s.history[i - 1].order_id != m.order_id) continue;
    const Move& prev = s.history[i - 1];
    bool settled_before = false;
    for (std::size_t j = i; j-- > 0 && s.history[j].order_id == m.order_id;) settled_before |= Terminal(s.history[j].status);
    if (settled_before) continue;
    if (m.at_ms - prev.at_ms > step_limit) {
      judge.Violation(m.order_id + ": " + prev.status + " -> " + m.status + " took " +
                      std::to_string(m.at_ms - prev.at_ms) + " ms");
    }
  }

  judge.Start("captures", "no payment captured twice: one order per provider payment, the confirmed one captured");
  std::unordered_map<std::string, std::string> by_provider;
  for (const Payment& p : s.payments) {
    if (p.provider_id.empty() || (p.status != "CAPTURED" && p.status != "REFUNDED")) continue;
    auto [it, fresh] = by_provider.emplace(p.provider_id, p.order_id);
    if (!fresh) judge.Violation("provider payment " + p.provider_id + " captured for " + it->second + " and " + p.order_id);
  }
  for (const Order& o : s.orders) {
    if (o.status != "CONFIRMED") continue;
    auto it = payments.find(o.id);
    if (it != payments.end() && it->second->status == "CAPTURED" && o.payment_id != it->second->provider_id) {
      judge.Violation(o.id + ": confirmed with payment " + o.payment_id + " but " + it->second->provider_id +
                      " was captured");
    }
  }

  judge.Start("revenue", "CONFIRMED <=> CAPTURED with the same amount: sum(captured) = sum(confirmed)");
  for (const Order& o : s.orders) {
    if (o.status == "CONFIRMED") report.confirmed_cents += o.amount_cents;
    auto it = payments.find(o.id);
    const Payment* p = it == payments.end() ? nullptr : it->second;
    if (o.status == "CONFIRMED") {
      if (!p || p->status != "CAPTURED") {
        judge.Violation(o.id + ": CONFIRMED, payment " + (p ? p->status : std::string("missing")));
      } else if (p->amount_cents != o.amount_cents || p->currency != o.currency) {
        judge.Violation(o.id + ": CONFIRMED for " + Money(o.amount_cents, o.currency) + ", captured " +
                        Money(p->amount_cents, p->currency));
      }
    }
  }
  for (const Payment& p : s.payments) {
    if (p.status != "CAPTURED") continue;
    report.captured_cents += p.amount_cents;
    auto it = orders.find(p.order_id);
    if (it == orders.end()) {
      judge.Violation(p.order_id + ": captured " + Money(p.amount_cents, p.currency) + " for no order");
    } else if (it->second->status != "CONFIRMED") {
      judge.Violation(p.order_id + ": captured " + Money(p.amount_cents, p.currency) + ", order " + it->second->status);
    }
  }
  if (report.captured_cents != report.confirmed_cents) {
    judge.Violation("sum captured " + std::to_string(report.captured_cents) + " != sum confirmed " +
                    std::to_string(report.confirmed_cents));
  }

  judge.Start("refunds", "refunds only for cancelled orders; no cancelled order keeps a live payment");
  for (const Payment& p : s.payments) {
    auto it = orders.find(p.order_id);
    const std::string status = it == orders.end() ? "missing" : it->second->status;
    if (p.status == "REFUNDED" && status != "CANCELLED") judge.Violation(p.order_id + ": refunded, order " + status);
    if (status == "CANCELLED" && (p.status == "AUTHORIZED" || p.status == "CAPTURED")) {
      judge.Violation(p.order_id + ": CANCELLED, payment still " + p.status);
    }
  }

  judge.Start("reservations", "CONFIRMED <=> COMMITTED; HELD only for open orders; no reservation without an order");
  for (const Order& o : s.orders) {
    auto it = reservations.find(o.id);
    const std::string status = it == reservations.end() ? "missing" : it->second->status;
    if (o.status == "CONFIRMED" && status != "COMMITTED") judge.Violation(o.id + ": CONFIRMED, reservation " + status);
    if (o.status == "CANCELLED" && (status == "HELD" || status == "COMMITTED")) {
      judge.Violation(o.id + ": CANCELLED, reservation still " + status);
    }
  }
  for (const Reservation& r : s.reservations) {
    auto it = orders.find(r.order_id);
    if (it == orders.end()) {
      judge.Violation(r.order_id + ": reservation " + r.status + " for no order");
    } else if (r.status == "COMMITTED" && it->second->status != "CONFIRMED") {
      judge.Violation(r.order_id + ": COMMITTED, order " + it->second->status);
    }
  }

  judge.Start("messages", "every outbox row published; every command and reply applied by its consumer");
  for (const Message& m : s.messages) {
    if (!m.published) judge.Violation(m.event_id + " (" + m.subject + "): not published");
    const std::string consumer = ConsumerOf(m.subject);
    if (consumer.empty() || !m.published) continue;
    auto it = s.applied.find(consumer);
    if (it == s.applied.end() || !it->second.count(m.event_id)) {
      judge.Violation(m.event_id + " (" + m.subject + "): not applied by " + consumer);
    }
  }
  return report;
}

}  // namespace keel::ordercheck
