#include "keel/net/http_parser.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace keel::net {
namespace {

// Feeds `raw` in one call; *fed is the bytes consumed.
ParseResult FeedWhole(RequestParser& parser, std::string_view raw, std::size_t* fed) {
  *fed = 0;
  return parser.Feed(raw.data(), raw.size(), fed);
}

// Feeds one more byte per call, each time from a fresh heap copy of the bytes
// received so far (the old copy is freed), as a connection does when it
// compacts or grows its buffer. Returns the first result that is not
// kNeedMore, or kNeedMore; *stop is the prefix length that produced it.
ParseResult FeedByteByByteRelocating(RequestParser& parser, std::string_view raw,
                                     std::unique_ptr<char[]>* buf, std::size_t* stop) {
  std::size_t fed = 0;
  for (std::size_t n = 1; n <= raw.size(); ++n) {
    auto moved = std::make_unique<char[]>(raw.size());
    std::memcpy(moved.get(), raw.data(), n);
    *buf = std::move(moved);  // frees the previous location
    ParseResult r = parser.Feed(buf->get(), n, &fed);
    *stop = n;
    if (r != ParseResult::kNeedMore) return r;
  }
  return ParseResult::kNeedMore;
}

bool Within(std::string_view view, const char* begin, std::size_t size) {
  return view.empty() || (view.data() >= begin && view.data() + view.size() <= begin + size);
}

struct ValidCase {
  std::string name;
  std::string raw;
  Method method;
  std::string_view method_name, target, path, query;
  int version;
  bool keep_alive;
  std::string_view body;
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // looked up by name
};

std::vector<ValidCase> ValidCases() {
  return {
      {"SimpleGet", "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", Method::kGet, "GET", "/hello",
       "/hello", "", 11, true, "", {{"Host", "x"}}},
      {"HeadersCaseInsensitive",
       "GET / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nX-Custom-ID:  abc \r\n\r\n", Method::kGet,
       "GET", "/", "/", "", 11, true, "",
       {{"content-type", "text/plain"}, {"CONTENT-TYPE", "text/plain"}, {"x-custom-id", "abc"},
        {"absent", ""}}},
      {"QuerySplit", "GET /search?q=a&b=c HTTP/1.1\r\nHost: x\r\n\r\n", Method::kGet, "GET",
       "/search?q=a&b=c", "/search", "q=a&b=c", 11, true, "", {}},
      {"EmptyQuery", "GET /x? HTTP/1.1\r\nHost: x\r\n\r\n", Method::kGet, "GET", "/x?", "/x", "", 11, true,
       "", {}},
      {"ContentLengthBody",
       "POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world", Method::kPost, "POST",
       "/items", "/items", "", 11, true, "hello world", {{"content-length", "11"}}},
      {"ChunkedBodyDecoded",
       "PUT /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
       Method::kPut, "PUT", "/u", "/u", "", 11, true, "hello world", {}},
      {"ChunkedTrailerNotMergedIntoHeaders",
       "POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n",
       Method::kPost, "POST", "/t", "/t", "", 11, true, "abc", {{"x-trailer", ""}}},
      {"UnknownMethodIsOther", "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", Method::kOther, "BREW", "/pot",
       "/pot", "", 11, true, "", {}},
      {"Http10ClosesByDefault", "GET / HTTP/1.0\r\n\r\n", Method::kGet, "GET", "/", "/", "", 10,
       false, "", {}},
      {"Http10KeepAliveOnRequest", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
       Method::kGet, "GET", "/", "/", "", 10, true, "", {}},
      {"Http11ConnectionClose", "DELETE /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
       Method::kDelete, "DELETE", "/d", "/d", "", 11, false, "", {}},
  };
}

void ExpectRequest(const ValidCase& c, RequestParser& parser, const char* msg, std::size_t size) {
  Request req;
  std::vector<Header> headers;
  parser.Fill(msg, &req, &headers);
  EXPECT_EQ(req.method, c.method);
  EXPECT_EQ(req.method_name, c.method_name);
  EXPECT_EQ(req.target, c.target);
  EXPECT_EQ(req.path, c.path);
  EXPECT_EQ(req.query, c.query);
  EXPECT_EQ(req.version, c.version);
  EXPECT_EQ(req.keep_alive, c.keep_alive);
  EXPECT_EQ(req.body, c.body);
  EXPECT_EQ(req.headers, &headers);
  for (const auto& [name, value] : c.headers) EXPECT_EQ(req.header(name), value) << name;
  // Views point into this message (or the parser's decoded chunked body).
  EXPECT_TRUE(Within(req.target, msg, size));
  for (const auto& [name, value] : headers) {
    EXPECT_TRUE(Within(name, msg, size)) << name;
    EXPECT_TRUE(Within(value, msg, size)) << name;
  }
}

TEST(RequestParserTest, ParsesCompleteRequestsInOneFeed) {
  for (const ValidCase& c : ValidCases()) {
    SCOPED_TRACE(c.name);
    RequestParser parser(ParserLimits{});
    std::size_t fed = 0;
    ASSERT_EQ(FeedWhole(parser, c.raw, &fed), ParseResult::kComplete);
    EXPECT_EQ(fed, c.raw.size());
    EXPECT_TRUE(parser.header_done());
    ExpectRequest(c, parser, c.raw.data(), c.raw.size());
  }
}

TEST(RequestParserTest, NeedsMoreUntilLastByteWhenFedByteByByteFromMovingBuffer) {
  for (const ValidCase& c : ValidCases()) {
    SCOPED_TRACE(c.name);
    RequestParser parser(ParserLimits{});
    std::unique_ptr<char[]> buf;
    std::size_t stop = 0;
    ASSERT_EQ(FeedByteByByteRelocating(parser, c.raw, &buf, &stop), ParseResult::kComplete);
    EXPECT_EQ(stop, c.raw.size());
    ExpectRequest(c, parser, buf.get(), c.raw.size());
  }
}

TEST(RequestParserTest, FillGivesViewsIntoTheBufferTheMessageWasMovedTo) {
  const std::string raw =
      "POST /move?x=1 HTTP/1.1\r\nHost: h\r\ntraceparent: "
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nContent-Length: 4\r\n\r\nbody";
  const std::size_t split = raw.find("Content-Length");  // mid-header
  RequestParser parser(ParserLimits{});
  std::size_t fed = 0;
  {
    std::string first(raw, 0, split);
    ASSERT_EQ(parser.Feed(first.data(), first.size(), &fed), ParseResult::kNeedMore);
    first.assign(first.size(), '#');  // the old location no longer holds the message
  }
  std::string moved = "padding" + raw;
  const char* msg = moved.data() + 7;
  ASSERT_EQ(parser.Feed(msg, raw.size(), &fed), ParseResult::kComplete);
  EXPECT_EQ(fed, raw.size());

  Request req;
  std::vector<Header> headers;
  parser.Fill(msg, &req, &headers);
  EXPECT_EQ(req.method_name, "POST");
  EXPECT_EQ(req.path, "/move");
  EXPECT_EQ(req.query, "x=1");
  EXPECT_EQ(req.header("host"), "h");
  EXPECT_EQ(req.body, "body");
  EXPECT_EQ(parser.traceparent(msg), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_EQ(req.method_name.data(), msg);
  EXPECT_EQ(req.body.data(), msg + raw.size() - 4);
}

TEST(RequestParserTest, StopsAtFirstMessageOfPipelinedBuffer) {
  const std::string first = "GET /a HTTP/1.1\r\nHost: x\r\nX-First: 1\r\n\r\n";
  const std::string second = "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz";
  const std::string buf = first + second;
  RequestParser parser(ParserLimits{});
  Request req;
  std::vector<Header> headers;

  std::size_t fed = 0;
  ASSERT_EQ(parser.Feed(buf.data(), buf.size(), &fed), ParseResult::kComplete);
  EXPECT_EQ(fed, first.size());
  parser.Fill(buf.data(), &req, &headers);
  EXPECT_EQ(req.path, "/a");
  EXPECT_EQ(req.body, "");

  parser.Reset();
  const char* next = buf.data() + fed;
  std::size_t fed2 = 0;
  ASSERT_EQ(parser.Feed(next, buf.size() - fed, &fed2), ParseResult::kComplete);
  EXPECT_EQ(fed2, second.size());
  parser.Fill(next, &req, &headers);
  EXPECT_EQ(req.method, Method::kPost);
  EXPECT_EQ(req.path, "/b");
  EXPECT_EQ(req.body, "xyz");
  EXPECT_EQ(req.header("x-first"), "");  // nothing left over from the first message
}

TEST(RequestParserTest, ResetClearsStateOfPreviousMessage) {
  RequestParser parser(ParserLimits{});
  const std::string a =
      "PUT /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\ntraceparent: "
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n1\r\nz\r\n0\r\n\r\n";
  std::size_t fed = 0;
  ASSERT_EQ(FeedWhole(parser, a, &fed), ParseResult::kComplete);
  parser.Reset();
  EXPECT_FALSE(parser.header_done());
  EXPECT_FALSE(parser.expects_continue());
  EXPECT_EQ(parser.error_status(), 0);

  const std::string b = "GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(FeedWhole(parser, b, &fed), ParseResult::kComplete);
  Request req;
  std::vector<Header> headers;
  parser.Fill(b.data(), &req, &headers);
  EXPECT_EQ(req.body, "");
  ASSERT_EQ(headers.size(), 1u);  // only b's Host
  EXPECT_EQ(headers[0].first, "Host");
  EXPECT_EQ(parser.traceparent(b.data()), "");
  EXPECT_FALSE(parser.expects_continue());
}

struct ErrorCase {
  std::string name;
  std::string raw;
  ParserLimits limits;
  int status;
  // Beast finds some errors only when it sees the whole header at once: fed
  // in pieces, it waits for a CRLFCRLF that never comes (the header limit or
  // timeout ends the wait).
  bool also_when_split = true;
};

std::vector<ErrorCase> ErrorCases() {
  const ParserLimits small{.max_header_bytes = 256, .max_body_bytes = 10};
  return {
      {"HeaderOverLimit", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(300, 'a') + "\r\n\r\n", small,
       431},
      {"LongTargetOverLimit", "GET /" + std::string(300, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", small, 431},
      {"StartLineAndFieldsTogetherOverLimit",
       "GET /" + std::string(200, 'a') + " HTTP/1.1\r\nHost: x\r\nX-B: " + std::string(200, 'b') +
           "\r\n\r\n",
       small, 431},
      {"ContentLengthOverLimit", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n0123456789a", small,
       413},
      {"ChunkOverLimit",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n0123456789a\r\n0\r\n\r\n", small,
       413},
      {"ChunksTogetherOverLimit",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n012345\r\n0\r\n\r\n",
       small, 413},
      {"GarbageBytes", std::string("\x01\x02\xff garbage\r\n\r\n", 15), {}, 400},
      {"RequestLineWithoutTarget", "GET\r\n\r\n", {}, 400},
      {"RequestLineWithoutVersion", "GET /\r\n\r\n", {}, 400},
      {"MalformedVersion", "GET / HTTP/1.x\r\n\r\n", {}, 400},
      {"LowerCaseProtocol", "GET / http/1.1\r\n\r\n", {}, 400},
      {"Http20IsUnsupportedVersion", "GET / HTTP/2.0\r\n\r\n", {}, 505},
      {"Http09IsUnsupportedVersion", "GET / HTTP/0.9\r\n\r\n", {}, 505},
      {"Http12IsUnsupportedVersion", "GET / HTTP/1.2\r\n\r\n", {}, 505},
      {"JunkAfterVersion", "GET / HTTP/1.1x\r\n\r\n", {}, 400},
      {"BadContentLength", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", {}, 400},
      {"ConflictingContentLengths",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", {}, 400},
      {"BadChunkSize", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n", {}, 400},
      {"FieldWithoutColon", "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", {}, 400},
      {"BareLfInHeader", "GET / HTTP/1.1\r\nHost: x\n\r\n", {}, 400, false},
      {"BareLfAfterRequestLine", "GET / HTTP/1.1\nHost: x\r\n\r\n", {}, 400},
      // RFC 9112 §5.2: a server may reject obsolete line folding with 400.
      {"MissingHostInHttp11", "GET / HTTP/1.1\r\n\r\n", {}, 400},
      {"TwoHostHeaders", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", {}, 400},
      {"UnknownTransferEncodingWithoutChunked",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nGET /n HTTP/1.1\r\n\r\n", {}, 400},
      {"IdentityTransferEncoding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", {},
       400},
      {"ChunkedNotLast", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", {}, 400},
      {"GzipThenChunkedNotImplemented",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", {}, 501},
      {"ObsoleteLineFolding", "GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n", {}, 400},
  };
}

TEST(RequestParserTest, RejectsBadRequestsWithStatus) {
  for (const ErrorCase& c : ErrorCases()) {
    SCOPED_TRACE(c.name);
    RequestParser parser(c.limits);
    std::size_t fed = 0;
    ASSERT_EQ(FeedWhole(parser, c.raw, &fed), ParseResult::kError);
    EXPECT_EQ(parser.error_status(), c.status);
    EXPECT_FALSE(parser.error_message().empty());
  }
}

TEST(RequestParserTest, RejectsBadRequestsFedByteByByte) {
  for (const ErrorCase& c : ErrorCases()) {
    if (!c.also_when_split) continue;
    SCOPED_TRACE(c.name);
    RequestParser parser(c.limits);
    std::unique_ptr<char[]> buf;
    std::size_t stop = 0;
    ASSERT_EQ(FeedByteByByteRelocating(parser, c.raw, &buf, &stop), ParseResult::kError);
    EXPECT_EQ(parser.error_status(), c.status);
  }
}

TEST(RequestParserTest, HeaderLimitCountsStartLineFedBeforeFields) {
  // The request line arrives first; the fields alone stay under the limit
  // but the whole header does not.
  const ParserLimits limits{.max_header_bytes = 256, .max_body_bytes = 10};
  const std::string line = "GET /" + std::string(150, 'a') + " HTTP/1.1\r\nHost: x\r\n";
  const std::string raw = line + "X-B: " + std::string(150, 'b') + "\r\n\r\n";
  RequestParser parser(limits);
  std::size_t fed = 0;
  ASSERT_EQ(parser.Feed(raw.data(), line.size(), &fed), ParseResult::kNeedMore);
  ASSERT_EQ(parser.Feed(raw.data(), raw.size(), &fed), ParseResult::kError);
  EXPECT_EQ(parser.error_status(), 431);
}

TEST(RequestParserTest, CompletesChunkedBodyCrossingHeaderLimitOffset) {
  // The header limit bounds only the header: a chunk header that straddles
  // byte max_header_bytes of the message must not stall the parse.
  const std::string header = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string raw = header + "a\r\n0123456789\r\n3\r\nabc\r\n0\r\n\r\n";
  const std::size_t limit = header.size() + 17;  // inside "3\r\n"
  ASSERT_EQ(raw.substr(limit - 2, 3), "3\r\n");
  for (std::size_t size : {raw.size(), limit + 1}) {
    SCOPED_TRACE(size);
    RequestParser parser(ParserLimits{.max_header_bytes = limit, .max_body_bytes = 64});
    std::size_t fed = 0;
    ParseResult r = parser.Feed(raw.data(), size, &fed);
    if (size < raw.size()) {
      ASSERT_EQ(r, ParseResult::kNeedMore);
      r = parser.Feed(raw.data(), raw.size(), &fed);
    }
    ASSERT_EQ(r, ParseResult::kComplete);
    EXPECT_EQ(fed, raw.size());
    Request req;
    std::vector<Header> headers;
    parser.Fill(raw.data(), &req, &headers);
    EXPECT_EQ(req.body, "0123456789abc");
  }
}

TEST(RequestParserTest, AcceptsHeaderAndBodyExactlyAtLimits) {
  const std::string body(10, 'x');
  std::string raw = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nX-Pad: ";
  raw += std::string(64 - raw.size() - 4, 'p') + "\r\n\r\n";
  ASSERT_EQ(raw.size(), 64u);
  raw += body;
  RequestParser parser(ParserLimits{.max_header_bytes = 65, .max_body_bytes = 10});
  std::size_t fed = 0;
  ASSERT_EQ(FeedWhole(parser, raw, &fed), ParseResult::kComplete);
  Request req;
  std::vector<Header> headers;
  parser.Fill(raw.data(), &req, &headers);
  EXPECT_EQ(req.body, body);
}

TEST(RequestParserTest, DetectsExpectContinueOnceHeaderIsDone) {
  const struct {
    std::string_view expect;
    bool detected;
  } cases[] = {{"100-continue", true}, {"100-Continue", true}, {"200-ok", false}, {"", false}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expect);
    std::string raw = "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n";
    if (!c.expect.empty()) raw += "Expect: " + std::string(c.expect) + "\r\n";
    raw += "\r\n";
    RequestParser parser(ParserLimits{});
    std::size_t fed = 0;
    ASSERT_EQ(FeedWhole(parser, raw, &fed), ParseResult::kNeedMore);
    EXPECT_EQ(fed, raw.size());
    EXPECT_TRUE(parser.header_done());
    EXPECT_EQ(parser.expects_continue(), c.detected);

    raw += "hello";
    ASSERT_EQ(parser.Feed(raw.data(), raw.size(), &fed), ParseResult::kComplete);
    Request req;
    std::vector<Header> headers;
    parser.Fill(raw.data(), &req, &headers);
    EXPECT_EQ(req.body, "hello");
  }
}

TEST(RequestParserTest, CapturesFirstTraceparentHeaderAnyCase) {
  const std::string_view kFirst = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const std::string raw = "GET / HTTP/1.1\r\nHost: x\r\nTraceParent: " + std::string(kFirst) +
                          "\r\ntraceparent: 00-11111111111111111111111111111111-"
                          "2222222222222222-00\r\n\r\n";
  RequestParser parser(ParserLimits{});
  std::size_t fed = 0;
  ASSERT_EQ(FeedWhole(parser, raw, &fed), ParseResult::kComplete);
  EXPECT_EQ(parser.traceparent(raw.data()), kFirst);

  RequestParser without(ParserLimits{});
  const std::string plain = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(FeedWhole(without, plain, &fed), ParseResult::kComplete);
  EXPECT_EQ(without.traceparent(plain.data()), "");
}

TEST(RequestParserTest, HeaderNotDoneWhileHeaderIncomplete) {
  const std::string raw = "GET / HTTP/1.1\r\nHost: x\r\n";
  RequestParser parser(ParserLimits{});
  std::size_t fed = 0;
  EXPECT_EQ(FeedWhole(parser, raw, &fed), ParseResult::kNeedMore);
  EXPECT_FALSE(parser.header_done());
}

}  // namespace
}  // namespace keel::net
