#include "keel/labreport/renderer.h"

#include <gtest/gtest.h>

#include <regex>

namespace keel::labreport {
namespace {

LabRun SampleRun() {
  LabRun run;
  run.dir = "out/x";
  run.scenario = "<script>alert(1)</script>";
  run.passed = false;
  run.duration_s = 10;
  Load load;
  load.name = "main</script><b>";
  load.target = "http://127.0.0.1:1/?a=1&b=2";
  load.seconds = {{1, 10, 10, 0, 0.5, 1, 2}, {2, 10, 8, 2, 0, 1, 2}};
  load.summary = LoadSummary{"open", 10.0, 9.0, 2, 20, 18, 2, 0.5, 1, 2, 3};
  run.loads.push_back(load);
  run.faults.push_back({"lat <100ms> & \"more\"", "toxic", "hello", 3, 5, R"({"x":"</script>"})"});
  run.faults.push_back({"kill", "kill", "hello", 7, std::nullopt, ""});
  Slo slo;
  slo.name = "availability";
  slo.kind = "availability";
  slo.objective = 0.999;
  slo.measured = 0.9956;
  slo.budget_consumed = 4.4;
  slo.windows.push_back({"page (1h/5m ×14.4)", 5, 0.5, 14.4, 20.1, 30, true, 12.0, true});
  slo.windows.push_back({"ticket", 30, 3, 6, 0, 0, false, std::nullopt, false});
  run.slos.push_back(slo);
  return run;
}

std::string Blob(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"keel-data\">";
  size_t start = html.find(open);
  EXPECT_NE(start, std::string::npos);
  start += open.size();
  return html.substr(start, html.find("</script>", start) - start);
}

TEST(LabreportHtmlEscapeTest, EscapesMarkupAndQuotes) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

TEST(LabreportRendererTest, EscapesUserTextInMarkup) {
  const std::string html = RenderHtml(SampleRun());
  EXPECT_EQ(html.find("<script>alert(1)"), std::string::npos);
  EXPECT_NE(html.find("<title>keel lab: &lt;script&gt;alert(1)&lt;/script&gt;</title>"),
            std::string::npos);
  EXPECT_NE(html.find("lat &lt;100ms&gt; &amp; &quot;more&quot;"), std::string::npos);
  EXPECT_EQ(html.find("main</script><b>"), std::string::npos);
}

TEST(LabreportRendererTest, DataBlobCannotCloseItsScript) {
  const std::string blob = Blob(RenderHtml(SampleRun()));
  EXPECT_EQ(blob.find('<'), std::string::npos);
  EXPECT_NE(blob.find("main\\u003c/script\\u003e\\u003cb\\u003e"), std::string::npos);
}

TEST(LabreportRendererTest, BlobCarriesTheScenarioAxisAndFaults) {
  const std::string blob = Blob(RenderHtml(SampleRun()));
  EXPECT_NE(blob.find("\"t\":[1.0,2.0]"), std::string::npos) << blob;
  // A second without completions has no latency on the log scale; error % is per sent.
  EXPECT_NE(blob.find("\"p50\":[0.5,null]"), std::string::npos) << blob;
  EXPECT_NE(blob.find("\"error_pct\":[0.0,20.0]"), std::string::npos) << blob;
  EXPECT_NE(blob.find("\"end_s\":null"), std::string::npos);
  EXPECT_NE(blob.find("\"start_s\":3.0"), std::string::npos);
}

TEST(LabreportRendererTest, ShowsVerdictSloAndLoadFigures) {
  const std::string html = RenderHtml(SampleRun());
  EXPECT_NE(html.find("id=\"verdict\">FAILED"), std::string::npos);
  EXPECT_NE(html.find("99.9%"), std::string::npos);     // objective
  EXPECT_NE(html.find("99.56%"), std::string::npos);    // measured
  EXPECT_NE(html.find("440%"), std::string::npos);      // budget consumed
  EXPECT_NE(html.find("20.1× / 30×"), std::string::npos);
  EXPECT_NE(html.find("FIRED</span> at 12 s"), std::string::npos);
  EXPECT_NE(html.find("too few events"), std::string::npos);
  EXPECT_NE(html.find("9/s (90%)"), std::string::npos);  // achieved vs requested
}

TEST(LabreportRendererTest, ShowsChecksOnlyWhenTheRunHadThem) {
  LabRun run = SampleRun();
  EXPECT_EQ(RenderHtml(run).find("check-table"), std::string::npos);
  run.checks.push_back({"invariants", false, 2.5, "exit code 1 <see log>"});
  const std::string html = RenderHtml(run);
  EXPECT_NE(html.find("<h2>Checks</h2>"), std::string::npos);
  EXPECT_NE(html.find("invariants"), std::string::npos);
  EXPECT_NE(html.find("exit code 1 &lt;see log&gt;"), std::string::npos);
}

TEST(LabreportRendererTest, PageReferencesNothingExternal) {
  const std::string html = RenderHtml(SampleRun());
  const std::regex external(R"((src|href)\s*=\s*["']?\s*(https?:|//))", std::regex::icase);
  EXPECT_FALSE(std::regex_search(html, external));
  EXPECT_EQ(html.find("url(http"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_NE(html.find("var uPlot="), std::string::npos);  // inlined, not linked
}

}  // namespace
}  // namespace keel::labreport
