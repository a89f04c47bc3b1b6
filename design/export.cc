#include "design/export.h"

#include "design/plot.h"

#include <dl_dxf.h>
#include <dl_writer_ascii.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "design/render.h"
#include "simulator/scene.h"
#include "simulator/trajectory.h"
#include "tasks/file_util.h"
#include "tasks/tool_geometry.h"

namespace flowdesign::design {
namespace {

using tasks::Design;
using tasks::Region;
using tasks::Task;
using tasks::Tool;
using tasks::ToolKind;
using tasks::Vec2;

// The renderer's colours, so that SVG, PNG and DXF exports look alike.
constexpr const char* kSvgWall = "#464646";
constexpr const char* kSvgTool = "#f08c14";
constexpr const char* kSvgGoal = "#1e9632";
constexpr const char* kSvgBorder = "#b4b4b4";

// AutoCAD colour indices of the DXF layers.
constexpr int kAciWhite = 7;
constexpr int kAciDarkGrey = 8;
constexpr int kAciLightGrey = 9;
constexpr int kAciGreen = 3;
constexpr int kAciOrange = 30;
constexpr int kDxfInsUnitsMetres = 6;

// The shortest decimal (no exponent) that reads back as exactly `value`, independent of the
// locale: "0.35", "-12.5", "0.30000000000000004".
std::string Number(double value) {
  char buffer[512];  // fixed notation of the largest double needs ~310 characters
  const std::to_chars_result result =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
  if (result.ec != std::errc()) throw std::logic_error("export: cannot format a number");
  return std::string(buffer, result.ptr);
}

// Positions of decorations (labels), to a micrometre: 0.467 rather than 0.46699999999999997.
double Rounded(double value) { return std::round(value * 1e6) / 1e6; }

// JSON indented like the design files, except that arrays of numbers (and of points) stay on
// one line: [[0.3, 0.4], [0.317, 0.353]] rather than six lines per point.
bool IsFlatArray(const nlohmann::ordered_json& value) {
  if (!value.is_array()) return false;
  for (const auto& item : value) {
    if (item.is_object()) return false;
    if (item.is_array()) {
      for (const auto& inner : item) {
        if (inner.is_structured()) return false;
      }
    }
  }
  return true;
}

void AppendJson(const nlohmann::ordered_json& value, int indent, std::string& out) {
  const std::string pad(static_cast<size_t>(indent) + 2, ' ');
  if (value.is_object() && !value.empty()) {
    out += "{\n";
    size_t i = 0;
    for (auto it = value.begin(); it != value.end(); ++it, ++i) {
      out += pad + nlohmann::ordered_json(it.key()).dump() + ": ";
      AppendJson(it.value(), indent + 2, out);
      out += i + 1 < value.size() ? ",\n" : "\n";
    }
    out += std::string(static_cast<size_t>(indent), ' ') + "}";
  } else if (value.is_array() && !value.empty() && !IsFlatArray(value)) {
    out += "[\n";
    for (size_t i = 0; i < value.size(); ++i) {
      out += pad;
      AppendJson(value[i], indent + 2, out);
      out += i + 1 < value.size() ? ",\n" : "\n";
    }
    out += std::string(static_cast<size_t>(indent), ' ') + "]";
  } else if (value.is_array()) {
    out += "[";
    for (size_t i = 0; i < value.size(); ++i) {
      if (i > 0) out += ", ";
      AppendJson(value[i], indent, out);  // a number, string or point: one line
    }
    out += "]";
  } else {
    out += value.dump();
  }
}

// Checks what every format relies on: the design belongs to `task`, has one finite value per
// parameter. LoadDesign checks the same (and the bounds) for files; this guards library callers.
void CheckDesign(const Task& task, const Design& design) {
  if (!design.task_name.empty() && design.task_name != task.name) {
    throw std::invalid_argument("export: the design is for task '" + design.task_name +
                                "', not '" + task.name + "'");
  }
  if (static_cast<int>(design.parameters.size()) != task.ParameterCount()) {
    throw std::invalid_argument("export: task '" + task.name + "' has " +
                                std::to_string(task.ParameterCount()) +
                                " design parameters, the design has " +
                                std::to_string(design.parameters.size()));
  }
  for (size_t i = 0; i < design.parameters.size(); ++i) {
    if (!std::isfinite(design.parameters[i])) {
      throw std::invalid_argument("export: design parameter " + std::to_string(i) +
                                  " is not finite");
    }
  }
}

// One tool as placed by the design.
struct PlacedTool {
  const Tool* tool = nullptr;
  std::vector<double> parameters;
  std::vector<Vec2> points;
};

std::vector<PlacedTool> PlaceTools(const Task& task, const Design& design) {
  CheckDesign(task, design);
  const std::vector<std::vector<double>> split = tasks::SplitParameters(task, design.parameters);
  std::vector<PlacedTool> placed;
  for (size_t i = 0; i < task.tools.size(); ++i) {
    placed.push_back({&task.tools[i], split[i], ToolPoints(task.tools[i], split[i])});
  }
  return placed;
}

std::vector<Vec2> RegionOutline(const Region& region) {
  if (region.shape == tasks::RegionShape::kPolygon) return region.polygon;
  const tasks::Box& b = region.box;
  return {b.min, {b.max.x, b.min.y}, b.max, {b.min.x, b.max.y}};
}

tasks::Box BoundsOf(const std::vector<Vec2>& points) {
  tasks::Box box{points.front(), points.front()};
  for (const Vec2& p : points) {
    box.min = {std::min(box.min.x, p.x), std::min(box.min.y, p.y)};
    box.max = {std::max(box.max.x, p.x), std::max(box.max.y, p.y)};
  }
  return box;
}

// ---------------------------------------------------------------------------------------------
// CSV and SVG text.

// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}


// SVG coordinates: metres with y flipped, so that the viewBox can stay in metres and up is up.
std::string SvgPoints(const std::vector<Vec2>& points) {
  std::string out;
  for (const Vec2& p : points) {
    if (!out.empty()) out += ' ';
    out += Number(p.x) + "," + Number(-p.y);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// DXF.

// DL_Dxf writes through a DL_WriterA, whose stock implementation streams into a file it opens
// itself. Overriding its (virtual) group-code primitives keeps the output in memory instead, so
// that ExportDxf returns a string like every other format and WriteExport can write it
// atomically; the file stream is never opened (an empty name) and never written.
class MemoryDxfWriter final : public DL_WriterA {
 public:
  MemoryDxfWriter() : DL_WriterA("", DL_VERSION_2000) {}

  void dxfReal(int gc, double value) const override {
    std::string text = Number(value);
    if (text.find('.') == std::string::npos) text += ".0";  // the customary "0.0", not "0"
    dxfString(gc, text);
  }
  void dxfInt(int gc, int value) const override { dxfString(gc, std::to_string(value)); }
  void dxfHex(int gc, int value) const override {
    char text[16];
    std::snprintf(text, sizeof text, "%X", static_cast<unsigned>(value));
    dxfString(gc, text);
  }
  void dxfString(int gc, const char* value) const override { dxfString(gc, std::string(value)); }
  void dxfString(int gc, const std::string& value) const override {
    // Group codes right-aligned in three characters, as AutoCAD writes them.
    out_ += (gc < 10 ? "  " : gc < 100 ? " " : "") + std::to_string(gc) + "\n" + value + "\n";
  }

  const std::string& Text() const { return out_; }

 private:
  mutable std::string out_;
};

// DXF values are single lines: control characters in names become spaces.
std::string DxfText(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return out;
}

DL_Attributes OnLayer(const std::string& layer) {
  return DL_Attributes(layer, 256 /* BYLAYER */, -1 /* BYLAYER lineweight */, "BYLAYER", 1.0);
}

// An LWPOLYLINE through `points`; `width` > 0 gives it that constant width (group 43).
void WriteDxfPolyline(DL_Dxf& dxf, MemoryDxfWriter& dw, const std::string& layer,
                      const std::vector<Vec2>& points, bool closed, double width) {
  dxf.writePolyline(dw, DL_PolylineData(static_cast<int>(points.size()), 0, 0, closed ? 1 : 0),
                    OnLayer(layer));
  if (width > 0.0) dw.dxfReal(43, width);
  for (const Vec2& p : points) dxf.writeVertex(dw, DL_VertexData(p.x, p.y, 0.0, 0.0));
  dxf.writePolylineEnd(dw);
}

// The tables, blocks and objects AutoCAD 2000 readers expect around the entities, in the order
// of dxflib's own writing example.
void WriteDxfPreamble(DL_Dxf& dxf, MemoryDxfWriter& dw, const Task& task) {
  const tasks::Box d{task.domain.min, task.domain.max};
  dxf.writeHeader(dw);
  dw.dxfString(9, "$INSUNITS");
  dw.dxfInt(70, kDxfInsUnitsMetres);
  dw.dxfString(9, "$MEASUREMENT");
  dw.dxfInt(70, 1);  // metric
  dw.dxfString(9, "$EXTMIN");
  dw.coord(10, d.min.x, d.min.y, 0.0);
  dw.dxfString(9, "$EXTMAX");
  dw.coord(10, d.max.x, d.max.y, 0.0);
  dw.sectionEnd();

  dw.sectionTables();
  dxf.writeVPort(dw);
  dw.tableLinetypes(3);
  dxf.writeLinetype(dw, DL_LinetypeData("BYBLOCK", "", 0, 0, 0.0));
  dxf.writeLinetype(dw, DL_LinetypeData("BYLAYER", "", 0, 0, 0.0));
  dxf.writeLinetype(dw, DL_LinetypeData("CONTINUOUS", "Solid line", 0, 0, 0.0));
  dw.tableEnd();
  const struct {
    const char* name;
    int color;
  } layers[] = {{"0", kAciWhite},      {"WALLS", kAciDarkGrey},   {"TOOLS", kAciOrange},
                {"REGIONS", kAciGreen}, {"DOMAIN", kAciLightGrey}};
  dw.tableLayers(static_cast<int>(std::size(layers)));
  for (const auto& layer : layers) {
    dxf.writeLayer(dw, DL_LayerData(layer.name, 0),
                   DL_Attributes("", layer.color, -3 /* default lineweight */, "CONTINUOUS", 1.0));
  }
  dw.tableEnd();
  const double text_height = 0.03 * std::min(d.Width(), d.Height());
  dw.tableStyle(1);
  dxf.writeStyle(dw, DL_StyleData("Standard", 0, 0.0, 1.0, 0.0, 0, text_height, "txt", ""));
  dw.tableEnd();
  dxf.writeView(dw);
  dxf.writeUcs(dw);
  dw.tableAppid(1);
  dxf.writeAppid(dw, "ACAD");
  dw.tableEnd();
  const double dim = 0.5 * text_height;  // dimension sizes in drawing units (metres)
  dxf.writeDimStyle(dw, dim, dim, dim, dim, text_height);
  dxf.writeBlockRecord(dw);
  dw.tableEnd();
  dw.sectionEnd();

  dw.sectionBlocks();
  for (const char* block : {"*Model_Space", "*Paper_Space", "*Paper_Space0"}) {
    dxf.writeBlock(dw, DL_BlockData(block, 0, 0.0, 0.0, 0.0));
    dxf.writeEndBlock(dw, block);
  }
  dw.sectionEnd();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Names, paths, parameters and points.

const char* ExportFormatName(ExportFormat format) {
  switch (format) {
    case ExportFormat::kJson: return "json";
    case ExportFormat::kSvg: return "svg";
    case ExportFormat::kPng: return "png";
    case ExportFormat::kDxf: return "dxf";
    case ExportFormat::kCsv: return "csv";
  }
  return "?";
}

ExportFormat ParseExportFormat(const std::string& name) {
  for (ExportFormat format : {ExportFormat::kJson, ExportFormat::kSvg, ExportFormat::kPng,
                              ExportFormat::kDxf, ExportFormat::kCsv}) {
    if (name == ExportFormatName(format)) return format;
  }
  throw std::invalid_argument("unknown export format '" + name +
                              "' (expected json, svg, png, dxf or csv)");
}

std::string DefaultExportPath(const std::string& design_path, ExportFormat format) {
  std::filesystem::path path(design_path);
  path.replace_extension(format == ExportFormat::kJson ? std::string(".export.json")
                                                       : std::string(".") + ExportFormatName(format));
  return path.string();
}

std::vector<ParameterInfo> ToolParameterInfos(const Tool& tool) {
  if (tool.kind == ToolKind::kRamp) return {{"centre x", "m"}, {"centre y", "m"}, {"angle", "deg"}};
  std::vector<ParameterInfo> infos;
  for (int i = 0; i < tool.ParameterCount(); ++i) {
    infos.push_back({"joint " + std::to_string(i) + " angle", "deg"});
  }
  return infos;
}

std::vector<Vec2> ToolPoints(const Tool& tool, const std::vector<double>& parameters) {
  if (tool.kind == ToolKind::kChain) {
    if (static_cast<int>(parameters.size()) != tool.ParameterCount()) {
      throw std::invalid_argument("tool '" + tool.name + "': expected " +
                                  std::to_string(tool.ParameterCount()) + " parameters, got " +
                                  std::to_string(parameters.size()));
    }
    return tasks::ChainPoints(tool.chain, parameters);
  }
  // The ramp's capsule, exactly as the simulators see it.
  const std::vector<tasks::Capsule> capsules = tasks::ToolCapsules(tool, parameters);
  return {capsules.front().a, capsules.front().b};
}

// ---------------------------------------------------------------------------------------------
// Formats.

std::string ExportJson(const Task& task, const Design& design) {
  using nlohmann::ordered_json;
  const std::vector<PlacedTool> tools = PlaceTools(task, design);
  const auto points_json = [](const std::vector<Vec2>& points) {
    ordered_json list = ordered_json::array();
    for (const Vec2& p : points) list.push_back({p.x, p.y});
    return list;
  };
  ordered_json j = {{"format_version", kExportFormatVersion}, {"task", task.name}};
  j["domain"] = {{"min", {task.domain.min.x, task.domain.min.y}},
                 {"max", {task.domain.max.x, task.domain.max.y}}};
  j["tools"] = ordered_json::array();
  for (const PlacedTool& placed : tools) {
    ordered_json names = ordered_json::array();
    for (const ParameterInfo& info : ToolParameterInfos(*placed.tool)) {
      names.push_back(info.label + " (" + info.unit + ")");
    }
    j["tools"].push_back({{"name", placed.tool->name},
                          {"kind", tasks::ToolKindName(placed.tool->kind)},
                          {"parameters", placed.parameters},
                          {"parameter_names", names},
                          {"thickness", placed.tool->thickness_m},
                          {"points", points_json(placed.points)}});
  }
  j["walls"] = ordered_json::array();
  for (const tasks::Wall& wall : task.walls) {
    j["walls"].push_back({{"points", points_json(wall.points)}, {"thickness", wall.thickness_m}});
  }
  j["regions"] = ordered_json::array();
  for (const Region& region : task.regions) {
    j["regions"].push_back({{"name", region.name}, {"points", points_json(RegionOutline(region))}});
  }
  std::string text;
  AppendJson(j, 0, text);
  return text + "\n";
}

std::string ExportCsv(const Task& task, const Design& design) {
  std::string csv = "tool,kind,index,name,value,unit,lower,upper\n";
  for (const PlacedTool& placed : PlaceTools(task, design)) {
    const Tool& tool = *placed.tool;
    const std::vector<ParameterInfo> infos = ToolParameterInfos(tool);
    const std::vector<double> lower = tool.LowerBounds();
    const std::vector<double> upper = tool.UpperBounds();
    for (size_t k = 0; k < placed.parameters.size(); ++k) {
      csv += CsvField(tool.name) + "," + tasks::ToolKindName(tool.kind) + "," +
             std::to_string(k) + "," + CsvField(infos[k].label) + "," +
             Number(placed.parameters[k]) + "," + infos[k].unit + "," + Number(lower[k]) + "," +
             Number(upper[k]) + "\n";
    }
  }
  return csv;
}

std::string ExportSvg(const Task& task, const Design& design) {
  const std::vector<PlacedTool> tools = PlaceTools(task, design);
  const Vec2 lo = task.domain.min, hi = task.domain.max;
  const double width = hi.x - lo.x, height = hi.y - lo.y;
  const double line = 0.002 * std::max(width, height);  // outlines
  const double font = 0.03 * std::min(width, height);
  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<!-- flowdesign export: coordinates in metres, y negated so that up is up; "
         "1 m is drawn as 1000 mm -->\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\""
      << Number(1000.0 * width) << "mm\" height=\"" << Number(1000.0 * height)
      << "mm\" viewBox=\"" << Number(lo.x) << " " << Number(-hi.y) << " " << Number(width) << " "
      << Number(height) << "\">\n"
      << "<title>" << XmlEscape(task.name) << "</title>\n"
      << "<rect id=\"domain\" x=\"" << Number(lo.x) << "\" y=\"" << Number(-hi.y)
      << "\" width=\"" << Number(width) << "\" height=\"" << Number(height)
      << "\" fill=\"#ffffff\" stroke=\"" << kSvgBorder << "\" stroke-width=\"" << Number(line)
      << "\"/>\n";

  svg << "<g id=\"regions\" fill=\"" << kSvgGoal << "\" fill-opacity=\"0.35\" stroke=\""
      << kSvgGoal << "\" stroke-width=\"" << Number(line) << "\">\n";
  for (const Region& region : task.regions) {
    svg << "<polygon points=\"" << SvgPoints(RegionOutline(region)) << "\"><title>"
        << XmlEscape(region.name) << "</title></polygon>\n";
  }
  svg << "</g>\n";

  const auto polylines = [&svg](const char* id, const char* color) {
    svg << "<g id=\"" << id << "\" fill=\"none\" stroke=\"" << color
        << "\" stroke-linecap=\"round\" stroke-linejoin=\"round\">\n";
  };
  polylines("walls", kSvgWall);
  for (const tasks::Wall& wall : task.walls) {
    svg << "<polyline points=\"" << SvgPoints(wall.points) << "\" stroke-width=\""
        << Number(wall.thickness_m) << "\"/>\n";
  }
  svg << "</g>\n";
  polylines("tools", kSvgTool);
  for (const PlacedTool& placed : tools) {
    svg << "<polyline points=\"" << SvgPoints(placed.points) << "\" stroke-width=\""
        << Number(placed.tool->thickness_m) << "\"><title>" << XmlEscape(placed.tool->name)
        << "</title></polyline>\n";
  }
  svg << "</g>\n";

  // Region names last, so that no solid hides them: top-left, just inside each region. Fonts
  // are sized in millimetres and scaled down to metres, because text renderers round font sizes
  // as small as 0.03 (user units) badly or drop the text altogether.
  svg << "<g id=\"labels\" fill=\"" << kSvgGoal << "\" font-family=\"sans-serif\" font-size=\""
      << Number(Rounded(1000.0 * font)) << "\">\n";
  for (const Region& region : task.regions) {
    const std::vector<Vec2> outline = RegionOutline(region);
    if (outline.empty()) continue;
    const tasks::Box box = BoundsOf(outline);
    svg << "<text transform=\"translate(" << Number(Rounded(box.min.x + 0.3 * font)) << " "
        << Number(Rounded(-box.max.y + 1.1 * font)) << ") scale(0.001)\">"
        << XmlEscape(region.name) << "</text>\n";
  }
  svg << "</g>\n</svg>\n";
  return svg.str();
}

std::string ExportPng(const Task& task, const Design& design, int width_px) {
  CheckDesign(task, design);
  const simulator::Scene scene = simulator::BuildScene(task, design.parameters);
  simulator::Trajectory trajectory = simulator::EmptyTrajectory(scene, 0, 1);
  trajectory.regions = task.regions;
  trajectory.simulator = "design";
  RenderOptions options;
  options.width_px = width_px;
  options.time_label = false;  // a design, not a moment of a simulation
  options.title = task.name;
  return EncodeFramePng(trajectory, 0, options);
}

std::string ExportDxf(const Task& task, const Design& design) {
  const std::vector<PlacedTool> tools = PlaceTools(task, design);
  DL_Dxf dxf;
  if (dxf.getVersion() != DL_VERSION_2000) {
    throw std::logic_error("export: dxflib does not default to DXF 2000 output");
  }
  MemoryDxfWriter dw;
  WriteDxfPreamble(dxf, dw, task);

  dw.sectionEntities();
  const Vec2 lo = task.domain.min, hi = task.domain.max;
  WriteDxfPolyline(dxf, dw, "DOMAIN", {lo, {hi.x, lo.y}, hi, {lo.x, hi.y}}, true, 0.0);
  const double text_height = 0.03 * std::min(hi.x - lo.x, hi.y - lo.y);
  for (const Region& region : task.regions) {
    const std::vector<Vec2> outline = RegionOutline(region);
    if (outline.empty()) continue;
    WriteDxfPolyline(dxf, dw, "REGIONS", outline, true, 0.0);
    const tasks::Box box = BoundsOf(outline);
    const double x = box.min.x + 0.3 * text_height, y = box.max.y - 1.3 * text_height;
    dxf.writeText(dw,
                  DL_TextData(x, y, 0.0, x, y, 0.0, text_height, 1.0, 0, 0, 0,
                              DxfText(region.name), "Standard", 0.0),
                  OnLayer("REGIONS"));
  }
  for (const tasks::Wall& wall : task.walls) {
    WriteDxfPolyline(dxf, dw, "WALLS", wall.points, false, wall.thickness_m);
  }
  for (const PlacedTool& placed : tools) {
    WriteDxfPolyline(dxf, dw, "TOOLS", placed.points, false, placed.tool->thickness_m);
  }
  dw.sectionEnd();

  dxf.writeObjects(dw);
  dxf.writeObjectsEnd(dw);
  dw.dxfEOF();
  return dw.Text();
}

std::string ExportDesign(const Task& task, const Design& design, ExportFormat format,
                         const ExportOptions& options) {
  switch (format) {
    case ExportFormat::kJson: return ExportJson(task, design);
    case ExportFormat::kSvg: return ExportSvg(task, design);
    case ExportFormat::kPng: return ExportPng(task, design, options.png_width_px);
    case ExportFormat::kDxf: return ExportDxf(task, design);
    case ExportFormat::kCsv: return ExportCsv(task, design);
  }
  throw std::invalid_argument("export: unknown format");
}

void WriteExport(const Task& task, const Design& design, ExportFormat format,
                 const std::string& path, const ExportOptions& options) {
  tasks::WriteFileAtomically(path, ExportDesign(task, design, format, options));
}

}  // namespace flowdesign::design
