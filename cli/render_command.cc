// `flowdesign render DIR [--out PICTURES] [--width PX] [--stride K] [--slowdown S]`: pictures
// of a saved trajectory: frame_XXXX.png for every K-th frame and animation.gif.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "design/render.h"
#include "simulator/trajectory.h"

namespace flowdesign::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kDefaultPngCount = 10;  // PNGs written without --stride (plus the last frame)

struct RenderArgs {
  std::string trajectory_dir;
  std::string out_dir;
  int width = 512;
  int stride = 0;
  double slowdown = 1.0;
};

int RunRender(const RenderArgs& args) {
  if (!fs::is_directory(args.trajectory_dir)) {
    throw BadInput(args.trajectory_dir + ": no such directory");
  }
  if (!fs::exists(fs::path(args.trajectory_dir) / "metadata.json")) {
    throw BadInput(args.trajectory_dir +
                   ": not a trajectory folder (no metadata.json; see `flowdesign simulate`)");
  }
  if (args.width < 16 || args.width > 8192) throw BadInput("--width must be between 16 and 8192");
  if (args.stride < 0) throw BadInput("--stride must be >= 1 (or 0 for automatic)");
  if (!(args.slowdown > 0.0)) throw BadInput("--slowdown must be > 0");
  const simulator::Trajectory trajectory = simulator::LoadTrajectory(args.trajectory_dir);
  if (trajectory.frame_count <= 0) throw BadInput(args.trajectory_dir + ": the trajectory has no frames");
  const std::string out = args.out_dir.empty() ? args.trajectory_dir + "/render" : args.out_dir;
  fs::create_directories(out);

  design::RenderOptions options;
  options.width_px = args.width;
  options.stride = args.stride;
  options.slowdown = args.slowdown;
  const int last = trajectory.frame_count - 1;
  const int png_stride = args.stride > 0 ? args.stride : std::max(1, (last + kDefaultPngCount - 1) / kDefaultPngCount);
  int pngs = 0;
  for (int frame = 0; frame <= last; frame += png_stride) {
    char name[32];
    std::snprintf(name, sizeof name, "/frame_%04d.png", frame);
    design::WriteFramePng(trajectory, frame, out + name, options);
    ++pngs;
    if (frame != last && frame + png_stride > last) {  // always show the final state
      std::snprintf(name, sizeof name, "/frame_%04d.png", last);
      design::WriteFramePng(trajectory, last, out + name, options);
      ++pngs;
    }
  }
  design::WriteAnimatedGif(trajectory, out + "/animation.gif", options);
  const size_t gif_frames = design::GifFrames(trajectory.frame_count, trajectory.frame_dt_s, options).size();
  std::cout << "wrote " << pngs << " PNG frames (every " << png_stride << " frames) and "
            << "animation.gif (" << gif_frames << " frames) to " << out << "\n";
  return kExitOk;
}

}  // namespace

void AddRenderCommand(CLI::App& root, Action& action) {
  CLI::App* command = root.add_subcommand(
      "render", "Draw a saved trajectory: frame_XXXX.png pictures and animation.gif.");
  auto args = std::make_shared<RenderArgs>();
  command->add_option("DIR", args->trajectory_dir, "trajectory folder (from `flowdesign simulate`)")
      ->required();
  command->add_option("--out", args->out_dir, "output folder (default: DIR/render)");
  command->add_option("--width", args->width, "picture width in pixels")->capture_default_str();
  command->add_option("--stride", args->stride,
                      "draw every K-th frame (default: about 10 PNGs; the GIF at most 150 frames)");
  command->add_option("--slowdown", args->slowdown, "GIF playback: 1 = real time, 2 = half speed")
      ->capture_default_str();
  command->callback([&action, args] { action = [args] { return RunRender(*args); }; });
}

}  // namespace flowdesign::cli
