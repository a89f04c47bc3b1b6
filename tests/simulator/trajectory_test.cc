// Trajectories on disk: save/load round trip, .npy headers (as NumPy writes them), and clear
// errors for corrupt or truncated files.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "simulator/npy.h"
#include "simulator/scene.h"
#include "simulator/trajectory.h"
#include "tasks/file_util.h"
#include "tests/test_support.h"

namespace flowdesign::simulator {
namespace {

using testing::OutputDir;

Trajectory SmallTrajectory() {
  Scene scene;
  scene.domain = {{0.0, 0.0}, {1.0, 0.5}};
  scene.gravity = {0.0, -9.81};
  scene.particle_spacing_m = 0.02;
  scene.frame_dt_s = 0.004;
  scene.frames = 3;
  scene.solids = {{{0.0, 0.1}, {1.0, 0.1}, 0.01}, {{0.2, 0.3}, {0.4, 0.25}, 0.005}};
  scene.wall_capsule_count = 1;
  Trajectory t = EmptyTrajectory(scene, 5, 4);
  t.simulator = "mpm";
  t.birth_frame = {0, 0, 0, 2, 3};
  t.birth_velocity = {0.0f, 0.0f, 0.5f, -1.0f, 0.0f, 0.0f, 2.0f, 0.25f, -3.0f, 1.5f};
  for (int f = 0; f < t.frame_count; ++f) {
    for (int p = 0; p < t.particle_count; ++p) {
      if (!t.Alive(f, p)) continue;
      const size_t k = (static_cast<size_t>(f) * t.particle_count + p) * 2;
      t.positions[k] = 0.1f * static_cast<float>(p) + 0.01f * static_cast<float>(f);
      t.positions[k + 1] = 0.3f - 0.001f * static_cast<float>(f * f);
    }
  }
  tasks::Region goal;
  goal.name = "goal";
  goal.box = {{0.6, 0.0}, {0.9, 0.2}};
  t.regions.push_back(goal);
  return t;
}

TEST_CASE("trajectory save/load round trip", "[trajectory]") {
  Trajectory t = SmallTrajectory();
  t.mpm_physics = {0.004, true};
  const std::string dir = OutputDir("trajectory_round_trip") + "/run";
  SaveTrajectory(t, dir);
  for (const char* file : {"positions.npy", "birth_frame.npy", "birth_velocity.npy", "particle_type.npy", "metadata.json"}) {
    CHECK(std::filesystem::exists(dir + "/" + file));
  }
  const Trajectory u = LoadTrajectory(dir);
  CHECK(u.simulator == "mpm");
  CHECK(u.mpm_physics.shear_viscosity_m2ps == 0.004);
  CHECK(u.mpm_physics.soft_solid_boundary);
  CHECK(u.domain.min.x == t.domain.min.x);
  CHECK(u.domain.max.y == t.domain.max.y);
  CHECK(u.gravity.y == t.gravity.y);
  CHECK(u.particle_spacing_m == t.particle_spacing_m);
  CHECK(u.frame_dt_s == t.frame_dt_s);
  CHECK(u.particle_count == t.particle_count);
  CHECK(u.frame_count == t.frame_count);
  CHECK(u.birth_frame == t.birth_frame);
  CHECK(u.birth_velocity == t.birth_velocity);
  REQUIRE(u.positions.size() == t.positions.size());
  // Bit-identical, NaN (not yet emitted) included.
  CHECK(std::memcmp(u.positions.data(), t.positions.data(), t.positions.size() * sizeof(float)) == 0);
  CHECK(std::isnan(u.Position(0, 3).x));
  REQUIRE(u.solids.size() == 2);
  CHECK(u.wall_capsule_count == 1);
  CHECK(u.solids[1].a.x == 0.2);
  CHECK(u.solids[1].b.y == 0.25);
  CHECK(u.solids[1].radius == 0.005);
  REQUIRE(u.regions.size() == 1);
  CHECK(u.regions[0].name == "goal");
  CHECK(u.regions[0].Area() == Approx(0.3 * 0.2));
  CHECK(u.regions[0].Contains({0.7, 0.1}));
  CHECK_FALSE(u.regions[0].Contains({0.5, 0.1}));
  CHECK(u.AlivePositions(2).size() == 4);
}

TEST_CASE("a trajectory saved before MPM's physics was recorded loads with the default physics", "[trajectory]") {
  Trajectory t = SmallTrajectory();
  t.mpm_physics = {0.004, true};
  const std::string dir = OutputDir("trajectory_without_physics") + "/run";
  SaveTrajectory(t, dir);
  nlohmann::json meta = nlohmann::json::parse(tasks::ReadFile(dir + "/metadata.json"));
  REQUIRE(meta.contains("mpm_physics"));
  meta.erase("mpm_physics");
  tasks::WriteFileAtomically(dir + "/metadata.json", meta.dump(2));
  const Trajectory u = LoadTrajectory(dir);
  CHECK(u.mpm_physics.shear_viscosity_m2ps == 0.0);
  CHECK_FALSE(u.mpm_physics.soft_solid_boundary);
  t.simulator = "learned";  // a learned rollout has no MPM physics to record
  SaveTrajectory(t, dir + "_learned");
  CHECK_FALSE(nlohmann::json::parse(tasks::ReadFile(dir + "_learned/metadata.json")).contains("mpm_physics"));
}

TEST_CASE("npy: 1-D and 3-D arrays read back with their shapes", "[npy]") {
  const std::string dir = OutputDir("npy_shapes");
  const std::vector<int32_t> ints = {7, -1, 2147483647};
  WriteNpy(dir + "/ints.npy", {3}, ints.data());
  const NpyArray<int32_t> a = ReadNpyInt(dir + "/ints.npy");
  CHECK(a.shape == std::vector<int64_t>{3});
  CHECK(a.data == ints);

  std::vector<float> floats(2 * 3 * 2);
  for (size_t i = 0; i < floats.size(); ++i) floats[i] = 0.5f * static_cast<float>(i);
  WriteNpy(dir + "/floats.npy", {2, 3, 2}, floats.data());
  const NpyArray<float> b = ReadNpyFloat(dir + "/floats.npy");
  CHECK(b.shape == std::vector<int64_t>{2, 3, 2});
  CHECK(b.data == floats);

  // The header is NumPy format 1.0: magic, version, little-endian length, and a dict padded
  // with spaces and a newline so that the data starts at a multiple of 64 bytes.
  const std::string bytes = tasks::ReadFile(dir + "/floats.npy");
  REQUIRE(bytes.size() > 10);
  CHECK(bytes.compare(0, 6, "\x93NUMPY") == 0);
  CHECK(bytes[6] == 1);
  const size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  CHECK((10 + header_len) % 64 == 0);
  CHECK(bytes[10 + header_len - 1] == '\n');
  CHECK(bytes.find("'shape': (2, 3, 2)") != std::string::npos);
  CHECK(bytes.size() == 10 + header_len + floats.size() * sizeof(float));
}

// A file as numpy.save writes it (np.save("x.npy", np.arange(4, dtype="<i4"))), header built by
// hand here: the reader must not depend on this project's own spacing of the dict.
TEST_CASE("npy: reads a header written by NumPy", "[npy]") {
  const std::string dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }";
  std::string header = dict;
  header.append(64 - (10 + dict.size() + 1) % 64, ' ');
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  for (int32_t v : {0, 1, 2, 3}) bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  const std::string path = OutputDir("npy_numpy") + "/arange.npy";
  tasks::WriteFileAtomically(path, bytes);
  const NpyArray<int32_t> a = ReadNpyInt(path);
  CHECK(a.shape == std::vector<int64_t>{4});
  CHECK(a.data == std::vector<int32_t>{0, 1, 2, 3});
}

TEST_CASE("npy: corrupt, truncated or mistyped files give errors naming the file", "[npy]") {
  const std::string dir = OutputDir("npy_errors");
  const std::vector<float> values(10, 1.0f);
  WriteNpy(dir + "/good.npy", {5, 2}, values.data());
  const std::string good = tasks::ReadFile(dir + "/good.npy");

  SECTION("truncated data") {
    const std::string path = dir + "/truncated.npy";
    tasks::WriteFileAtomically(path, good.substr(0, good.size() - 3));
    REQUIRE_THROWS_WITH(ReadNpyFloat(path), Catch::Contains(path) && Catch::Contains("truncated"));
  }
  SECTION("truncated header") {
    const std::string path = dir + "/short_header.npy";
    tasks::WriteFileAtomically(path, good.substr(0, 30));
    REQUIRE_THROWS_WITH(ReadNpyFloat(path), Catch::Contains(path));
  }
  SECTION("not a .npy file") {
    const std::string path = dir + "/text.npy";
    tasks::WriteFileAtomically(path, "hello, this is not numpy data at all");
    REQUIRE_THROWS_WITH(ReadNpyFloat(path), Catch::Contains(path) && Catch::Contains("not a .npy"));
  }
  SECTION("wrong dtype") {
    REQUIRE_THROWS_WITH(ReadNpyInt(dir + "/good.npy"), Catch::Contains(dir + "/good.npy") &&
                                                           Catch::Contains("dtype"));
  }
  SECTION("missing file") {
    REQUIRE_THROWS_WITH(ReadNpyFloat(dir + "/missing.npy"), Catch::Contains(dir + "/missing.npy"));
  }
  SECTION("trajectory folder with a corrupt positions.npy") {
    const std::string run = dir + "/run";
    SaveTrajectory(SmallTrajectory(), run);
    const std::string positions = tasks::ReadFile(run + "/positions.npy");
    tasks::WriteFileAtomically(run + "/positions.npy", positions.substr(0, positions.size() - 8));
    REQUIRE_THROWS_WITH(LoadTrajectory(run), Catch::Contains("positions.npy"));
  }
  SECTION("trajectory folder without metadata") {
    REQUIRE_THROWS_WITH(LoadTrajectory(dir + "/nowhere"), Catch::Contains("metadata.json"));
  }
}

}  // namespace
}  // namespace flowdesign::simulator
