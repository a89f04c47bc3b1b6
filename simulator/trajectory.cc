#include "simulator/trajectory.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "simulator/npy.h"
#include "tasks/file_util.h"

namespace flowdesign::simulator {
namespace {

using nlohmann::json;

json PointJson(Vec2 p) { return json::array({p.x, p.y}); }
Vec2 PointFrom(const json& j) { return {j.at(0).get<double>(), j.at(1).get<double>()}; }

// Regions are stored as polygons: pictures only need their outline.
std::vector<Vec2> Outline(const tasks::Region& r) {
  if (r.shape == tasks::RegionShape::kPolygon) return r.polygon;
  return {r.box.min, {r.box.max.x, r.box.min.y}, r.box.max, {r.box.min.x, r.box.max.y}};
}

}  // namespace

std::vector<Vec2> Trajectory::AlivePositions(int frame) const {
  std::vector<Vec2> out;
  for (int i = 0; i < particle_count; ++i) {
    if (Alive(frame, i)) out.push_back(Position(frame, i));
  }
  return out;
}

Trajectory EmptyTrajectory(const Scene& scene, int particle_count, int frame_count) {
  Trajectory t;
  t.domain = scene.domain;
  t.gravity = scene.gravity;
  t.particle_spacing_m = scene.particle_spacing_m;
  t.frame_dt_s = scene.frame_dt_s;
  t.solids = scene.solids;
  t.wall_capsule_count = scene.wall_capsule_count;
  t.particle_count = particle_count;
  t.frame_count = frame_count;
  t.positions.assign(static_cast<size_t>(frame_count) * particle_count * 2,
                     std::numeric_limits<float>::quiet_NaN());
  t.birth_frame.assign(particle_count, 0);
  t.birth_velocity.assign(static_cast<size_t>(particle_count) * 2, 0.0f);
  return t;
}

void SaveTrajectory(const Trajectory& t, const std::string& directory) {
  std::filesystem::create_directories(directory);
  const std::string dir = directory + "/";
  WriteNpy(dir + "positions.npy", {t.frame_count, t.particle_count, 2}, t.positions.data());
  WriteNpy(dir + "birth_frame.npy", {t.particle_count}, t.birth_frame.data());
  WriteNpy(dir + "birth_velocity.npy", {t.particle_count, 2}, t.birth_velocity.data());
  const std::vector<int32_t> types(t.particle_count, 0);
  WriteNpy(dir + "particle_type.npy", {t.particle_count}, types.data());
  if (!t.mpm_state.empty()) {
    WriteNpy(dir + "mpm_state.npy", {t.frame_count, t.particle_count, kMpmStateWidth}, t.mpm_state.data());
  }
  json meta;
  meta["format_version"] = kTrajectoryFormatVersion;
  meta["simulator"] = t.simulator;
  if (t.simulator == "mpm") {
    meta["mpm_physics"] = {{"shear_viscosity_m2ps", t.mpm_physics.shear_viscosity_m2ps},
                           {"soft_solid_boundary", t.mpm_physics.soft_solid_boundary}};
  }
  meta["dimensions"] = 2;
  meta["bounds"] = json::array({PointJson(t.domain.min), PointJson(t.domain.max)});
  meta["gravity"] = PointJson(t.gravity);
  meta["particle_spacing"] = t.particle_spacing_m;
  meta["frame_dt"] = t.frame_dt_s;
  meta["frame_count"] = t.frame_count;
  meta["particle_count"] = t.particle_count;
  meta["particle_types"] = {{"0", "fluid"}};
  meta["solids"] = json::array();
  for (size_t i = 0; i < t.solids.size(); ++i) {
    const Capsule& c = t.solids[i];
    meta["solids"].push_back({{"a", PointJson(c.a)}, {"b", PointJson(c.b)}, {"radius", c.radius},
                              {"kind", static_cast<int>(i) < t.wall_capsule_count ? "wall" : "tool"}});
  }
  meta["regions"] = json::array();
  for (const tasks::Region& r : t.regions) {
    json outline = json::array();
    for (Vec2 p : Outline(r)) outline.push_back(PointJson(p));
    meta["regions"].push_back({{"name", r.name}, {"polygon", outline}});
  }
  tasks::WriteFileAtomically(dir + "metadata.json", meta.dump(2) + "\n");
}

Trajectory LoadTrajectory(const std::string& directory) {
  const std::string dir = directory + "/";
  json meta;
  try {
    meta = json::parse(tasks::ReadFile(dir + "metadata.json"));
  } catch (const json::exception& e) {
    throw std::runtime_error(dir + "metadata.json: not valid JSON: " + e.what());
  }
  Trajectory t;
  try {
    if (meta.at("format_version").get<int>() != kTrajectoryFormatVersion) {
      throw std::runtime_error("unsupported format_version " + meta.at("format_version").dump() + " (expected " +
                               std::to_string(kTrajectoryFormatVersion) + "; simulate or generate it again)");
    }
    t.simulator = meta.value("simulator", "");
    const json physics = meta.value("mpm_physics", json::object());
    t.mpm_physics.shear_viscosity_m2ps = physics.value("shear_viscosity_m2ps", 0.0);
    t.mpm_physics.soft_solid_boundary = physics.value("soft_solid_boundary", false);
    t.domain = {PointFrom(meta.at("bounds").at(0)), PointFrom(meta.at("bounds").at(1))};
    t.gravity = PointFrom(meta.at("gravity"));
    t.particle_spacing_m = meta.at("particle_spacing").get<double>();
    t.frame_dt_s = meta.at("frame_dt").get<double>();
    for (const json& s : meta.at("solids")) {
      t.solids.push_back({PointFrom(s.at("a")), PointFrom(s.at("b")), s.at("radius").get<double>()});
      if (s.value("kind", "tool") == "wall") ++t.wall_capsule_count;
    }
    for (const json& r : meta.value("regions", json::array())) {
      tasks::Region region;
      region.name = r.at("name").get<std::string>();
      region.shape = tasks::RegionShape::kPolygon;
      for (const json& p : r.at("polygon")) region.polygon.push_back(PointFrom(p));
      t.regions.push_back(region);
    }
  } catch (const json::exception& e) {
    throw std::runtime_error(dir + "metadata.json: " + e.what());
  }
  NpyArray<float> positions = ReadNpyFloat(dir + "positions.npy");
  NpyArray<int32_t> birth = ReadNpyInt(dir + "birth_frame.npy");
  NpyArray<float> birth_velocity = ReadNpyFloat(dir + "birth_velocity.npy");
  if (positions.shape.size() != 3 || positions.shape[2] != 2 || birth.shape.size() != 1 ||
      birth.shape[0] != positions.shape[1]) {
    throw std::runtime_error(dir + "positions.npy: expected shape [frames, particles, 2] matching birth_frame.npy");
  }
  if (birth_velocity.shape != std::vector<int64_t>{positions.shape[1], 2}) {
    throw std::runtime_error(dir + "birth_velocity.npy: expected shape [particles, 2] matching positions.npy");
  }
  t.frame_count = static_cast<int>(positions.shape[0]);
  t.particle_count = static_cast<int>(positions.shape[1]);
  t.positions = std::move(positions.data);
  t.birth_frame = std::move(birth.data);
  t.birth_velocity = std::move(birth_velocity.data);
  if (std::filesystem::exists(dir + "mpm_state.npy")) {
    NpyArray<float> state = ReadNpyFloat(dir + "mpm_state.npy");
    if (state.shape != std::vector<int64_t>{t.frame_count, t.particle_count, kMpmStateWidth}) {
      throw std::runtime_error(dir + "mpm_state.npy: expected shape [frames, particles, " +
                               std::to_string(kMpmStateWidth) + "] matching positions.npy");
    }
    t.mpm_state = std::move(state.data);
  }
  return t;
}

}  // namespace flowdesign::simulator
