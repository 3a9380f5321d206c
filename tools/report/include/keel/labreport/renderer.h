// Turns a LabRun into one self-contained HTML page: charts (uPlot, inlined),
// SLO and load tables. The page loads nothing from anywhere: it works opened
// from file:// with no network.
//
//   std::string html = RenderHtml(run);
//
// Every string from the data is HTML-escaped; the chart data travels as an
// inline JSON blob in which '<', '>' and '&' are \u-escaped.
#pragma once

#include <string>
#include <string_view>

#include "keel/labreport/lab_run.h"

namespace keel::labreport {

std::string RenderHtml(const LabRun& run);

// Escapes & < > " ' for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);

}  // namespace keel::labreport
