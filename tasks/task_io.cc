#include "tasks/task_io.h"

#include <algorithm>
#include <set>

#include "tasks/file_util.h"
#include "tasks/json_reader.h"
#include "tasks/tool_geometry.h"

namespace flowdesign::tasks {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;  // written files keep the documented field order

constexpr int kDesignFormatVersion = 1;
constexpr double kMaxBlockParticles = 1e7;

// ---------------------------------------------------------------------------------------------
// Reading: rules shared by several fields.

std::string FormatBox(const Box& box) {
  return FormatPoint(box.min) + " to " + FormatPoint(box.max);
}

Box DomainBox(const Domain& domain) { return {domain.min, domain.max}; }

// "must be within [lo, hi] (got v)", or empty when lo <= v <= hi.
std::string OutsideBounds(double value, double lo, double hi) {
  if (value >= lo && value <= hi) return "";
  return "must be within [" + FormatNumber(lo) + ", " + FormatNumber(hi) + "] (got " +
         FormatNumber(value) + ")";
}

// A box from two corner fields of `node`. With `need_area` both extents must be positive;
// otherwise the box may be degenerate (e.g. a line of allowed ramp centres) but not inverted.
Box ReadCorners(const JsonNode& node, const char* min_key, const char* max_key, bool need_area) {
  const Box box{node.Field(min_key).Point(), node.Field(max_key).Point()};
  const bool ok = need_area ? box.Width() > 0 && box.Height() > 0
                            : box.Width() >= 0 && box.Height() >= 0;
  if (!ok) {
    node.Fail(std::string(max_key) + (need_area ? " must be > " : " must be >= ") + min_key +
              " in both axes (got " + min_key + " " + FormatPoint(box.min) + ", " + max_key +
              " " + FormatPoint(box.max) + ")");
  }
  return box;
}

void RequireInDomain(const JsonNode& node, Vec2 p, const Domain& domain) {
  if (!DomainBox(domain).Contains(p)) {
    node.Fail("must lie inside the domain " + FormatBox(DomainBox(domain)) + " (got " +
              FormatPoint(p) + ")");
  }
}

void RequireInDomain(const JsonNode& node, const Box& box, const Domain& domain) {
  const Box d = DomainBox(domain);
  if (!d.Contains(box.min) || !d.Contains(box.max)) {
    node.Fail("must lie inside the domain " + FormatBox(d) + " (got " + FormatBox(box) + ")");
  }
}

// One of the names `name_of` gives the kinds, e.g. "chain" for ToolKind::kChain.
template <typename Kind>
Kind ReadKind(const JsonNode& node, std::initializer_list<Kind> kinds,
              const char* (*name_of)(Kind), const char* what) {
  const std::string name = node.String();
  std::string expected;
  for (Kind kind : kinds) expected += (expected.empty() ? "" : ", ") + std::string(name_of(kind));
  for (Kind kind : kinds) {
    if (name == name_of(kind)) return kind;
  }
  node.Fail("unknown " + std::string(what) + " '" + name + "' (expected one of: " + expected +
            ")");
}

// Item i of a per-segment field, or the field itself when one number stands for all segments.
JsonNode Entry(const JsonNode& node, size_t i) {
  return node.value().is_array() ? node.Items()[i] : node;
}

// One number per segment: a single number (used for every segment) or an array of `count`.
std::vector<double> ReadPerSegment(const JsonNode& node, int count) {
  const std::string n = std::to_string(count);
  if (node.value().is_number()) {
    return std::vector<double>(static_cast<size_t>(count), node.Number());
  }
  if (!node.value().is_array()) {
    node.Fail("must be a number or an array of " + n + " numbers (one per segment)");
  }
  const std::vector<JsonNode> items = node.Items();
  if (items.size() != static_cast<size_t>(count)) {
    node.Fail("must have " + n + " values, one per segment (got " + std::to_string(items.size()) +
              ")");
  }
  std::vector<double> values;
  for (const JsonNode& item : items) values.push_back(item.Number());
  return values;
}

// ---------------------------------------------------------------------------------------------
// Reading: the parts of a task, in file order.

Domain ReadDomain(const JsonNode& node) {
  node.AllowOnly({"dimensions", "min", "max"});
  const JsonNode dimensions = node.Field("dimensions");
  Domain domain;
  domain.dimensions = dimensions.Integer();
  if (domain.dimensions != 2) {
    dimensions.Fail("only 2D tasks are supported (got " + std::to_string(domain.dimensions) + ")");
  }
  const Box box = ReadCorners(node, "min", "max", /*need_area=*/true);
  domain.min = box.min;
  domain.max = box.max;
  return domain;
}

double ReadParticleSpacing(const JsonNode& node, const Domain& domain) {
  const double spacing = node.Number(Above(0));
  const Box d = DomainBox(domain);
  const double limit = 0.1 * std::min(d.Width(), d.Height());
  if (spacing > limit * (1.0 + 1e-12)) {
    node.Fail("must be <= 1/10 of the smaller domain extent, " + FormatNumber(limit) + " (got " +
              FormatNumber(spacing) + ")");
  }
  return spacing;
}

WaterBlock ReadBlock(const JsonNode& node, const Task& task) {
  node.AllowOnly({"min", "max", "velocity"});
  WaterBlock block;
  block.box = ReadCorners(node, "min", "max", /*need_area=*/true);
  if (auto velocity = node.Optional("velocity")) block.velocity = velocity->Point();
  RequireInDomain(node, block.box, task.domain);
  const double spacing = task.particle_spacing_m;
  if (block.box.Width() / spacing * (block.box.Height() / spacing) > kMaxBlockParticles) {
    node.Fail("would hold more than " + FormatNumber(kMaxBlockParticles) +
              " particles at particle_spacing " + FormatNumber(spacing));
  }
  if (CountBlockParticles(block, spacing) == 0) {
    node.Fail("holds no particles at particle_spacing " + FormatNumber(spacing) +
              " (width and height must be >= the spacing)");
  }
  return block;
}

Emitter ReadEmitter(const JsonNode& node, const Domain& domain) {
  node.AllowOnly({"position", "width", "velocity", "start", "stop"});
  Emitter emitter;
  const JsonNode position = node.Field("position");
  emitter.position = position.Point();
  RequireInDomain(position, emitter.position, domain);
  emitter.width_m = node.Field("width").Number(Above(0));
  const JsonNode velocity = node.Field("velocity");
  emitter.velocity = velocity.Point();
  if (emitter.velocity.x == 0.0 && emitter.velocity.y == 0.0) velocity.Fail("must be non-zero");
  if (auto start = node.Optional("start")) emitter.start_s = start->Number(AtLeast(0));
  const JsonNode stop = node.Field("stop");
  emitter.stop_s = stop.Number();
  if (emitter.stop_s < emitter.start_s) {
    stop.Fail("must be >= start " + FormatNumber(emitter.start_s) + " (got " +
              FormatNumber(emitter.stop_s) + ")");
  }
  return emitter;
}

void ReadFluid(const JsonNode& node, Task* task) {
  node.AllowOnly({"blocks", "emitters"});
  if (auto blocks = node.Optional("blocks")) {
    for (const JsonNode& item : blocks->Items()) task->blocks.push_back(ReadBlock(item, *task));
  }
  if (auto emitters = node.Optional("emitters")) {
    for (const JsonNode& item : emitters->Items()) {
      task->emitters.push_back(ReadEmitter(item, task->domain));
    }
  }
  if (task->blocks.empty() && task->emitters.empty()) {
    node.Fail("needs at least one block or emitter");
  }
}

Wall ReadWall(const JsonNode& node) {
  node.AllowOnly({"points", "thickness"});
  return Wall{node.Field("points").Points(2), node.Field("thickness").Number(Above(0))};
}

ChainTool ReadChain(const JsonNode& node, const Domain& domain) {
  ChainTool chain;
  const JsonNode anchor = node.Field("anchor");
  chain.anchor = anchor.Point();
  RequireInDomain(anchor, chain.anchor, domain);
  chain.segments = node.Field("segments").Integer(Between(1, 1000));
  chain.segment_length_m = node.Field("segment_length").Number(Above(0));
  const JsonNode angle_min = node.Field("angle_min");
  chain.angle_min_deg = ReadPerSegment(angle_min, chain.segments);
  chain.angle_max_deg = ReadPerSegment(node.Field("angle_max"), chain.segments);
  const auto& lo = chain.angle_min_deg;
  const auto& hi = chain.angle_max_deg;
  for (size_t i = 0; i < lo.size(); ++i) {
    if (lo[i] > hi[i]) {
      Entry(angle_min, i).Fail("must be <= angle_max (got " + FormatNumber(lo[i]) + " > " +
                               FormatNumber(hi[i]) + ")");
    }
  }
  if (auto initial = node.Optional("initial_angles")) {
    chain.initial_angle_deg = ReadPerSegment(*initial, chain.segments);
    for (size_t i = 0; i < lo.size(); ++i) {
      const std::string outside = OutsideBounds(chain.initial_angle_deg[i], lo[i], hi[i]);
      if (!outside.empty()) Entry(*initial, i).Fail(outside);
    }
  } else {
    chain.initial_angle_deg.assign(lo.size(), 0.0);
    for (size_t i = 0; i < lo.size(); ++i) {
      if (!OutsideBounds(0.0, lo[i], hi[i]).empty()) {
        node.Fail("initial_angles defaults to 0, outside [" + FormatNumber(lo[i]) + ", " +
                  FormatNumber(hi[i]) + "] for segment " + std::to_string(i) +
                  "; give initial_angles");
      }
    }
  }
  return chain;
}

RampTool ReadRamp(const JsonNode& node, const Domain& domain) {
  RampTool ramp;
  ramp.length_m = node.Field("length").Number(Above(0));
  ramp.center_bounds = ReadCorners(node, "center_min", "center_max", /*need_area=*/false);
  RequireInDomain(node.Field("center_min"), ramp.center_bounds.min, domain);
  RequireInDomain(node.Field("center_max"), ramp.center_bounds.max, domain);
  const JsonNode angle_min = node.Field("angle_min");
  ramp.angle_min_deg = angle_min.Number();
  ramp.angle_max_deg = node.Field("angle_max").Number();
  if (ramp.angle_min_deg > ramp.angle_max_deg) {
    angle_min.Fail("must be <= angle_max (got " + FormatNumber(ramp.angle_min_deg) + " > " +
                   FormatNumber(ramp.angle_max_deg) + ")");
  }
  ramp.initial_center = 0.5 * (ramp.center_bounds.min + ramp.center_bounds.max);
  if (auto center = node.Optional("initial_center")) {
    ramp.initial_center = center->Point();
    if (!ramp.center_bounds.Contains(ramp.initial_center)) {
      center->Fail("must lie within center_min..center_max " + FormatBox(ramp.center_bounds) +
                   " (got " + FormatPoint(ramp.initial_center) + ")");
    }
  }
  if (auto angle = node.Optional("initial_angle")) ramp.initial_angle_deg = angle->Number();
  const std::string outside =
      OutsideBounds(ramp.initial_angle_deg, ramp.angle_min_deg, ramp.angle_max_deg);
  if (!outside.empty()) {
    if (auto angle = node.Optional("initial_angle")) angle->Fail(outside);
    node.Fail("initial_angle defaults to 0, outside [" + FormatNumber(ramp.angle_min_deg) + ", " +
              FormatNumber(ramp.angle_max_deg) + "]; give initial_angle");
  }
  return ramp;
}

Tool ReadTool(const JsonNode& node, const Domain& domain) {
  Tool tool;
  tool.kind = ReadKind(node.Field("type"), {ToolKind::kChain, ToolKind::kRamp}, ToolKindName,
                       "tool type");
  if (tool.kind == ToolKind::kChain) {
    node.AllowOnly({"name", "type", "thickness", "anchor", "segments", "segment_length",
                    "angle_min", "angle_max", "initial_angles"});
  } else {
    node.AllowOnly({"name", "type", "thickness", "length", "center_min", "center_max",
                    "angle_min", "angle_max", "initial_center", "initial_angle"});
  }
  tool.name = node.Field("name").Name();
  tool.thickness_m = node.Field("thickness").Number(Above(0));
  if (tool.kind == ToolKind::kChain) {
    tool.chain = ReadChain(node, domain);
  } else {
    tool.ramp = ReadRamp(node, domain);
  }
  return tool;
}

Region ReadRegion(const JsonNode& node) {
  node.AllowOnly({"name", "box", "polygon"});
  Region region;
  region.name = node.Field("name").Name();
  if (node.Has("box") == node.Has("polygon")) node.Fail("needs exactly one of 'box' or 'polygon'");
  if (auto box = node.Optional("box")) {
    box->AllowOnly({"min", "max"});
    region.shape = RegionShape::kBox;
    region.box = ReadCorners(*box, "min", "max", /*need_area=*/true);
  } else {
    const JsonNode polygon = node.Field("polygon");
    region.shape = RegionShape::kPolygon;
    region.polygon = polygon.Points(3);
    if (!(PolygonArea(region.polygon) > 0.0)) polygon.Fail("must enclose a non-zero area");
  }
  return region;
}

// Reads an array of named items, rejecting a name that occurs twice.
template <typename Item, typename ReadItem>
std::vector<Item> ReadNamedList(const JsonNode& node, const char* what, ReadItem read_item) {
  std::vector<Item> items;
  std::set<std::string> names;
  for (const JsonNode& entry : node.Items()) {
    items.push_back(read_item(entry));
    if (!names.insert(items.back().name).second) {
      entry.Field("name").Fail("duplicate " + std::string(what) + " name '" + items.back().name +
                               "'");
    }
  }
  return items;
}

Horizon ReadHorizon(const JsonNode& node) {
  node.AllowOnly({"frames", "frame_dt"});
  Horizon horizon;
  horizon.frames = node.Field("frames").Integer(Between(1, 100000));
  horizon.frame_dt_s = node.Field("frame_dt").Number(Above(0).AtMost(1));
  return horizon;
}

std::string RegionNames(const Task& task) {
  std::string names;
  for (const Region& region : task.regions) names += (names.empty() ? "" : ", ") + region.name;
  return names.empty() ? "none" : names;
}

ObjectiveTerm ReadTerm(const JsonNode& node, const Task& task) {
  node.AllowOnly({"term", "region", "weight", "last_frames"});
  ObjectiveTerm term;
  term.kind = ReadKind(node.Field("term"),
                       {ObjectiveKind::kFractionInside, ObjectiveKind::kDistanceToRegion,
                        ObjectiveKind::kKeepOut, ObjectiveKind::kSmoothness},
                       ObjectiveKindName, "objective term");
  if (term.kind == ObjectiveKind::kSmoothness) {
    if (auto region = node.Optional("region")) region->Fail("not allowed for term 'smoothness'");
  } else {
    const JsonNode region = node.Field("region");
    term.region = region.String();
    if (task.FindRegion(term.region) == nullptr) {
      region.Fail("unknown region '" + term.region + "' (regions: " + RegionNames(task) + ")");
    }
  }
  if (auto weight = node.Optional("weight")) term.weight = weight->Number(AtLeast(0));
  if (auto last = node.Optional("last_frames")) {
    term.last_frames = last->Integer(Between(1, task.horizon.frames));
  }
  return term;
}

OptimizerSettings ReadOptimizer(const JsonNode& node) {
  node.AllowOnly({"name", "iterations", "learning_rate", "learning_rate_decay", "restart_patience",
                  "max_step", "max_step_adapt", "restart_draws", "restart_spread", "backtrack", "population",
                  "elite_fraction", "starts"});
  OptimizerSettings settings;
  if (auto name = node.Optional("name")) {
    settings.kind = ReadKind(name.value(),
                             {OptimizerKind::kAdam, OptimizerKind::kLbfgs, OptimizerKind::kCem,
                              OptimizerKind::kRandom},
                             OptimizerKindName, "optimizer");
  }
  if (auto n = node.Optional("iterations")) settings.iterations = n->Integer(AtLeast(1));
  if (auto n = node.Optional("learning_rate")) settings.learning_rate = n->Number(Above(0));
  if (auto n = node.Optional("learning_rate_decay")) {
    settings.learning_rate_decay = n->Number(Above(0).AtMost(1));
  }
  if (auto n = node.Optional("restart_patience")) settings.restart_patience = n->Integer(AtLeast(0));
  if (auto n = node.Optional("max_step")) settings.max_step_m = n->Number(AtLeast(0));
  if (auto n = node.Optional("max_step_adapt")) {
    settings.max_step_adapt = n->Number(AtLeast(1));
    if (settings.max_step_adapt > 1.0 && !(settings.max_step_m > 0.0)) {
      n->Fail("needs max_step > 0 (an adaptive limit starts from max_step)");
    }
  }
  if (auto n = node.Optional("restart_draws")) {
    settings.restart_draws = n->Integer(AtLeast(0));
    if (settings.restart_draws > 0 && settings.restart_patience == 0) {
      n->Fail("needs restart_patience > 0 (the draws are tried at a restart)");
    }
  }
  if (auto n = node.Optional("restart_spread")) settings.restart_spread = n->Number(Above(0).AtMost(1));
  if (auto n = node.Optional("backtrack")) settings.backtrack = n->Boolean();
  if (auto n = node.Optional("population")) settings.population = n->Integer(AtLeast(2));
  if (auto n = node.Optional("elite_fraction")) {
    settings.elite_fraction = n->Number(Above(0).AtMost(1));
  }
  if (auto n = node.Optional("starts")) settings.starts = n->Integer(AtLeast(1));
  return settings;
}

// ---------------------------------------------------------------------------------------------
// Writing.

ordered_json PointJson(Vec2 p) { return ordered_json::array({p.x, p.y}); }

ordered_json ToolJson(const Tool& tool) {
  ordered_json j = {{"name", tool.name}, {"type", ToolKindName(tool.kind)}};
  if (tool.kind == ToolKind::kChain) {
    const ChainTool& chain = tool.chain;
    j["anchor"] = PointJson(chain.anchor);
    j["segments"] = chain.segments;
    j["segment_length"] = chain.segment_length_m;
    j["thickness"] = tool.thickness_m;
    j["angle_min"] = chain.angle_min_deg;
    j["angle_max"] = chain.angle_max_deg;
    j["initial_angles"] = chain.initial_angle_deg;
  } else {
    const RampTool& ramp = tool.ramp;
    j["length"] = ramp.length_m;
    j["thickness"] = tool.thickness_m;
    j["center_min"] = PointJson(ramp.center_bounds.min);
    j["center_max"] = PointJson(ramp.center_bounds.max);
    j["angle_min"] = ramp.angle_min_deg;
    j["angle_max"] = ramp.angle_max_deg;
    j["initial_center"] = PointJson(ramp.initial_center);
    j["initial_angle"] = ramp.initial_angle_deg;
  }
  return j;
}

ordered_json RegionJson(const Region& region) {
  ordered_json j = {{"name", region.name}};
  if (region.shape == RegionShape::kBox) {
    j["box"] = {{"min", PointJson(region.box.min)}, {"max", PointJson(region.box.max)}};
  } else {
    j["polygon"] = ordered_json::array();
    for (Vec2 p : region.polygon) j["polygon"].push_back(PointJson(p));
  }
  return j;
}

ordered_json OrderedTaskJson(const Task& task) {
  ordered_json j;
  j["format_version"] = task.format_version;
  j["name"] = task.name;
  j["description"] = task.description;
  j["domain"] = {{"dimensions", task.domain.dimensions},
                 {"min", PointJson(task.domain.min)},
                 {"max", PointJson(task.domain.max)}};
  j["gravity"] = PointJson(task.gravity);
  j["particle_spacing"] = task.particle_spacing_m;
  ordered_json blocks = ordered_json::array();
  for (const WaterBlock& b : task.blocks) {
    blocks.push_back({{"min", PointJson(b.box.min)},
                      {"max", PointJson(b.box.max)},
                      {"velocity", PointJson(b.velocity)}});
  }
  ordered_json emitters = ordered_json::array();
  for (const Emitter& e : task.emitters) {
    emitters.push_back({{"position", PointJson(e.position)},
                        {"width", e.width_m},
                        {"velocity", PointJson(e.velocity)},
                        {"start", e.start_s},
                        {"stop", e.stop_s}});
  }
  j["fluid"] = {{"blocks", blocks}, {"emitters", emitters}};
  j["walls"] = ordered_json::array();
  for (const Wall& wall : task.walls) {
    ordered_json points = ordered_json::array();
    for (Vec2 p : wall.points) points.push_back(PointJson(p));
    j["walls"].push_back({{"points", points}, {"thickness", wall.thickness_m}});
  }
  j["tools"] = ordered_json::array();
  for (const Tool& tool : task.tools) j["tools"].push_back(ToolJson(tool));
  j["regions"] = ordered_json::array();
  for (const Region& region : task.regions) j["regions"].push_back(RegionJson(region));
  j["objective"] = ordered_json::array();
  for (const ObjectiveTerm& term : task.objective) {
    ordered_json t = {{"term", ObjectiveKindName(term.kind)}};
    if (term.kind != ObjectiveKind::kSmoothness) t["region"] = term.region;
    t["weight"] = term.weight;
    t["last_frames"] = term.last_frames;
    j["objective"].push_back(t);
  }
  j["horizon"] = {{"frames", task.horizon.frames}, {"frame_dt", task.horizon.frame_dt_s}};
  j["seed"] = task.seed;
  const OptimizerSettings& o = task.optimizer;
  j["optimizer"] = {{"name", OptimizerKindName(o.kind)}, {"iterations", o.iterations},
                    {"learning_rate", o.learning_rate},
                    {"learning_rate_decay", o.learning_rate_decay},
                    {"restart_patience", o.restart_patience}, {"max_step", o.max_step_m},
                    {"max_step_adapt", o.max_step_adapt},
                    {"restart_draws", o.restart_draws}, {"restart_spread", o.restart_spread},
                    {"backtrack", o.backtrack}, {"population", o.population},
                    {"elite_fraction", o.elite_fraction}, {"starts", o.starts}};
  return j;
}

ordered_json OrderedDesignJson(const Task& task, const Design& design) {
  const std::vector<std::vector<double>> split = SplitParameters(task, design.parameters);
  ordered_json j = {{"format_version", kDesignFormatVersion}, {"task", task.name}};
  j["tools"] = ordered_json::array();
  for (size_t i = 0; i < task.tools.size(); ++i) {
    j["tools"].push_back({{"name", task.tools[i].name}, {"parameters", split[i]}});
  }
  return j;
}

json ReadJsonFile(const std::string& path) {
  std::string text;
  try {
    text = ReadFile(path);
  } catch (const std::runtime_error& e) {
    throw TaskError(e.what());  // "<path>: cannot open (...)"
  }
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    std::string message = e.what();  // "[json.exception.parse_error.101] parse error at ..."
    const size_t tag_end = message.find("] ");
    if (message.rfind("[json.exception.", 0) == 0 && tag_end != std::string::npos) {
      message.erase(0, tag_end + 2);
    }
    throw TaskError(path + ": not valid JSON: " + message);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Tasks.

Task ParseTask(const json& json_value, const std::string& source) {
  const JsonNode root(json_value, source);
  Task task;
  const JsonNode version = root.Field("format_version");
  task.format_version = version.Integer();
  if (task.format_version != kTaskFormatVersion) {
    version.Fail("unsupported format_version " + std::to_string(task.format_version) +
                 " (this build reads " + std::to_string(kTaskFormatVersion) + ")");
  }
  root.AllowOnly({"format_version", "name", "description", "domain", "gravity",
                  "particle_spacing", "fluid", "walls", "tools", "regions", "objective",
                  "horizon", "seed", "optimizer"});
  task.name = root.Field("name").Name();
  if (auto description = root.Optional("description")) task.description = description->String();
  task.domain = ReadDomain(root.Field("domain"));
  if (auto gravity = root.Optional("gravity")) task.gravity = gravity->Point();
  task.particle_spacing_m = ReadParticleSpacing(root.Field("particle_spacing"), task.domain);
  ReadFluid(root.Field("fluid"), &task);
  if (auto walls = root.Optional("walls")) {
    for (const JsonNode& item : walls->Items()) task.walls.push_back(ReadWall(item));
  }
  if (auto tools = root.Optional("tools")) {
    task.tools = ReadNamedList<Tool>(*tools, "tool", [&](const JsonNode& item) {
      return ReadTool(item, task.domain);
    });
  }
  if (auto regions = root.Optional("regions")) {
    task.regions = ReadNamedList<Region>(*regions, "region", ReadRegion);
  }
  task.horizon = ReadHorizon(root.Field("horizon"));
  const JsonNode objective = root.Field("objective");
  for (const JsonNode& item : objective.Items(1, "term")) {
    task.objective.push_back(ReadTerm(item, task));
  }
  if (auto seed = root.Optional("seed")) task.seed = seed->Unsigned();
  if (auto optimizer = root.Optional("optimizer")) task.optimizer = ReadOptimizer(*optimizer);
  return task;
}

Task LoadTask(const std::string& path) { return ParseTask(ReadJsonFile(path), path); }

json TaskToJson(const Task& task) { return json(OrderedTaskJson(task)); }

void SaveTask(const Task& task, const std::string& path) {
  const ordered_json j = OrderedTaskJson(task);
  ParseTask(json(j), path);  // never write a file that would not load
  WriteFileAtomically(path, j.dump(2) + "\n");
}

// ---------------------------------------------------------------------------------------------
// Designs.

json DesignToJson(const Task& task, const Design& design) {
  return json(OrderedDesignJson(task, design));
}

Design ParseDesign(const json& json_value, const Task& task, const std::string& source) {
  const JsonNode root(json_value, source);
  const JsonNode version = root.Field("format_version");
  const int format_version = version.Integer();
  if (format_version != kDesignFormatVersion) {
    version.Fail("unsupported format_version " + std::to_string(format_version) +
                 " (this build reads " + std::to_string(kDesignFormatVersion) + ")");
  }
  root.AllowOnly({"format_version", "task", "tools"});
  Design design;
  const JsonNode task_name = root.Field("task");
  design.task_name = task_name.String();
  if (design.task_name != task.name) {
    task_name.Fail("design is for task '" + design.task_name + "', not '" + task.name + "'");
  }
  const JsonNode tools = root.Field("tools");
  const std::vector<JsonNode> entries = tools.Items();
  for (size_t i = 0; i < entries.size(); ++i) {
    entries[i].AllowOnly({"name", "parameters"});
    const JsonNode name_node = entries[i].Field("name");
    const std::string name = name_node.String();
    const bool known = std::any_of(task.tools.begin(), task.tools.end(),
                                   [&](const Tool& t) { return t.name == name; });
    if (!known) {
      std::string names;
      for (const Tool& t : task.tools) names += (names.empty() ? "" : ", ") + t.name;
      name_node.Fail("unknown tool '" + name + "' (task '" + task.name + "' has: " +
                     (names.empty() ? "none" : names) + ")");
    }
    if (i >= task.tools.size()) name_node.Fail("tool '" + name + "' is listed more than once");
    const Tool& tool = task.tools[i];
    if (tool.name != name) {
      name_node.Fail("expected tool '" + tool.name +
                     "' here (tools are listed in task order), got '" + name + "'");
    }
    const JsonNode parameters = entries[i].Field("parameters");
    const std::vector<JsonNode> values = parameters.Items();
    if (values.size() != static_cast<size_t>(tool.ParameterCount())) {
      parameters.Fail("must have " + std::to_string(tool.ParameterCount()) + " values for " +
                      ToolKindName(tool.kind) + " tool '" + tool.name + "' (got " +
                      std::to_string(values.size()) + ")");
    }
    const std::vector<double> lo = tool.LowerBounds();
    const std::vector<double> hi = tool.UpperBounds();
    for (size_t k = 0; k < values.size(); ++k) {
      const double value = values[k].Number();
      const std::string outside = OutsideBounds(value, lo[k], hi[k]);
      if (!outside.empty()) values[k].Fail(outside);
      design.parameters.push_back(value);
    }
  }
  if (entries.size() < task.tools.size()) {
    tools.Fail("missing tool '" + task.tools[entries.size()].name + "'");
  }
  return design;
}

Design LoadDesign(const std::string& path, const Task& task) {
  return ParseDesign(ReadJsonFile(path), task, path);
}

void SaveDesign(const Task& task, const Design& design, const std::string& path) {
  const ordered_json j = OrderedDesignJson(task, design);
  ParseDesign(json(j), task, path);  // never write a file that would not load
  WriteFileAtomically(path, j.dump(2) + "\n");
}

}  // namespace flowdesign::tasks
