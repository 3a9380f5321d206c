// The orders saga's wire contract: the JetStream streams and the subjects
// the orders, inventory and payments services exchange. Every message is a
// CloudEvents 1.0 JSON document (published by keel::outbox::Relay) whose
// `type` is the subject's last two words ("inventory.reserved") and whose
// `subject` is the order id. docs/orders.md has the event catalogue.
//
// Commands flow from the orchestrator (orders) to the participants:
//   saga.inventory.{reserve,release,commit}
//   saga.payments.{authorize,capture,void,refund}
// replies flow back to it:
//   saga.orders.inventory.{reserved,rejected,expired,released,committed,commit_failed}
//   saga.orders.payment.{authorized,declined,captured,capture_failed,voided,refunded}
// and the orders' own domain events go out for anyone else:
//   saga.events.order.{created,confirmed,cancelled}
// Dead letters: stream SAGA_DLQ, subjects dlq.<consumer>.
#pragma once

#include "keel/base/status.h"
#include "keel/nats/nats.h"

namespace keel::saga {

inline constexpr const char* kStream = "SAGA";
inline constexpr const char* kDlqStream = "SAGA_DLQ";
inline constexpr const char* kDlqPrefix = "dlq.";

inline constexpr const char* kInventoryCommands = "saga.inventory.>";
inline constexpr const char* kPaymentsCommands = "saga.payments.>";
inline constexpr const char* kOrdersReplies = "saga.orders.>";

inline constexpr const char* kReserve = "saga.inventory.reserve";
inline constexpr const char* kRelease = "saga.inventory.release";
inline constexpr const char* kCommit = "saga.inventory.commit";
inline constexpr const char* kAuthorize = "saga.payments.authorize";
inline constexpr const char* kCapture = "saga.payments.capture";
inline constexpr const char* kVoid = "saga.payments.void";
inline constexpr const char* kRefund = "saga.payments.refund";

// A reply subject: "saga.orders." + "inventory.reserved".
inline std::string ReplySubject(std::string_view type) { return "saga.orders." + std::string(type); }
// A domain event subject: "saga.events." + "order.confirmed".
inline std::string EventSubject(std::string_view type) { return "saga.events." + std::string(type); }

// Creates (or updates) both streams; every service calls it at start.
inline Status EnsureStreams(nats::Client& nats) {
  if (Status s = nats.EnsureStream({.name = kStream, .subjects = {"saga.>"}}); !s.ok()) return s;
  return nats.EnsureStream({.name = kDlqStream, .subjects = {"dlq.>"}});
}

}  // namespace keel::saga
