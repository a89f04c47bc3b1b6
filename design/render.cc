#include "design/render.h"

#include <gd.h>
#include <gdfonts.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <unordered_map>

#include "tasks/file_util.h"

namespace flowdesign::design {
namespace {

using simulator::Trajectory;
using tasks::Capsule;
using tasks::Vec2;

struct ImageDeleter {
  void operator()(gdImage* image) const { gdImageDestroy(image); }
};
using Image = std::unique_ptr<gdImage, ImageDeleter>;

// Bytes returned by one of libgd's *Ptr encoders (called as encode(&size)), freed with gdFree.
template <typename Encode>
std::string Encoded(Encode encode) {
  int size = 0;
  void* data = encode(&size);
  if (data == nullptr || size < 0) throw std::runtime_error("libgd failed to encode an image");
  std::string bytes(static_cast<const char*>(data), static_cast<size_t>(size));
  gdFree(data);
  return bytes;
}

// Colours (truecolour; alpha 0 = opaque, 127 = transparent).
constexpr int kBackground = 0xffffff;
constexpr int kBorder = 0xb4b4b4;
constexpr int kFluid = 0x1e64dc;       // blue
constexpr int kWall = 0x464646;        // dark grey
constexpr int kTool = 0xf08c14;        // orange
constexpr int kGoalOutline = 0x1e9632; // green
constexpr int kText = 0x000000;
constexpr int kDivider = 0x464646;
inline int GoalFill() { return gdTrueColorAlpha(0x1e, 0x96, 0x32, 90); }  // translucent green

int PanelHeight(const Trajectory& t, int width) {
  const double w = t.domain.Width(), h = t.domain.Height();
  if (!(w > 0.0) || !(h > 0.0) || !std::isfinite(w) || !std::isfinite(h)) {
    throw std::invalid_argument("render: the trajectory's domain is empty");
  }
  return std::max(1, static_cast<int>(std::lround(width * h / w)));
}

int Width(const RenderOptions& options) {
  if (options.width_px < 16 || options.width_px > 8192) {
    throw std::invalid_argument("render: width must be between 16 and 8192 pixels (got " +
                                std::to_string(options.width_px) + ")");
  }
  return options.width_px;
}

std::vector<Vec2> Outline(const tasks::Region& r) {
  if (r.shape == tasks::RegionShape::kPolygon) return r.polygon;
  return {r.box.min, {r.box.max.x, r.box.min.y}, r.box.max, {r.box.min.x, r.box.max.y}};
}

// Draws one trajectory frame into the panel [x0, x0 + width) x [0, height) of `image`.
class Panel {
 public:
  Panel(gdImagePtr image, const Trajectory& t, int x0, int width)
      : image_(image), t_(t), x0_(x0), scale_(width / t.domain.Width()) {}

  void Draw(int frame, const RenderOptions& options, const std::string& caption) {
    for (const tasks::Region& region : t_.regions) FillPolygon(Outline(region), GoalFill());
    for (size_t i = 0; i < t_.solids.size(); ++i) {
      DrawCapsule(t_.solids[i], static_cast<int>(i) < t_.wall_capsule_count ? kWall : kTool);
    }
    const double diameter = std::max(2.0, t_.particle_spacing_m * scale_ *
                                              options.particle_diameter_in_spacings);
    const int d = static_cast<int>(std::lround(diameter));
    for (int p = 0; p < t_.particle_count; ++p) {
      if (!t_.Alive(frame, p)) continue;
      const Vec2 x = t_.Position(frame, p);
      if (!IsFinite(x)) continue;
      const double cx = X(x.x), cy = Y(x.y);
      if (d <= 2) {
        const int ix = static_cast<int>(std::floor(cx - 0.5 * d + 0.5));
        const int iy = static_cast<int>(std::floor(cy - 0.5 * d + 0.5));
        gdImageFilledRectangle(image_, ix, iy, ix + d - 1, iy + d - 1, kFluid);
      } else {
        gdImageFilledEllipse(image_, static_cast<int>(std::lround(cx)),
                             static_cast<int>(std::lround(cy)), d, d, kFluid);
      }
    }
    for (const tasks::Region& region : t_.regions) OutlinePolygon(Outline(region), kGoalOutline);
    std::string label = caption;
    if (options.time_label) {
      char time[48];
      std::snprintf(time, sizeof time, "t = %.3f s", frame * t_.frame_dt_s);
      label += (label.empty() ? "" : "   ") + std::string(time);
    }
    if (!label.empty()) {
      gdImageString(image_, gdFontGetSmall(), x0_ + 4, 3,
                    reinterpret_cast<unsigned char*>(label.data()), kText);
    }
  }

 private:
  double X(double x) const { return x0_ + (x - t_.domain.min.x) * scale_; }
  double Y(double y) const { return (t_.domain.max.y - y) * scale_; }
  gdPoint Pixel(Vec2 p) const {
    return {static_cast<int>(std::lround(X(p.x))), static_cast<int>(std::lround(Y(p.y)))};
  }

  void FillPolygon(const std::vector<Vec2>& polygon, int color) {
    if (polygon.size() < 3) return;
    std::vector<gdPoint> points;
    for (Vec2 p : polygon) points.push_back(Pixel(p));
    gdImageFilledPolygon(image_, points.data(), static_cast<int>(points.size()), color);
  }

  void OutlinePolygon(const std::vector<Vec2>& polygon, int color) {
    if (polygon.size() < 2) return;
    std::vector<gdPoint> points;
    for (Vec2 p : polygon) points.push_back(Pixel(p));
    gdImageSetThickness(image_, 2);
    gdImagePolygon(image_, points.data(), static_cast<int>(points.size()), color);
    gdImageSetThickness(image_, 1);
  }

  // A capsule at its real thickness (at least 2 pixels): a quad along the core segment and a
  // disc at each end.
  void DrawCapsule(const Capsule& c, int color) {
    const double r = std::max(1.0, c.radius * scale_);  // pixels
    const double ax = X(c.a.x), ay = Y(c.a.y), bx = X(c.b.x), by = Y(c.b.y);
    const double len = std::hypot(bx - ax, by - ay);
    if (len > 1e-9) {
      const double nx = -(by - ay) / len * r, ny = (bx - ax) / len * r;
      gdPoint quad[4] = {
          {static_cast<int>(std::lround(ax + nx)), static_cast<int>(std::lround(ay + ny))},
          {static_cast<int>(std::lround(bx + nx)), static_cast<int>(std::lround(by + ny))},
          {static_cast<int>(std::lround(bx - nx)), static_cast<int>(std::lround(by - ny))},
          {static_cast<int>(std::lround(ax - nx)), static_cast<int>(std::lround(ay - ny))}};
      gdImageFilledPolygon(image_, quad, 4, color);
    }
    const int d = std::max(2, static_cast<int>(std::lround(2.0 * r)));
    gdImageFilledEllipse(image_, static_cast<int>(std::lround(ax)), static_cast<int>(std::lround(ay)), d, d, color);
    gdImageFilledEllipse(image_, static_cast<int>(std::lround(bx)), static_cast<int>(std::lround(by)), d, d, color);
  }

  gdImagePtr image_;
  const Trajectory& t_;
  int x0_;
  double scale_;  // pixels per metre
};

void CheckFrame(const Trajectory& t, int frame) {
  if (frame < 0 || frame >= t.frame_count) {
    throw std::out_of_range("render: frame " + std::to_string(frame) + " is outside [0, " +
                            std::to_string(t.frame_count) + ")");
  }
}

Image NewCanvas(int width, int height) {
  Image image(gdImageCreateTrueColor(width, height));
  if (!image) throw std::runtime_error("libgd could not allocate a " + std::to_string(width) + "x" + std::to_string(height) + " image");
  gdImageAlphaBlending(image.get(), 1);
  gdImageFilledRectangle(image.get(), 0, 0, width - 1, height - 1, kBackground);
  return image;
}

// One picture: a panel per trajectory, each `width` pixels wide, separated by a 2-pixel divider.
Image RenderPanels(const std::vector<const Trajectory*>& panels, const std::vector<int>& frames,
                   const std::vector<std::string>& captions, const RenderOptions& options) {
  const int width = Width(options);
  const int divider = 2;
  int height = 0;
  for (const Trajectory* t : panels) height = std::max(height, PanelHeight(*t, width));
  const int total_width = static_cast<int>(panels.size()) * (width + divider) - divider;
  Image image = NewCanvas(total_width, height);
  for (size_t k = 0; k < panels.size(); ++k) {
    const int x0 = static_cast<int>(k) * (width + divider);
    Panel(image.get(), *panels[k], x0, width).Draw(frames[k], options, captions[k]);
    gdImageRectangle(image.get(), x0, 0, x0 + width - 1, PanelHeight(*panels[k], width) - 1, kBorder);
    if (k > 0) gdImageFilledRectangle(image.get(), x0 - divider, 0, x0 - 1, height - 1, kDivider);
  }
  return image;
}

// Maps truecolour pictures onto one palette that grows as new colours appear, so every GIF
// frame shares colour indices. The pictures hold few distinct colours (no antialiasing), so the
// mapping is exact up to 256 colours; beyond that a pixel takes the closest palette colour.
class PaletteMapper {
 public:
  Image ToPalette(gdImagePtr truecolor) {
    const int w = gdImageSX(truecolor), h = gdImageSY(truecolor);
    Image palette(gdImageCreate(w, h));
    if (!palette) throw std::runtime_error("libgd could not allocate a palette image");
    for (int c : colors_) {
      gdImageColorAllocate(palette.get(), gdTrueColorGetRed(c), gdTrueColorGetGreen(c),
                           gdTrueColorGetBlue(c));
    }
    int last_color = -1, last_index = 0;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const int c = gdImageTrueColorPixel(truecolor, x, y) & 0xffffff;
        if (c != last_color) {
          last_color = c;
          last_index = Index(palette.get(), c);
        }
        gdImagePalettePixel(palette.get(), x, y) = static_cast<unsigned char>(last_index);
      }
    }
    return palette;
  }

 private:
  int Index(gdImagePtr palette, int c) {
    const auto found = index_.find(c);
    if (found != index_.end()) return found->second;
    const int r = gdTrueColorGetRed(c), g = gdTrueColorGetGreen(c), b = gdTrueColorGetBlue(c);
    int index;
    if (colors_.size() < gdMaxColors) {
      index = gdImageColorAllocate(palette, r, g, b);
      colors_.push_back(c);
    } else {
      index = gdImageColorClosest(palette, r, g, b);
    }
    index_[c] = index;
    return index;
  }

  std::vector<int> colors_;
  std::unordered_map<int, int> index_;
};

// Frame delays in hundredths of a second, from cumulative rounded times so that the total
// playback time tracks the simulated time (no drift from rounding each delay).
std::vector<int> Delays(const std::vector<int>& frames, double frame_dt_s, const RenderOptions& options) {
  std::vector<int> delays;
  for (size_t i = 0; i + 1 < frames.size(); ++i) {
    const double scale = frame_dt_s * options.slowdown * 100.0;
    const long t0 = std::lround(frames[i] * scale), t1 = std::lround(frames[i + 1] * scale);
    delays.push_back(static_cast<int>(std::max(2L, t1 - t0)));  // players treat < 2 as slow
  }
  delays.push_back(std::max(2, static_cast<int>(std::lround(options.end_pause_s * 100.0))));
  return delays;
}

std::string EncodeGif(const std::vector<const Trajectory*>& panels, const std::vector<std::string>& captions,
                      const RenderOptions& options) {
  int frame_count = 0;
  for (const Trajectory* t : panels) frame_count = std::max(frame_count, t->frame_count);
  if (frame_count <= 0) throw std::invalid_argument("render: the trajectory has no frames");
  const std::vector<int> frames = GifFrames(frame_count, panels[0]->frame_dt_s, options);
  const std::vector<int> delays = Delays(frames, panels[0]->frame_dt_s, options);
  PaletteMapper mapper;
  std::string gif;
  for (size_t i = 0; i < frames.size(); ++i) {
    std::vector<int> panel_frames;
    for (const Trajectory* t : panels) panel_frames.push_back(std::min(frames[i], t->frame_count - 1));
    Image truecolor = RenderPanels(panels, panel_frames, captions, options);
    Image frame = mapper.ToPalette(truecolor.get());
    if (i == 0) {  // header, global colour table, loop forever
      gif += Encoded([&](int* size) { return gdImageGifAnimBeginPtr(frame.get(), size, 1, 0); });
    }
    // Every frame carries its own colour table: the shared palette may have grown since the
    // first frame's global table was written.
    gif += Encoded([&](int* size) {
      return gdImageGifAnimAddPtr(frame.get(), size, 1, 0, 0, delays[i], gdDisposalNone, nullptr);
    });
  }
  gif += Encoded([](int* size) { return gdImageGifAnimEndPtr(size); });
  return gif;
}

}  // namespace

std::vector<int> GifFrames(int frame_count, double frame_dt_s, const RenderOptions& options) {
  if (frame_count <= 0) return {};
  int stride = options.stride;
  if (stride <= 0) {
    const int max_frames = std::max(2, options.max_gif_frames);
    stride = std::max(1, (frame_count - 1 + max_frames - 2) / (max_frames - 1));
    // At least 0.02 s per shown frame: GIF delays are in hundredths and players slow down
    // anything shorter.
    const double per_frame_cs = frame_dt_s * options.slowdown * 100.0;
    if (per_frame_cs > 0.0 && std::isfinite(per_frame_cs)) {
      stride = std::max(stride, static_cast<int>(std::ceil(2.0 / per_frame_cs - 1e-9)));
    }
  }
  std::vector<int> frames;
  for (int f = 0; f < frame_count; f += stride) frames.push_back(f);
  if (frames.back() != frame_count - 1) frames.push_back(frame_count - 1);
  return frames;
}

std::string EncodeFramePng(const Trajectory& trajectory, int frame, const RenderOptions& options) {
  CheckFrame(trajectory, frame);
  Image image = RenderPanels({&trajectory}, {frame}, {options.title}, options);
  return Encoded([&](int* size) { return gdImagePngPtr(image.get(), size); });
}

void WriteFramePng(const Trajectory& trajectory, int frame, const std::string& path,
                   const RenderOptions& options) {
  tasks::WriteFileAtomically(path, EncodeFramePng(trajectory, frame, options));
}

void WriteAnimatedGif(const Trajectory& trajectory, const std::string& path, const RenderOptions& options) {
  tasks::WriteFileAtomically(path, EncodeGif({&trajectory}, {options.title}, options));
}

void WriteSideBySideGif(const Trajectory& left, const Trajectory& right, const std::string& path,
                        const RenderOptions& options) {
  const std::string left_title = options.left_title.empty() ? left.simulator : options.left_title;
  const std::string right_title = options.right_title.empty() ? right.simulator : options.right_title;
  tasks::WriteFileAtomically(path, EncodeGif({&left, &right}, {left_title, right_title}, options));
}

}  // namespace flowdesign::design
