// Exporting a design for use outside flowdesign: its parameters and the geometry they produce,
// as JSON (for CAD scripts), CSV (one row per parameter), SVG (to scale), PNG (the renderer's
// picture without fluid) or DXF (via dxflib, layers WALLS, TOOLS, REGIONS, DOMAIN).
// Each format has a function returning the file's content; WriteExport writes it atomically.
// The formats are documented in docs/task-format.md, "Exporting a design".
#pragma once

#include <string>
#include <vector>

#include "tasks/task.h"
#include "tasks/task_io.h"

namespace flowdesign::design {

inline constexpr int kExportFormatVersion = 1;

enum class ExportFormat { kJson, kSvg, kPng, kDxf, kCsv };

// "json", "svg", "png", "dxf", "csv".
const char* ExportFormatName(ExportFormat format);
// The inverse of ExportFormatName; throws std::invalid_argument for anything else:
// "unknown export format 'foo' (expected json, svg, png, dxf or csv)".
ExportFormat ParseExportFormat(const std::string& name);

// Where an export goes by default: the design's path with its extension replaced by the
// format's (runs/x/best_design.json -> runs/x/best_design.svg); JSON exports get
// ".export.json" so that they never replace the design file itself.
std::string DefaultExportPath(const std::string& design_path, ExportFormat format);

// One design parameter described for people and files.
struct ParameterInfo {
  std::string label;  // "joint 0 angle", "centre x", "angle"
  std::string unit;   // "deg" or "m"
};
// The tool's parameters in order (Tool::ParameterCount() entries).
std::vector<ParameterInfo> ToolParameterInfos(const tasks::Tool& tool);

// The polyline a tool's solid follows for `parameters` (the tool's own values, natural units):
// a chain's joints (tasks::ChainPoints), or a ramp's two end points.
std::vector<tasks::Vec2> ToolPoints(const tasks::Tool& tool, const std::vector<double>& parameters);

// The file contents. Every function checks the design against the task first and throws
// std::invalid_argument when it is for another task, has the wrong number of parameters or a
// non-finite one.
//
// JSON: {"format_version": 1, "task", "domain", "tools": [{"name", "kind", "parameters",
//   "parameter_names", "thickness", "points"}], "walls": [{"points", "thickness"}],
//   "regions": [{"name", "points"}]}; metres and degrees, numbers round-trip exactly.
std::string ExportJson(const tasks::Task& task, const tasks::Design& design);
// CSV: header "tool,kind,index,name,value,unit,lower,upper", then one row per parameter.
std::string ExportCsv(const tasks::Task& task, const tasks::Design& design);
// SVG: viewBox in metres with y flipped (up is up); width and height in millimetres so that
// imports keep the real size. Walls and tools are round-capped polylines of their thickness.
std::string ExportSvg(const tasks::Task& task, const tasks::Design& design);
// PNG: design::EncodeFramePng of a one-frame trajectory without particles, `width_px` wide.
std::string ExportPng(const tasks::Task& task, const tasks::Design& design, int width_px = 512);
// DXF (AutoCAD 2000, ASCII, $INSUNITS = 6: metres): LWPOLYLINEs with constant width = thickness
// on layers WALLS and TOOLS, closed LWPOLYLINEs (and name labels) on REGIONS, the domain's
// outline on DOMAIN.
std::string ExportDxf(const tasks::Task& task, const tasks::Design& design);

struct ExportOptions {
  int png_width_px = 512;  // PNG only; the height follows the domain's aspect ratio
};

// The content in `format`.
std::string ExportDesign(const tasks::Task& task, const tasks::Design& design, ExportFormat format,
                         const ExportOptions& options = {});
// Writes ExportDesign(...) to `path` atomically (temporary file + rename); throws
// std::runtime_error naming the path when it cannot be written.
void WriteExport(const tasks::Task& task, const tasks::Design& design, ExportFormat format,
                 const std::string& path, const ExportOptions& options = {});

}  // namespace flowdesign::design
