// Dam-break validation against Martin & Moyce (1952): runs the ground-truth MPM on the collapse
// of an a x 2a water column, prints the surge front next to the measurements (T <= 4), and
// writes an SVG plot of the simulated fronts and all measured points.
//
//   dam_break_validation [OUT.svg] [--spacing S]... [--a A] [--reference CSV] [--shear-viscosity NU] [--threads N]
//   e.g. ./build/benchmarks/dam_break_validation docs/dam_break.svg
//
// Exits 1 if a resolution's mean relative error exceeds 10% (the test suite's bound).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "design/plot.h"
#include "simulator/ground_truth/dam_break.h"

namespace {

using namespace flowdesign;

constexpr double kCompareUpToT = 4.0;
constexpr double kMaxMeanError = 0.10;

void Usage() {
  std::cerr << "usage: dam_break_validation [OUT.svg] [--spacing S]... [--a A] [--reference CSV] "
               "[--threads N]\n"
               "  --spacing S   particle spacing in m (repeatable; default 0.01)\n"
               "  --a A         column width in m (default 0.1; height 2a)\n"
               "  --shear-viscosity NU  MPM shear viscosity in m^2/s (default 0)\n"
               "  --reference   Martin & Moyce CSV (default: docs/reference/, a copy of shared/reference)\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string svg_path;
  std::string reference_path =
      std::string(FLOWDESIGN_SOURCE_DIR) + "/docs/reference/dam_break_martin_moyce_1952.csv";
  std::vector<double> spacings;
  double a = 0.1;
  int threads = 1;
  simulator::MpmOptions mpm;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        Usage();
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (arg == "--spacing") {
        spacings.push_back(std::stod(value()));
      } else if (arg == "--a") {
        a = std::stod(value());
      } else if (arg == "--reference") {
        reference_path = value();
      } else if (arg == "--shear-viscosity") {
        mpm.physics.shear_viscosity_m2ps = std::stod(value());
      } else if (arg == "--threads") {
        threads = std::stoi(value());
      } else if (arg == "-h" || arg == "--help") {
        Usage();
        return 0;
      } else if (!arg.empty() && arg[0] != '-' && svg_path.empty()) {
        svg_path = arg;
      } else {
        Usage();
        return 2;
      }
    } catch (const std::exception&) {
      std::cerr << "dam_break_validation: bad value for " << arg << "\n";
      return 2;
    }
  }
  if (spacings.empty()) spacings = {0.01};

  try {
    const std::vector<simulator::DamBreakPoint> measured =
        simulator::LoadDamBreakReference(reference_path);
    std::vector<design::PlotSeries> series;
    const char* colors[] = {"#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"};
    bool all_ok = true;
    for (size_t k = 0; k < spacings.size(); ++k) {
      const simulator::DamBreakResult result = simulator::RunDamBreak(a, spacings[k], threads, 6.0, mpm);
      const simulator::DamBreakComparison comparison =
          simulator::CompareDamBreak(result, measured, kCompareUpToT);
      std::printf("dam break: a = %g m, spacing = %g m, %d particles, %ld substeps, %.2f s\n", a,
                  spacings[k], result.particles, result.stats.substeps, result.wall_time_s);
      std::printf("%8s %12s %12s %12s\n", "T", "Z measured", "Z simulated", "rel. error");
      for (const simulator::DamBreakComparisonRow& row : comparison.rows) {
        std::printf("%8.3f %12.3f %12.3f %11.1f%%\n", row.T, row.Z_measured, row.Z_simulated,
                    100.0 * row.relative_error);
      }
      const bool ok = comparison.mean_relative_error <= kMaxMeanError;
      all_ok = all_ok && ok;
      std::printf("mean relative error (T <= %g): %.1f%% (max %.1f%%), goal <= %.0f%%: %s\n\n",
                  kCompareUpToT, 100.0 * comparison.mean_relative_error,
                  100.0 * comparison.max_relative_error, 100.0 * kMaxMeanError,
                  ok ? "met" : "NOT met");
      char name[96];
      std::snprintf(name, sizeof name, "MPM, spacing %g m (mean error %.1f%%)", spacings[k],
                    100.0 * comparison.mean_relative_error);
      design::PlotSeries curve{name, {}, true, false, colors[k % 4]};
      for (const simulator::DamBreakPoint& p : result.front) curve.points.push_back({p.T, p.Z});
      series.push_back(curve);
    }
    design::PlotSeries points{"Martin & Moyce (1952), measured", {}, false, true, "#d62728"};
    for (const simulator::DamBreakPoint& p : measured) points.points.push_back({p.T, p.Z});
    series.push_back(points);
    if (!svg_path.empty()) {
      design::PlotOptions plot;
      char title[96];
      std::snprintf(title, sizeof title, "Dam break, column %g m x %g m: surge front", a, 2 * a);
      plot.title = title;
      plot.x_label = "T = t sqrt(2g/a)";
      plot.y_label = "Z = front / a";
      plot.x_range = {{0.0, 6.0}};
      plot.y_range = {{0.0, 10.0}};
      design::WriteSvgPlot(svg_path, series, plot);
      std::printf("plot: %s\n", svg_path.c_str());
    }
    return all_ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "dam_break_validation: " << e.what() << "\n";
    return 1;
  }
}
