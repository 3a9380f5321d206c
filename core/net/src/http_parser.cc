#include "keel/net/http_parser.h"

#include <strings.h>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <algorithm>
#include <new>

namespace keel::net {

namespace beast = boost::beast;
namespace http = boost::beast::http;

// The Beast parser for one message; rebuilt for each message because Beast's
// parser cannot be reset.
class RequestParser::Impl final : public http::basic_parser<true> {
 public:
  explicit Impl(RequestParser* owner) : owner_(owner) {
    header_limit(static_cast<std::uint32_t>(owner->limits_.max_header_bytes));
    body_limit(owner->limits_.max_body_bytes);
    eager(true);
  }

  const char* msg = nullptr;
  const char* end = nullptr;  // end of the bytes available from msg

 private:
  Span Locate(beast::string_view s) const {
    return Span{static_cast<std::uint32_t>(s.data() - msg), static_cast<std::uint32_t>(s.size())};
  }

  void on_request_impl(http::verb, beast::string_view method, beast::string_view target,
                       int version, beast::error_code& ec) override {
    owner_->method_ = Locate(method);
    owner_->target_ = Locate(target);
    owner_->version_ = version;
    if (version / 10 != 1) ec = http::error::bad_version;
  }
  void on_response_impl(int, beast::string_view, int, beast::error_code&) override {}
  void on_field_impl(http::field name, beast::string_view name_string, beast::string_view value,
                     beast::error_code& ec) override {
    // Trailer fields of a chunked body are not merged into the header (RFC 9110 §6.5.1).
    if (is_header_done()) return;
    // Beast unfolds obsolete line folding into a buffer of its own; the value
    // then has no offset in the message. RFC 9112 §5.2 allows rejecting it.
    if (value.data() < msg || value.data() + value.size() > end) {
      ec = http::error::bad_value;
      return;
    }
    if (name == http::field::host) ++hosts_;
    if (name == http::field::transfer_encoding) {
      ++transfer_encodings_;
      only_chunked_ = value.size() == 7 && strncasecmp(value.data(), "chunked", 7) == 0;
    }
    if (name == http::field::expect && value.size() == 12 &&
        strncasecmp(value.data(), "100-continue", 12) == 0) {
      owner_->expect_continue_ = true;
    }
    if (name_string.size() == 11 && strncasecmp(name_string.data(), "traceparent", 11) == 0 &&
        owner_->traceparent_index_ < 0) {
      owner_->traceparent_index_ = static_cast<int>(owner_->fields_.size());
    }
    owner_->fields_.emplace_back(Locate(name_string), Locate(value));
  }
  void on_header_impl(beast::error_code& ec) override {
    owner_->keep_alive_ = keep_alive();
    owner_->chunked_ = chunked();
    // RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host.
    if (hosts_ > 1 || (owner_->version_ == 11 && hosts_ == 0)) {
      Reject(ec, 400, hosts_ > 1 ? "more than one Host header" : "missing Host header");
    }
    // RFC 9112 §6.3: a request whose framing we cannot read must not be
    // guessed at, or the next "request" is attacker-chosen body bytes.
    if (transfer_encodings_ > 0 && !(transfer_encodings_ == 1 && only_chunked_)) {
      if (chunked()) Reject(ec, 501, "transfer coding not supported (only chunked)");
      else Reject(ec, 400, "Transfer-Encoding must end with chunked");
    }
  }
  void Reject(beast::error_code& ec, int status, const char* why) {
    owner_->error_status_ = status;
    owner_->error_message_ = why;
    ec = http::error::bad_value;
  }
  void on_body_init_impl(boost::optional<std::uint64_t> const&, beast::error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, beast::error_code&) override {
    // Content-Length bodies arrive in order and contiguous in the buffer.
    if (owner_->body_.size == 0) owner_->body_.offset = Locate(body).offset;
    owner_->body_.size += static_cast<std::uint32_t>(body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                                 beast::error_code&) override {
    owner_->chunked_body_.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(beast::error_code&) override {}

  RequestParser* owner_;
  int hosts_ = 0;
  int transfer_encodings_ = 0;
  bool only_chunked_ = false;
};

namespace {

// Beast rejects a version other than 1.0 and 1.1 as bad_version before it
// reports the request line; tell a well-formed one ("HTTP/2.0": 505) from a
// malformed one (400) by the last word of the request line.
bool IsUnsupportedVersion(const char* msg, std::size_t size) {
  std::string_view line(msg, size);
  line = line.substr(0, line.find_first_of("\r\n"));
  std::string_view v = line.substr(line.rfind(' ') + 1);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (line.find(' ') == std::string_view::npos || v.size() != 8 || v.substr(0, 5) != "HTTP/" ||
      !digit(v[5]) || v[6] != '.' || !digit(v[7])) {
    return false;
  }
  return v != "HTTP/1.0" && v != "HTTP/1.1";  // those failed for another reason
}

}  // namespace

void RequestParser::ConstructImpl() {
  static_assert(sizeof(Impl) <= sizeof(impl_storage_), "grow RequestParser::impl_storage_");
  impl_ = new (impl_storage_) Impl(this);
}
void RequestParser::DestroyImpl() { impl_->~Impl(); }

RequestParser::RequestParser(ParserLimits limits) : limits_(limits) {
  ConstructImpl();
  fields_.reserve(32);
}

RequestParser::~RequestParser() { DestroyImpl(); }

void RequestParser::Reset() {
  DestroyImpl();
  ConstructImpl();
  method_ = target_ = body_ = Span{};
  version_ = 11;
  keep_alive_ = true;
  expect_continue_ = false;
  fields_.clear();
  traceparent_index_ = -1;
  chunked_ = false;
  if (chunked_body_.capacity() > 64 * 1024) std::string().swap(chunked_body_);
  chunked_body_.clear();
  error_status_ = 0;
  error_message_.clear();
}

bool RequestParser::header_done() const { return impl_->is_header_done(); }

ParseResult RequestParser::Feed(const char* msg, std::size_t size, std::size_t* fed) {
  impl_->msg = msg;
  impl_->end = msg + size;
  while (*fed < size && !impl_->is_done()) {
    // Beast applies its header limit to the request line and to the fields
    // separately; showing it at most max_header_bytes from the message start
    // bounds the whole header.
    std::size_t avail = size;
    if (!impl_->is_header_done()) avail = std::min(size, limits_.max_header_bytes);
    beast::error_code ec = http::error::need_more;
    std::size_t n = 0;
    if (*fed < avail) n = impl_->put(boost::asio::const_buffer(msg + *fed, avail - *fed), ec);
    *fed += n;
    if (ec == http::error::need_more) {
      // The header ended inside the bounded view: go on with all the bytes.
      if (impl_->is_header_done() && avail < size) continue;
      if (impl_->is_header_done() || size < limits_.max_header_bytes) return ParseResult::kNeedMore;
      ec = http::error::header_limit;
    }
    if (ec) {
      if (error_status_ != 0) {
        // Rejected by our own checks, which set the status and reason.
      } else if (ec == http::error::header_limit) {
        error_status_ = 431;
        error_message_ = "request header exceeds " + std::to_string(limits_.max_header_bytes) + " bytes";
      } else if (ec == http::error::body_limit) {
        error_status_ = 413;
        error_message_ = "request body exceeds " + std::to_string(limits_.max_body_bytes) + " bytes";
      } else if (ec == http::error::bad_version && IsUnsupportedVersion(msg, size)) {
        error_status_ = 505;
        error_message_ = "only HTTP/1.0 and HTTP/1.1 are supported";
      } else {
        error_status_ = 400;
        error_message_ = "malformed request: " + ec.message();
      }
      return ParseResult::kError;
    }
    if (n == 0) break;
  }
  return impl_->is_done() ? ParseResult::kComplete : ParseResult::kNeedMore;
}

void RequestParser::Fill(const char* msg, Request* req, std::vector<Header>* headers) const {
  headers->clear();
  for (const auto& [name, value] : fields_) headers->emplace_back(name.in(msg), value.in(msg));
  req->method_name = method_.in(msg);
  req->method = ParseMethod(req->method_name);
  req->target = target_.in(msg);
  auto q = req->target.find('?');
  req->path = req->target.substr(0, q);
  req->query = q == std::string_view::npos ? std::string_view() : req->target.substr(q + 1);
  req->version = version_;
  req->keep_alive = keep_alive_;
  req->headers = headers;
  req->body = chunked_ ? std::string_view(chunked_body_) : body_.in(msg);
}

std::string_view RequestParser::traceparent(const char* msg) const {
  if (traceparent_index_ < 0) return {};
  return fields_[static_cast<std::size_t>(traceparent_index_)].second.in(msg);
}

}  // namespace keel::net
