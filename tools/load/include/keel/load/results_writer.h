// `keel load --results FILE`: one CSV line per finished request, so that a
// run's requests can be matched later with what the server kept (e.g. the
// orders a DR drill acknowledged, by the Idempotency-Key their {{seq}} made).
//
//   seq,intended_unix_us,status,latency_us,outcome
//   0,1767225600000000,201,1834,ok
//   1,1767225600010000,0,2000114,timeout
//
// seq: the value {{seq}} rendered to for the request; intended_unix_us: when
// it was due (open loop: its schedule slot; closed loop: when it was sent),
// µs since the Unix epoch; status: the HTTP status of the answer, 0 when
// there was none (a transport error or timeout) and for rls://; latency_us:
// from the intended time to the answer or the failure (corrected); outcome:
// `ok`, `over_limit` (rls://) or the ErrorKindName of the failure
// (`status_4xx` and `status_5xx` are answers and carry their status).
//
//   auto file = ResultsFile::Create("run.csv");   // writes the header
//   ResultsBuffer buffer(**file);                 // one per thread
//   buffer.Add({.seq = 0, .intended_unix_us = t, .status = 201, .latency_us = 1834, .outcome = "ok"});
//   buffer.Flush();
//   Status s = (*file)->Close();
//
// Memory is bounded: each buffer holds at most its capacity before it hands
// its lines to the file in one write.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "keel/base/status.h"

namespace keel::load {

inline constexpr std::string_view kResultsHeader = "seq,intended_unix_us,status,latency_us,outcome\n";

struct RequestRecord {
  std::uint64_t seq = 0;
  std::int64_t intended_unix_us = 0;
  int status = 0;
  std::int64_t latency_us = 0;
  std::string_view outcome;  // "ok", "over_limit" or an ErrorKindName
};

// Appends `r` as one CSV line (with its newline) to `out`.
void AppendResultLine(const RequestRecord& r, std::string* out);

// The file. Thread-safety: Append is thread-safe (one write per call, whole
// lines, so lines of several buffers never interleave); Close is not and
// comes after every Append.
class ResultsFile {
 public:
  // Creates (truncates) `path` and writes the header. Errors: Unavailable
  // when the file cannot be created.
  static StatusOr<std::unique_ptr<ResultsFile>> Create(const std::string& path);
  ~ResultsFile();  // closes the file if Close did not
  ResultsFile(const ResultsFile&) = delete;
  ResultsFile& operator=(const ResultsFile&) = delete;

  void Append(std::string_view lines);
  // Flushes and closes. Errors: Unavailable naming the file when any write
  // (or the close) failed; lines after a failed write are dropped.
  Status Close();

 private:
  ResultsFile(std::FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
  std::mutex mu_;
  std::FILE* f_;            // GUARDED_BY(mu_); null once closed
  bool failed_ = false;     // GUARDED_BY(mu_)
  const std::string path_;
};

// A per-thread buffer in front of a ResultsFile. Thread-safety: one thread.
class ResultsBuffer {
 public:
  static constexpr std::size_t kDefaultCapacity = 64 * 1024;
  // `file` must outlive the buffer.
  explicit ResultsBuffer(ResultsFile& file, std::size_t capacity = kDefaultCapacity);
  ~ResultsBuffer() { Flush(); }
  ResultsBuffer(const ResultsBuffer&) = delete;
  ResultsBuffer& operator=(const ResultsBuffer&) = delete;

  // Buffers the line; hands the buffer to the file once it holds `capacity`.
  void Add(const RequestRecord& r);
  void Flush();

 private:
  ResultsFile& file_;
  const std::size_t capacity_;
  std::string buf_;
};

}  // namespace keel::load
