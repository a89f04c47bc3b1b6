// Design exports: JSON, CSV, SVG, PNG and DXF contents checked against the task's geometry.
#include <gd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <dxflib/dl_creationadapter.h>
#include <dxflib/dl_dxf.h>
#pragma GCC diagnostic pop

#include "design/export.h"
#include "tasks/file_util.h"
#include "tasks/task_io.h"
#include "tasks/tool_geometry.h"
#include "tests/test_support.h"

namespace flowdesign::design {
namespace {

using nlohmann::json;
using tasks::Design;
using tasks::Task;
using tasks::Vec2;
using testing::OutputDir;
using testing::SourcePath;

const std::vector<double> kCupAngles = {-60.0, 20.0, 15.0, 10.0, 5.0, 10.0, 20.0, 32.5};

Task ContainTask() { return tasks::LoadTask(SourcePath("tasks/contain.json")); }

Design CupDesign(const Task& task) { return Design{task.name, kCupAngles}; }

// contain.json plus a fixed wall and a ramp, so that every kind of solid is exported.
Task TaskWithWallAndRamp() {
  Task task = ContainTask();
  task.walls.push_back({{{0.05, 0.9}, {0.2, 0.9}, {0.2, 0.95}}, 0.01});
  tasks::Tool ramp;
  ramp.name = "ramp";
  ramp.kind = tasks::ToolKind::kRamp;
  ramp.thickness_m = 0.02;
  ramp.ramp.length_m = 0.2;
  ramp.ramp.center_bounds = {{0.1, 0.1}, {0.9, 0.9}};
  ramp.ramp.angle_min_deg = -45.0;
  ramp.ramp.angle_max_deg = 45.0;
  ramp.ramp.initial_center = {0.7, 0.2};
  task.tools.push_back(ramp);
  return task;
}

Design RampDesign(const Task& task) {
  std::vector<double> parameters = kCupAngles;
  for (double v : {0.7, 0.2, 30.0}) parameters.push_back(v);
  return Design{task.name, parameters};
}

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  return parts;
}

// ---------------------------------------------------------------------------------------------
// A DXF read as text: entities as (group code, value) lists.

struct DxfEntity {
  std::string type;
  std::vector<std::pair<int, std::string>> groups;

  std::string Value(int code) const {
    for (const auto& [c, v] : groups) {
      if (c == code) return v;
    }
    return "";
  }
  std::vector<Vec2> Vertices() const {  // 10/20 pairs in order
    std::vector<Vec2> points;
    for (size_t i = 0; i + 1 < groups.size(); ++i) {
      if (groups[i].first == 10 && groups[i + 1].first == 20) {
        points.push_back({std::stod(groups[i].second), std::stod(groups[i + 1].second)});
      }
    }
    return points;
  }
};

std::vector<DxfEntity> ParseDxfText(const std::string& text) {
  std::vector<DxfEntity> entities;
  std::istringstream in(text);
  std::string code_line, value;
  while (std::getline(in, code_line) && std::getline(in, value)) {
    const int code = std::stoi(code_line);
    if (code == 0) {
      entities.push_back({value, {}});
    } else if (!entities.empty()) {
      entities.back().groups.emplace_back(code, value);
    }
  }
  return entities;
}

std::vector<DxfEntity> Polylines(const std::vector<DxfEntity>& entities, const std::string& layer) {
  std::vector<DxfEntity> found;
  for (const DxfEntity& e : entities) {
    if (e.type == "LWPOLYLINE" && e.Value(8) == layer) found.push_back(e);
  }
  return found;
}

// The same DXF read back by dxflib itself.
struct DxfReadBack : DL_CreationAdapter {
  struct Polyline {
    std::string layer;
    int flags = 0;
    std::vector<Vec2> points;
  };
  std::vector<std::string> layers;
  std::vector<Polyline> polylines;
  std::vector<std::string> texts;

  void addLayer(const DL_LayerData& data) override { layers.push_back(data.name); }
  void addPolyline(const DL_PolylineData& data) override {
    polylines.push_back({getAttributes().getLayer(), data.flags, {}});
  }
  void addVertex(const DL_VertexData& data) override {
    if (!polylines.empty()) polylines.back().points.push_back({data.x, data.y});
  }
  void addText(const DL_TextData& data) override { texts.push_back(data.text); }
};

void CheckSamePoints(const std::vector<Vec2>& actual, const std::vector<Vec2>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    INFO("point " << i);
    CHECK(actual[i].x == expected[i].x);
    CHECK(actual[i].y == expected[i].y);
  }
}

// The points of the first <polyline> in an SVG.
std::vector<Vec2> SvgPolylinePoints(const std::string& svg) {
  const std::string tag = "<polyline points=\"";
  const size_t begin = svg.find(tag);
  if (begin == std::string::npos) return {};
  const size_t end = svg.find('"', begin + tag.size());
  std::vector<Vec2> points;
  for (const std::string& pair : Split(svg.substr(begin + tag.size(), end - begin - tag.size()), ' ')) {
    const std::vector<std::string> xy = Split(pair, ',');
    if (xy.size() == 2) points.push_back({std::stod(xy[0]), std::stod(xy[1])});
  }
  return points;
}

std::vector<Vec2> JsonPoints(const json& points) {
  std::vector<Vec2> out;
  for (const json& p : points) out.push_back({p.at(0).get<double>(), p.at(1).get<double>()});
  return out;
}

struct ImageDeleter {
  void operator()(gdImage* image) const { gdImageDestroy(image); }
};
using Image = std::unique_ptr<gdImage, ImageDeleter>;

Image DecodePng(std::string bytes) {
  return Image(gdImageCreateFromPngPtr(static_cast<int>(bytes.size()), bytes.data()));
}

// ---------------------------------------------------------------------------------------------

TEST_CASE("export formats: names round-trip, unknown names and default paths", "[export]") {
  for (ExportFormat format : {ExportFormat::kJson, ExportFormat::kSvg, ExportFormat::kPng,
                              ExportFormat::kDxf, ExportFormat::kCsv}) {
    CHECK(ParseExportFormat(ExportFormatName(format)) == format);
  }
  CHECK_THROWS_WITH(ParseExportFormat("foo"),
                    "unknown export format 'foo' (expected json, svg, png, dxf or csv)");
  CHECK_THROWS_AS(ParseExportFormat("SVG "), std::invalid_argument);
  CHECK_THROWS_AS(ParseExportFormat(""), std::invalid_argument);

  CHECK(DefaultExportPath("runs/a/best_design.json", ExportFormat::kSvg) ==
        "runs/a/best_design.svg");
  CHECK(DefaultExportPath("runs/a/best_design.json", ExportFormat::kDxf) ==
        "runs/a/best_design.dxf");
  CHECK(DefaultExportPath("runs/a/best_design.json", ExportFormat::kJson) ==
        "runs/a/best_design.export.json");
  CHECK(DefaultExportPath("design", ExportFormat::kPng) == "design.png");
}

TEST_CASE("JSON export: the design with its tools' points", "[export]") {
  const Task task = ContainTask();
  const json j = json::parse(ExportJson(task, CupDesign(task)));
  CHECK(j.at("format_version") == 1);
  CHECK(j.at("task") == "contain");
  REQUIRE(j.at("tools").size() == 1);
  const json& cup = j.at("tools")[0];
  CHECK(cup.at("name") == "cup");
  CHECK(cup.at("kind") == "chain");
  CHECK(cup.at("parameters").get<std::vector<double>>() == kCupAngles);
  REQUIRE(cup.at("parameter_names").size() == 8);
  CHECK(cup.at("parameter_names")[0] == "joint 0 angle (deg)");
  CHECK(cup.at("parameter_names")[7] == "joint 7 angle (deg)");
  CHECK(cup.at("thickness") == 0.015);
  CheckSamePoints(JsonPoints(cup.at("points")), tasks::ChainPoints(task.tools[0].chain, kCupAngles));
  CHECK(j.at("walls").empty());
  REQUIRE(j.at("regions").size() == 1);
  CHECK(j.at("regions")[0].at("name") == "cup");
  CHECK(j.at("regions")[0].at("points").size() == 4);
  CHECK(j.at("domain").at("max")[0] == 1.0);

  const Task ramp_task = TaskWithWallAndRamp();
  const json r = json::parse(ExportJson(ramp_task, RampDesign(ramp_task)));
  REQUIRE(r.at("tools").size() == 2);
  const json& ramp = r.at("tools")[1];
  CHECK(ramp.at("kind") == "ramp");
  CHECK(ramp.at("parameter_names") ==
        json({"centre x (m)", "centre y (m)", "angle (deg)"}));
  CHECK(ramp.at("thickness") == 0.02);
  const std::vector<Vec2> ends = JsonPoints(ramp.at("points"));
  REQUIRE(ends.size() == 2);
  const double c = std::cos(tasks::DegToRad(30.0)), s = std::sin(tasks::DegToRad(30.0));
  CHECK(ends[0].x == Approx(0.7 - 0.1 * c).margin(1e-15));
  CHECK(ends[0].y == Approx(0.2 - 0.1 * s).margin(1e-15));
  CHECK(ends[1].x == Approx(0.7 + 0.1 * c).margin(1e-15));
  CHECK(ends[1].y == Approx(0.2 + 0.1 * s).margin(1e-15));
  REQUIRE(r.at("walls").size() == 1);
  CheckSamePoints(JsonPoints(r.at("walls")[0].at("points")), ramp_task.walls[0].points);
  CHECK(r.at("walls")[0].at("thickness") == 0.01);
}

TEST_CASE("CSV export: a header and one row per parameter", "[export]") {
  const Task task = TaskWithWallAndRamp();
  const Design design = RampDesign(task);
  const std::vector<std::string> lines = Split(ExportCsv(task, design), '\n');
  REQUIRE(lines.size() == 1 + design.parameters.size());
  CHECK(lines[0] == "tool,kind,index,name,value,unit,lower,upper");
  for (size_t i = 0; i < design.parameters.size(); ++i) {
    INFO("row " << i + 1 << ": " << lines[i + 1]);
    const std::vector<std::string> fields = Split(lines[i + 1], ',');
    REQUIRE(fields.size() == 8);
    CHECK(std::strtod(fields[4].c_str(), nullptr) == design.parameters[i]);  // full precision
  }
  CHECK(lines[1] == "cup,chain,0,joint 0 angle,-60,deg,-90,90");
  CHECK(lines[8] == "cup,chain,7,joint 7 angle,32.5,deg,-90,90");
  CHECK(lines[9] == "ramp,ramp,0,centre x,0.7,m,0.1,0.9");
  CHECK(lines[10] == "ramp,ramp,1,centre y,0.2,m,0.1,0.9");
  CHECK(lines[11] == "ramp,ramp,2,angle,30,deg,-45,45");

  // Names that need quoting are quoted.
  Task odd = ContainTask();
  odd.tools[0].name = "cup, \"big\"";
  const std::vector<std::string> odd_lines = Split(ExportCsv(odd, CupDesign(odd)), '\n');
  CHECK(odd_lines[1].rfind("\"cup, \"\"big\"\"\",chain,0,", 0) == 0);
}

TEST_CASE("SVG export: to scale, one polyline per tool and wall", "[export]") {
  const Task task = ContainTask();
  const std::string svg = ExportSvg(task, CupDesign(task));
  CHECK(svg.rfind("<?xml", 0) == 0);
  CHECK(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
  CHECK(svg.find("viewBox=\"0 -1 1 1\"") != std::string::npos);
  CHECK(svg.find("width=\"1000mm\" height=\"1000mm\"") != std::string::npos);
  CHECK(svg.find("</svg>\n") == svg.size() - 7);
  CHECK(Count(svg, "<polyline") == 1);
  CHECK(Count(svg, "<polygon") == 1);
  CHECK(Count(svg, "<g ") == Count(svg, "</g>"));
  CHECK(Count(svg, "<") == Count(svg, ">"));
  // The chain's joints with y negated; round caps, real thickness.
  std::vector<Vec2> drawn = SvgPolylinePoints(svg);
  for (Vec2& p : drawn) p.y = -p.y;
  CheckSamePoints(drawn, tasks::ChainPoints(task.tools[0].chain, kCupAngles));
  CHECK(svg.find("stroke-width=\"0.015\"") != std::string::npos);
  CHECK(svg.find("stroke-linecap=\"round\"") != std::string::npos);
  CHECK(svg.find(">cup</text>") != std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);

  const Task ramp_task = TaskWithWallAndRamp();
  Task escaped = ramp_task;
  escaped.regions[0].name = "a<b & c";
  const std::string ramp_svg = ExportSvg(escaped, RampDesign(escaped));
  CHECK(Count(ramp_svg, "<polyline") == 3);  // wall, chain, ramp
  CHECK(ramp_svg.find("<polyline points=\"0.05,-0.9 0.2,-0.9 0.2,-0.95\" stroke-width=\"0.01\"/>") !=
        std::string::npos);
  CHECK(ramp_svg.find("a&lt;b &amp; c") != std::string::npos);
  CHECK(ramp_svg.find("a<b") == std::string::npos);
}

TEST_CASE("PNG export: the renderer's picture of the design, without fluid", "[export]") {
  const Task task = ContainTask();
  const Image image = DecodePng(ExportPng(task, CupDesign(task)));
  REQUIRE(image);
  CHECK(gdImageSX(image.get()) == 512);
  CHECK(gdImageSY(image.get()) == 512);  // the domain is square
  // The middle of the chain's first segment is orange.
  const Vec2 a = task.tools[0].chain.anchor;
  const Vec2 mid = a + 0.025 * Vec2{std::cos(tasks::DegToRad(-60.0)), std::sin(tasks::DegToRad(-60.0))};
  const int c = gdImageGetTrueColorPixel(image.get(), static_cast<int>(mid.x * 512),
                                         static_cast<int>((1.0 - mid.y) * 512));
  INFO("pixel " << gdTrueColorGetRed(c) << "," << gdTrueColorGetGreen(c) << "," << gdTrueColorGetBlue(c));
  CHECK(gdTrueColorGetRed(c) > 200);
  CHECK(gdTrueColorGetBlue(c) < 80);
  // Where the water block starts there is no fluid: the picture holds the design only.
  const tasks::Box& block = task.blocks.at(0).box;
  const Vec2 centre = 0.5 * (block.min + block.max);
  const int water = gdImageGetTrueColorPixel(image.get(), static_cast<int>(centre.x * 512),
                                             static_cast<int>((1.0 - centre.y) * 512));
  CHECK(water != 0x1e64dc);  // the renderer's fluid blue

  const Image small = DecodePng(ExportPng(task, CupDesign(task), 200));
  REQUIRE(small);
  CHECK(gdImageSX(small.get()) == 200);
  CHECK(gdImageSY(small.get()) == 200);
}

TEST_CASE("DXF export: layers, polylines with their width, readable by dxflib", "[export]") {
  const Task task = TaskWithWallAndRamp();
  const Design design = RampDesign(task);
  const std::string dxf = ExportDxf(task, design);
  CHECK(dxf.find("AC1015") != std::string::npos);
  CHECK(dxf.find("$INSUNITS\n 70\n6\n") != std::string::npos);
  CHECK(dxf.size() > 20);
  CHECK(dxf.substr(dxf.size() - 8) == "  0\nEOF\n");

  const std::vector<DxfEntity> entities = ParseDxfText(dxf);
  std::vector<std::string> layers;
  for (const DxfEntity& e : entities) {
    if (e.type == "LAYER") layers.push_back(e.Value(2));
  }
  for (const char* layer : {"WALLS", "TOOLS", "REGIONS", "DOMAIN"}) {
    INFO(layer);
    CHECK(std::count(layers.begin(), layers.end(), layer) == 1);
  }

  const std::vector<DxfEntity> tools = Polylines(entities, "TOOLS");
  REQUIRE(tools.size() == 2);
  CheckSamePoints(tools[0].Vertices(), tasks::ChainPoints(task.tools[0].chain, kCupAngles));
  CHECK(tools[0].Value(90) == "9");
  CHECK(std::stod(tools[0].Value(43)) == 0.015);  // constant width = thickness
  CHECK(tools[0].Value(70) == "0");               // open
  CheckSamePoints(tools[1].Vertices(), ToolPoints(task.tools[1], {0.7, 0.2, 30.0}));
  CHECK(std::stod(tools[1].Value(43)) == 0.02);

  const std::vector<DxfEntity> walls = Polylines(entities, "WALLS");
  REQUIRE(walls.size() == 1);
  CheckSamePoints(walls[0].Vertices(), task.walls[0].points);
  CHECK(std::stod(walls[0].Value(43)) == 0.01);

  const std::vector<DxfEntity> regions = Polylines(entities, "REGIONS");
  REQUIRE(regions.size() == 1);
  CHECK(regions[0].Value(70) == "1");  // closed
  const tasks::Box& box = task.regions[0].box;
  CheckSamePoints(regions[0].Vertices(),
                  {box.min, {box.max.x, box.min.y}, box.max, {box.min.x, box.max.y}});
  const std::vector<DxfEntity> domain = Polylines(entities, "DOMAIN");
  REQUIRE(domain.size() == 1);
  CheckSamePoints(domain[0].Vertices(), {{0, 0}, {1, 0}, {1, 1}, {0, 1}});

  // dxflib reads its own output back with the same layers and vertices.
  DxfReadBack read;
  std::istringstream stream(dxf);
  DL_Dxf reader;
  REQUIRE(reader.in(stream, &read));
  for (const char* layer : {"WALLS", "TOOLS", "REGIONS", "DOMAIN"}) {
    CHECK(std::count(read.layers.begin(), read.layers.end(), layer) == 1);
  }
  REQUIRE(read.polylines.size() == 5);  // domain, region, wall, two tools
  CHECK(read.polylines[0].layer == "DOMAIN");
  CHECK(read.polylines[1].layer == "REGIONS");
  CHECK(read.polylines[2].layer == "WALLS");
  CHECK(read.polylines[3].layer == "TOOLS");
  CheckSamePoints(read.polylines[3].points, tasks::ChainPoints(task.tools[0].chain, kCupAngles));
  CHECK(read.texts == std::vector<std::string>{"cup"});
}

TEST_CASE("exports reject designs that do not fit the task", "[export]") {
  const Task task = ContainTask();
  Design other = CupDesign(task);
  other.task_name = "funnel";
  CHECK_THROWS_WITH(ExportJson(task, other),
                    Catch::Contains("the design is for task 'funnel', not 'contain'"));
  Design short_design = CupDesign(task);
  short_design.parameters.pop_back();
  CHECK_THROWS_AS(ExportSvg(task, short_design), std::invalid_argument);
  Design nan_design = CupDesign(task);
  nan_design.parameters[2] = std::nan("");
  CHECK_THROWS_WITH(ExportDxf(task, nan_design), Catch::Contains("parameter 2 is not finite"));

  // Design files for another task never load (LoadDesign checks the name).
  const std::string dir = OutputDir("export_reject");
  tasks::WriteFileAtomically(dir + "/design.json",
                             R"({"format_version": 1, "task": "funnel",
                                 "tools": [{"name": "cup", "parameters": [0,0,0,0,0,0,0,0]}]})");
  CHECK_THROWS_WITH(tasks::LoadDesign(dir + "/design.json", task),
                    Catch::Contains("design is for task 'funnel', not 'contain'"));
}

TEST_CASE("WriteExport writes each format's content and nothing else", "[export]") {
  const Task task = ContainTask();
  const Design design = CupDesign(task);
  const std::string dir = OutputDir("export_write");
  tasks::SaveDesign(task, design, dir + "/best_design.json");
  const Design loaded = tasks::LoadDesign(dir + "/best_design.json", task);
  for (ExportFormat format : {ExportFormat::kJson, ExportFormat::kSvg, ExportFormat::kPng,
                              ExportFormat::kDxf, ExportFormat::kCsv}) {
    INFO(ExportFormatName(format));
    const std::string path = DefaultExportPath(dir + "/best_design.json", format);
    WriteExport(task, loaded, format, path);
    CHECK(tasks::ReadFile(path) == ExportDesign(task, design, format));
  }
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++files;
  CHECK(files == 6);  // the design and five exports: no temporary files left behind
  CHECK_THROWS_AS(WriteExport(task, design, ExportFormat::kSvg, dir + "/no/such/folder/x.svg"),
                  std::runtime_error);
}

}  // namespace
}  // namespace flowdesign::design
