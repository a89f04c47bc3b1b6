// Pictures (PNG, GIF) of trajectories and SVG plots.
#include <gd.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "design/plot.h"
#include "design/render.h"
#include "simulator/trajectory.h"
#include "tasks/file_util.h"
#include "tests/test_support.h"

namespace flowdesign::design {
namespace {

using simulator::Trajectory;
using testing::OutputDir;

struct ImageDeleter {
  void operator()(gdImage* image) const { gdImageDestroy(image); }
};
using Image = std::unique_ptr<gdImage, ImageDeleter>;

// Domain 1 m x 0.5 m: at 512 px wide, 512 px per metre and 256 px high.
// Frame 0: one particle at (0.25, 0.25); frame 1: it moved to (0.3, 0.25). A wall along
// y = 0.45 on the left, a tool along y = 0.1 on the right, a goal box above the tool.
Trajectory TestTrajectory(int frames = 2) {
  simulator::Scene scene;
  scene.domain = {{0.0, 0.0}, {1.0, 0.5}};
  scene.gravity = {0.0, -9.81};
  scene.particle_spacing_m = 0.02;  // 10 px discs
  scene.frame_dt_s = 0.01;
  scene.solids = {{{0.05, 0.45}, {0.2, 0.45}, 0.01}, {{0.6, 0.1}, {0.9, 0.1}, 0.01}};
  scene.wall_capsule_count = 1;
  Trajectory t = simulator::EmptyTrajectory(scene, 1, frames);
  t.simulator = "mpm";
  for (int f = 0; f < frames; ++f) {
    t.positions[2 * f] = f == 0 ? 0.25f : 0.3f;
    t.positions[2 * f + 1] = 0.25f;
  }
  tasks::Region goal;
  goal.name = "goal";
  goal.box = {{0.6, 0.3}, {0.9, 0.42}};
  t.regions.push_back(goal);
  return t;
}

struct Rgb {
  int r, g, b;
};

Rgb PixelAt(gdImagePtr image, int x, int y) {
  const int c = gdImageGetTrueColorPixel(image, x, y);
  return {gdTrueColorGetRed(c), gdTrueColorGetGreen(c), gdTrueColorGetBlue(c)};
}

Image ReadPng(const std::string& path) {
  std::string bytes = tasks::ReadFile(path);
  return Image(gdImageCreateFromPngPtr(static_cast<int>(bytes.size()), bytes.data()));
}

TEST_CASE("PNG frame: size from the aspect ratio, particles blue, tools orange", "[render]") {
  const Trajectory t = TestTrajectory();
  const std::string dir = OutputDir("render_png");
  WriteFramePng(t, 0, dir + "/frame0.png");
  WriteFramePng(t, 1, dir + "/frame1.png");
  const Image image = ReadPng(dir + "/frame0.png");
  REQUIRE(image);
  CHECK(gdImageSX(image.get()) == 512);
  CHECK(gdImageSY(image.get()) == 256);

  const Rgb particle = PixelAt(image.get(), 128, 128);  // (0.25, 0.25)
  INFO("particle pixel " << particle.r << "," << particle.g << "," << particle.b);
  CHECK(particle.b > 150);
  CHECK(particle.b > particle.r + 80);
  CHECK(particle.b > particle.g + 40);

  const Rgb tool = PixelAt(image.get(), 384, 205);  // (0.75, 0.1)
  INFO("tool pixel " << tool.r << "," << tool.g << "," << tool.b);
  CHECK(tool.r > 200);
  CHECK(tool.g > 100);
  CHECK(tool.g < 180);
  CHECK(tool.b < 80);

  const Rgb wall = PixelAt(image.get(), 64, 26);  // (0.125, 0.45)
  INFO("wall pixel " << wall.r << "," << wall.g << "," << wall.b);
  CHECK(wall.r < 100);
  CHECK(std::abs(wall.r - wall.b) < 20);

  const Rgb goal = PixelAt(image.get(), 384, 60);  // (0.75, 0.383): translucent green
  INFO("goal pixel " << goal.r << "," << goal.g << "," << goal.b);
  CHECK(goal.g > goal.r + 20);
  CHECK(goal.g > goal.b + 20);
  CHECK(goal.r > 100);  // translucent: lighter than the outline colour

  const Rgb empty = PixelAt(image.get(), 256, 180);  // (0.5, 0.15): background
  CHECK((empty.r == 255 && empty.g == 255 && empty.b == 255));

  // In frame 1 the particle has moved 0.05 m = 25.6 px to the right.
  const Image moved = ReadPng(dir + "/frame1.png");
  REQUIRE(moved);
  CHECK(PixelAt(moved.get(), 128, 128).r == 255);
  CHECK(PixelAt(moved.get(), 154, 128).b > 150);

  RenderOptions wide;
  wide.width_px = 300;
  const std::string path = dir + "/wide.png";
  WriteFramePng(t, 0, path, wide);
  const Image small = ReadPng(path);
  REQUIRE(small);
  CHECK(gdImageSX(small.get()) == 300);
  CHECK(gdImageSY(small.get()) == 150);

  CHECK_THROWS_AS(WriteFramePng(t, 2, dir + "/none.png"), std::out_of_range);
}

TEST_CASE("animated GIF and side-by-side GIF", "[render]") {
  const Trajectory t = TestTrajectory(401);
  const std::string dir = OutputDir("render_gif");
  WriteAnimatedGif(t, dir + "/animation.gif");
  const std::string gif = tasks::ReadFile(dir + "/animation.gif");
  REQUIRE(gif.size() > 100);
  CHECK(gif.compare(0, 6, "GIF89a") == 0);
  CHECK(gif.find("NETSCAPE2.0") != std::string::npos);  // loops
  CHECK(static_cast<unsigned char>(gif.back()) == 0x3b);  // trailer
  Image first(gdImageCreateFromGifPtr(static_cast<int>(gif.size()), const_cast<char*>(gif.data())));
  REQUIRE(first);
  CHECK(gdImageSX(first.get()) == 512);
  CHECK(gdImageSY(first.get()) == 256);

  Trajectory right = TestTrajectory(301);
  right.simulator = "learned";
  WriteSideBySideGif(t, right, dir + "/side_by_side.gif");
  const std::string both = tasks::ReadFile(dir + "/side_by_side.gif");
  CHECK(both.compare(0, 6, "GIF89a") == 0);
  Image pair(gdImageCreateFromGifPtr(static_cast<int>(both.size()), const_cast<char*>(both.data())));
  REQUIRE(pair);
  CHECK(gdImageSX(pair.get()) == 2 * 512 + 2);
  CHECK(gdImageSY(pair.get()) == 256);
}

TEST_CASE("GIF frame schedule: at most ~150 frames, real-time delays", "[render]") {
  RenderOptions options;
  const std::vector<int> frames = GifFrames(1001, 0.0025, options);
  REQUIRE(!frames.empty());
  CHECK(frames.size() <= 151);
  CHECK(frames.front() == 0);
  CHECK(frames.back() == 1000);
  // Each shown frame lasts at least 0.02 s: with 0.0025 s frames, every 8th frame at real time.
  CHECK(frames[1] - frames[0] >= 8);

  options.stride = 3;
  const std::vector<int> strided = GifFrames(10, 0.1, options);
  CHECK(strided == std::vector<int>{0, 3, 6, 9});
  CHECK(GifFrames(11, 0.1, options) == std::vector<int>{0, 3, 6, 9, 10});

  options.stride = 0;
  const std::vector<int> many = GifFrames(3001, 0.1, options);
  CHECK(many.size() <= 151);
  CHECK(many.back() == 3000);
}

TEST_CASE("SVG line plot", "[plot]") {
  PlotSeries line{"simulated & fitted", {{0.0, 1.0}, {1.0, 2.0}, {2.0, 2.5}}, true, false, ""};
  PlotSeries points{"measured", {{0.5, 1.4}, {1.5, 2.2}}, false, true, "#d62728"};
  PlotOptions options;
  options.title = "Front <Z>";
  options.x_label = "T";
  options.y_label = "Z";
  const std::string svg = PlotToSvg({line, points}, options);
  CHECK(svg.rfind("<?xml", 0) == 0);
  CHECK(svg.find("<svg") != std::string::npos);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(svg.find("simulated &amp; fitted") != std::string::npos);
  CHECK(svg.find("Front &lt;Z&gt;") != std::string::npos);
  CHECK(svg.find("<path d=\"M") != std::string::npos);
  CHECK(svg.find("<circle") != std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);

  options.log_y = true;
  PlotSeries losses{"loss", {{0, 1.0}, {1, 0.1}, {2, 0.01}, {3, 0.0}}, true, true, ""};
  const std::string log_svg = PlotToSvg({losses}, options);
  CHECK(log_svg.find("nan") == std::string::npos);
  CHECK(log_svg.find("inf") == std::string::npos);

  const std::string path = OutputDir("plot") + "/plot.svg";
  WriteSvgPlot(path, {line, points}, options);
  CHECK(tasks::ReadFile(path) == PlotToSvg({line, points}, options));
}

}  // namespace
}  // namespace flowdesign::design
