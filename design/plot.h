// Small SVG line plots (hand-written SVG text): the dam-break validation, objective vs
// iteration, training curves. Axes with "nice" ticks, a legend, optional markers.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace flowdesign::design {

struct PlotSeries {
  std::string name;                               // shown in the legend (empty: not listed)
  std::vector<std::pair<double, double>> points;  // (x, y); non-finite points break the line
  bool line = true;                               // join consecutive points
  bool markers = false;                           // a circle at every point
  std::string color;                              // SVG colour; empty = from a default cycle
};

struct PlotOptions {
  std::string title;
  std::string x_label;
  std::string y_label;
  int width_px = 640;
  int height_px = 420;
  // Axis ranges; unset = from the data (with a little margin, rounded to ticks).
  std::optional<std::pair<double, double>> x_range;
  std::optional<std::pair<double, double>> y_range;
  bool log_y = false;  // logarithmic y axis (positive values only; others are skipped)
};

// The plot as a standalone SVG document.
// Escapes text for SVG/XML content and attribute values.
std::string XmlEscape(const std::string& text);

std::string PlotToSvg(const std::vector<PlotSeries>& series, const PlotOptions& options = {});

// Writes PlotToSvg(...) to `path` atomically. Throws std::runtime_error naming the path.
void WriteSvgPlot(const std::string& path, const std::vector<PlotSeries>& series,
                  const PlotOptions& options = {});

}  // namespace flowdesign::design
