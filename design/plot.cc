#include "design/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "tasks/file_util.h"

namespace flowdesign::design {
namespace {

const char* const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                               "#9467bd", "#8c564b", "#e377c2", "#17becf"};


std::string Num(double v) {  // compact coordinates
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", v);
  return buffer;
}

std::string TickLabel(double v, double step) {
  if (std::abs(v) < 1e-9 * step) v = 0.0;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", v);
  return buffer;
}

double NiceStep(double span, int target_ticks) {
  const double raw = span / std::max(1, target_ticks);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / magnitude;
  const double nice = r <= 1.0 ? 1.0 : r <= 2.0 ? 2.0 : r <= 5.0 ? 5.0 : 10.0;
  return nice * magnitude;
}

struct Axis {
  double lo = 0.0, hi = 1.0;  // in plot coordinates (log10 for a log axis)
  bool log = false;
  std::vector<double> ticks;  // plot coordinates

  double Coordinate(double v) const { return log ? std::log10(v) : v; }
  bool Accepts(double v) const { return std::isfinite(v) && (!log || v > 0.0); }
  std::string Label(double tick) const {
    if (!log) return TickLabel(tick, ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0);
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", std::pow(10.0, tick));
    return buffer;
  }
};

// Range and ticks from the data (min, max in plot coordinates) or a fixed range.
Axis MakeAxis(double data_lo, double data_hi, const std::optional<std::pair<double, double>>& fixed,
              bool log) {
  Axis axis;
  axis.log = log;
  if (fixed) {
    axis.lo = axis.Coordinate(fixed->first);
    axis.hi = axis.Coordinate(fixed->second);
  } else {
    axis.lo = data_lo;
    axis.hi = data_hi;
  }
  if (!std::isfinite(axis.lo) || !std::isfinite(axis.hi)) axis.lo = 0.0, axis.hi = 1.0;
  if (axis.hi < axis.lo) std::swap(axis.lo, axis.hi);
  if (axis.hi - axis.lo < 1e-12 * std::max(1.0, std::abs(axis.lo))) {
    const double pad = axis.lo == 0.0 ? 1.0 : 0.1 * std::abs(axis.lo);
    axis.lo -= pad;
    axis.hi += pad;
  }
  if (log) {
    if (!fixed) {
      axis.lo = std::floor(axis.lo);
      axis.hi = std::ceil(axis.hi);
      if (axis.hi == axis.lo) axis.hi += 1.0;
    }
    const double step = std::max(1.0, std::ceil((axis.hi - axis.lo) / 8.0));
    for (double t = std::ceil(axis.lo); t <= axis.hi + 1e-9; t += step) axis.ticks.push_back(t);
    return axis;
  }
  const double step = NiceStep(axis.hi - axis.lo, 6);
  if (!fixed) {
    axis.lo = std::floor(axis.lo / step + 1e-9) * step;
    axis.hi = std::ceil(axis.hi / step - 1e-9) * step;
  }
  const double first = std::ceil(axis.lo / step - 1e-9) * step;
  for (int k = 0;; ++k) {
    const double t = first + k * step;
    if (t > axis.hi + 1e-9 * step || k > 100) break;
    axis.ticks.push_back(t);
  }
  return axis;
}

}  // namespace

std::string PlotToSvg(const std::vector<PlotSeries>& series, const PlotOptions& options) {
  const double width = std::max(200, options.width_px);
  const double height = std::max(150, options.height_px);
  const double left = 70.0, right = 20.0, top = options.title.empty() ? 20.0 : 40.0,
               bottom = options.x_label.empty() ? 35.0 : 55.0;
  const double plot_w = width - left - right, plot_h = height - top - bottom;

  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  double y_lo = x_lo, y_hi = -x_lo;
  Axis probe_y;
  probe_y.log = options.log_y;
  for (const PlotSeries& s : series) {
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !probe_y.Accepts(y)) continue;
      x_lo = std::min(x_lo, x);
      x_hi = std::max(x_hi, x);
      y_lo = std::min(y_lo, probe_y.Coordinate(y));
      y_hi = std::max(y_hi, probe_y.Coordinate(y));
    }
  }
  const Axis ax = MakeAxis(x_lo, x_hi, options.x_range, false);
  const Axis ay = MakeAxis(y_lo, y_hi, options.y_range, options.log_y);
  auto px = [&](double x) { return left + (x - ax.lo) / (ax.hi - ax.lo) * plot_w; };
  auto py = [&](double y) { return top + plot_h - (ay.Coordinate(y) - ay.lo) / (ay.hi - ay.lo) * plot_h; };
  auto py_plot = [&](double c) { return top + plot_h - (c - ay.lo) / (ay.hi - ay.lo) * plot_h; };

  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << " " << height
      << "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<defs><clipPath id=\"plot-area\"><rect x=\"" << Num(left) << "\" y=\"" << Num(top)
      << "\" width=\"" << Num(plot_w) << "\" height=\"" << Num(plot_h) << "\"/></clipPath></defs>\n";
  if (!options.title.empty()) {
    svg << "<text x=\"" << Num(left + plot_w / 2) << "\" y=\"24\" text-anchor=\"middle\" "
        << "font-size=\"15\" font-weight=\"bold\">" << XmlEscape(options.title) << "</text>\n";
  }
  // Grid, ticks and labels.
  svg << "<g stroke=\"#dddddd\" stroke-width=\"1\">\n";
  for (double t : ax.ticks) {
    svg << "<line x1=\"" << Num(px(t)) << "\" y1=\"" << Num(top) << "\" x2=\"" << Num(px(t))
        << "\" y2=\"" << Num(top + plot_h) << "\"/>\n";
  }
  for (double t : ay.ticks) {
    svg << "<line x1=\"" << Num(left) << "\" y1=\"" << Num(py_plot(t)) << "\" x2=\""
        << Num(left + plot_w) << "\" y2=\"" << Num(py_plot(t)) << "\"/>\n";
  }
  svg << "</g>\n<g fill=\"#333333\">\n";
  for (double t : ax.ticks) {
    svg << "<text x=\"" << Num(px(t)) << "\" y=\"" << Num(top + plot_h + 16)
        << "\" text-anchor=\"middle\">" << XmlEscape(ax.Label(t)) << "</text>\n";
  }
  for (double t : ay.ticks) {
    svg << "<text x=\"" << Num(left - 6) << "\" y=\"" << Num(py_plot(t) + 4)
        << "\" text-anchor=\"end\">" << XmlEscape(ay.Label(t)) << "</text>\n";
  }
  svg << "</g>\n";
  svg << "<rect x=\"" << Num(left) << "\" y=\"" << Num(top) << "\" width=\"" << Num(plot_w)
      << "\" height=\"" << Num(plot_h) << "\" fill=\"none\" stroke=\"#333333\"/>\n";
  if (!options.x_label.empty()) {
    svg << "<text x=\"" << Num(left + plot_w / 2) << "\" y=\"" << Num(height - 12)
        << "\" text-anchor=\"middle\">" << XmlEscape(options.x_label) << "</text>\n";
  }
  if (!options.y_label.empty()) {
    svg << "<text transform=\"translate(16 " << Num(top + plot_h / 2)
        << ") rotate(-90)\" text-anchor=\"middle\">" << XmlEscape(options.y_label) << "</text>\n";
  }
  // Series.
  svg << "<g clip-path=\"url(#plot-area)\">\n";
  for (size_t k = 0; k < series.size(); ++k) {
    const PlotSeries& s = series[k];
    const std::string color = s.color.empty() ? kColors[k % std::size(kColors)] : s.color;
    if (s.line) {
      std::ostringstream d;
      bool pen_down = false;
      for (const auto& [x, y] : s.points) {
        if (!std::isfinite(x) || !ay.Accepts(y)) {
          pen_down = false;
          continue;
        }
        d << (pen_down ? " L" : " M") << Num(px(x)) << " " << Num(py(y));
        pen_down = true;
      }
      if (!d.str().empty()) {
        svg << "<path d=\"" << d.str().substr(1) << "\" fill=\"none\" stroke=\"" << color
            << "\" stroke-width=\"2\" stroke-linejoin=\"round\"/>\n";
      }
    }
    if (s.markers) {
      svg << "<g fill=\"" << color << "\" stroke=\"white\" stroke-width=\"1\">\n";
      for (const auto& [x, y] : s.points) {
        if (!std::isfinite(x) || !ay.Accepts(y)) continue;
        svg << "<circle cx=\"" << Num(px(x)) << "\" cy=\"" << Num(py(y)) << "\" r=\"4\"/>\n";
      }
      svg << "</g>\n";
    }
  }
  svg << "</g>\n";
  // Legend (top left, inside the plot).
  std::vector<size_t> named;
  for (size_t k = 0; k < series.size(); ++k) {
    if (!series[k].name.empty()) named.push_back(k);
  }
  if (!named.empty()) {
    size_t longest = 0;
    for (size_t k : named) longest = std::max(longest, series[k].name.size());
    const double box_w = 40.0 + 7.0 * static_cast<double>(longest);
    const double box_h = 8.0 + 18.0 * static_cast<double>(named.size());
    svg << "<g>\n<rect x=\"" << Num(left + 10) << "\" y=\"" << Num(top + 10) << "\" width=\""
        << Num(box_w) << "\" height=\"" << Num(box_h)
        << "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbbbbb\"/>\n";
    for (size_t i = 0; i < named.size(); ++i) {
      const PlotSeries& s = series[named[i]];
      const std::string color = s.color.empty() ? kColors[named[i] % std::size(kColors)] : s.color;
      const double y = top + 10 + 14.0 + 18.0 * static_cast<double>(i);
      if (s.line) {
        svg << "<line x1=\"" << Num(left + 16) << "\" y1=\"" << Num(y - 4) << "\" x2=\""
            << Num(left + 40) << "\" y2=\"" << Num(y - 4) << "\" stroke=\"" << color
            << "\" stroke-width=\"2\"/>\n";
      }
      if (s.markers) {
        svg << "<circle cx=\"" << Num(left + 28) << "\" cy=\"" << Num(y - 4) << "\" r=\"4\" fill=\""
            << color << "\"/>\n";
      }
      svg << "<text x=\"" << Num(left + 46) << "\" y=\"" << Num(y) << "\">" << XmlEscape(s.name)
          << "</text>\n";
    }
    svg << "</g>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

void WriteSvgPlot(const std::string& path, const std::vector<PlotSeries>& series,
                  const PlotOptions& options) {
  tasks::WriteFileAtomically(path, PlotToSvg(series, options));
}

std::string XmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace flowdesign::design
