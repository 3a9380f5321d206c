// Request templates: text with placeholders expanded for every request.
//
//   {{seq}}          the request's sequence number (0, 1, 2, ...)
//   {{rand:LO:HI}}   a uniform integer in [LO, HI]
//   {{zipf:S:N}}     a key in [1, N] drawn with Zipf exponent S (key 1 hottest)
//   {{uuid}}         a random RFC 4122 version-4 UUID
//
//   auto t = Template::Parse("/users/{{zipf:1.1:100000}}?r={{rand:1:9}}");
//   std::string out;
//   TemplateContext ctx{.seq = 7, .rng = &rng};
//   t->Render(ctx, &out);   // appends, e.g. "/users/3?r=5"
//
// Rendering a static template (no placeholders) copies the text. Rendering
// allocates nothing once `out` has grown to the rendered size.
// Thread-safety: a Template is immutable and may be rendered from many
// threads at once, each with its own Rng.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/rng.h"
#include "keel/base/status.h"

namespace keel::load {

using keel::Rng;  // keel/base/rng.h

// Zipf distribution over [1, n] with exponent s > 0, sampled in O(1) with
// rejection-inversion (Hörmann & Derflinger 1996), no table.
class ZipfSampler {
 public:
  static StatusOr<ZipfSampler> Create(double s, std::uint64_t n);
  std::uint64_t Sample(Rng& rng) const;
  double exponent() const { return s_; }
  std::uint64_t n() const { return n_; }

 private:
  ZipfSampler(double s, std::uint64_t n);
  double H(double x) const;
  double HInverse(double x) const;
  double s_;
  std::uint64_t n_;
  double h_integral_x1_, h_integral_n_, s_threshold_;
};

struct TemplateContext {
  std::uint64_t seq = 0;
  Rng* rng = nullptr;
};

class Template {
 public:
  // Errors: InvalidArgument naming the bad placeholder ("{{zipf:x:10}}: ...").
  static StatusOr<Template> Parse(std::string_view text);
  // Appends the expansion to *out. REQUIRES: ctx.rng != nullptr unless is_static().
  void Render(const TemplateContext& ctx, std::string* out) const;
  bool is_static() const;
  const std::string& source() const { return source_; }

 private:
  struct Part;
  std::string source_;
  std::vector<std::shared_ptr<const Part>> parts_;
};

// One request to send: a method, target (path and query), headers and body,
// each templated.
struct RequestSpec {
  std::string method = "GET";
  Template target;
  std::vector<std::pair<std::string, Template>> headers;
  Template body;
};

// Reads requests from a file, one per line: `METHOD TARGET [BODY]` where
// TARGET is a path ("/a?b=1") and BODY is the rest of the line; blank lines
// and lines starting with '#' are skipped. Templates are allowed everywhere.
// Errors: InvalidArgument naming the file and line ("reqs.txt:3: ..."), or
// for a file without requests; NotFound when the file cannot be opened.
StatusOr<std::vector<RequestSpec>> LoadRequestFile(const std::string& path);

}  // namespace keel::load
