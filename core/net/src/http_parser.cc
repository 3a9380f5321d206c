#include "keel/net/http_parser.h"

#include <strings.h>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
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
                     beast::error_code&) override {
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
  void on_header_impl(beast::error_code&) override {
    owner_->keep_alive_ = keep_alive();
    owner_->chunked_ = chunked();
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
};

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
  while (*fed < size && !impl_->is_done()) {
    beast::error_code ec;
    std::size_t n = impl_->put(boost::asio::const_buffer(msg + *fed, size - *fed), ec);
    *fed += n;
    if (ec == http::error::need_more) return ParseResult::kNeedMore;
    if (ec) {
      if (ec == http::error::header_limit) {
        error_status_ = 431;
        error_message_ = "request header exceeds " + std::to_string(limits_.max_header_bytes) + " bytes";
      } else if (ec == http::error::body_limit) {
        error_status_ = 413;
        error_message_ = "request body exceeds " + std::to_string(limits_.max_body_bytes) + " bytes";
      } else if (ec == http::error::bad_version && version_ / 10 != 1 && method_.size > 0) {
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
