// The `tiff` plugin set: TIFF files in and out with libtiff.
//
//   tiff.read   reader  TIFF files, multi-page stacks or numbered series -> "image" arrays
//   tiff.write  writer  "image" arrays (u8..f64; gray, RGB(A); stacks as pages) -> TIFF files
//
// Example pipeline (a numbered series of detector frames into one zstd-compressed stack):
//   stages:
//     - id: frames
//       use: tiff.read
//       with: {path: "scan/frame_*.tif", series: true}
//     - id: save
//       use: tiff.write
//       with: {compression: zstd, predictor: horizontal, name: "{id}.tif"}
#pragma once

#include "lumen/lumen.hpp"
#include "tiff_io.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace lumen::tiff {

class TiffRead final : public FileReader {
public:
  static constexpr const char* summary =
      "Reads TIFF files (strips/tiles, any libtiff codec, 1-32-bit integer and 32/64-bit float; multi-page stacks "
      "and numbered series)";
  static constexpr const char* doc =
      "Reads TIFF and BigTIFF files with libtiff: strips or tiles, contiguous or separate planes, every codec this\n"
      "libtiff decodes (none, LZW, deflate, PackBits, zstd, LZMA, JPEG...), with or without predictor.\n"
      "Dtypes: unsigned 8/16/32-bit -> u8/u16/u32; signed 16/32-bit -> i16/i32; signed 8-bit -> i16;\n"
      "float 32/64 -> f32/f64; 1-bit bilevel -> u8 with 0 = black and 255 = white. Other depths (2/4/12/24-bit,\n"
      "16-bit float, complex) fail the item with a clear message. One sample per pixel gives (H, W); more give\n"
      "(H, W, C) with the channels as stored (gray+alpha 2, RGB 3, RGBA 4). Palette images keep their indices.\n"
      "Values are as stored (MinIsWhite is not inverted; see meta photometric).\n"
      "\n"
      "mode: stack (default) gives one item per file, (N, H, W[, C]) for N pages, (H, W[, C]) for one page;\n"
      "all pages must share dims and dtype. mode: frames gives one item per page (H, W[, C]) with id\n"
      "<stem>/<page:04d> and meta index = page (a one-page file keeps id <stem>), streaming page by page.\n"
      "frames_per_item > 0 (mode stack) cuts each file into items of that many pages, (n, H, W) with\n"
      "id <stem>/<first page:04d> and index = first page; frames_per_item 1 gives (H, W) items.\n"
      "\n"
      "series: true treats the files `path` matches (natural order: frame_2 before frame_10) as the pages\n"
      "of one stack; each must hold one page with the dims and dtype of the first file (an error names the\n"
      "offending file). With mode stack the series is one item (N, H, W) named after the files (slice_000..\n"
      "-> slice), or, with frames_per_item > 0, items of that many frames read block by block (constant\n"
      "memory); with mode frames each file is one (H, W) item whose index is its position in the series.\n"
      "\n"
      "Meta: width, height, pages, samples_per_pixel, bits_per_sample, sample_format (uint/int/float),\n"
      "photometric, compression, planar_config, tiled; x_resolution, y_resolution, resolution_unit and\n"
      "pixel_size_x/_y (um for inch/cm units, ImageJ's unit otherwise) when the file has them; description\n"
      "(ImageDescription; the meta tiff.write stores there is restored as meta keys instead, so meta\n"
      "survives a round trip), software, datetime, artist, make, model; for ImageJ files imagej_version,\n"
      "imagej_images/channels/slices/frames, imagej_unit, imagej_spacing. units and domain are left unset\n"
      "(a TIFF does not say what its numbers measure). A corrupt, truncated or unsupported file fails its\n"
      "item with an error naming the file and the problem; the run goes on.\n"
      "\n"
      "Example:\n"
      "  - id: in\n"
      "    use: tiff.read\n"
      "    with: {path: \"stacks/*.tif\", mode: frames}\n";
  static constexpr bool concurrent = true; // one libtiff handle per read; plan() state is read-only after plan

  TiffRead() : FileReader({".tif", ".tiff"}, "TIFF") {}

  Param<std::string> mode{this, "mode", std::string("stack"),
                          "stack: one item per file (or per series / block of frames_per_item pages); frames: one "
                          "item per page",
                          OneOf{{"stack", "frames"}}};
  Param<bool> series{this, "series", false,
                     "treat the matched single-page files as the pages of one stack, in natural order"};
  Param<int> frames_per_item{this, "frames_per_item", 0,
                             "mode stack: pages per item (0 = the whole file or series as one item)", Min{0}};

  Produces out_{this, {.arrays = {"image"}, .meta_keys = {"width", "height", "pages"}, .units = ""}};

  void validate() const override;
  [[nodiscard]] std::vector<WorkUnit> plan() override;
  void read(const WorkUnit& unit, Emit& emit) override;

private:
  void read_series(const WorkUnit& unit, Emit& emit);
  // Set by plan() for series: the files in order, the first file's page layout, the stack name.
  std::vector<std::filesystem::path> series_files_;
  PageInfo series_layout_;
  std::string series_name_;
};

class TiffWrite final : public FileWriter {
public:
  static constexpr const char* summary =
      "Writes images as TIFF files (u8..f64, gray/RGB/RGBA, stacks as pages; none/lzw/deflate/zstd/packbits)";
  static constexpr const char* doc =
      "Writes the \"image\" array of each item as a TIFF file and passes the item on with meta tiff_path\n"
      "(the file's path relative to outputs/). Dtypes u8, u16, i16, u32, i32, f32, f64 are written as they\n"
      "are (no scaling). Shapes: (H, W) gray; (H, W, C) with C = 2 (gray+alpha), 3 (RGB), 4 (RGBA); (N, H, W)\n"
      "as N pages; (N, H, W, C) as N colour pages. A 3-D array is colour when its last axis is 2..4 and a\n"
      "stack otherwise (layout: auto); set layout: stack or color to decide explicitly.\n"
      "Strips of about 256 KiB, or tiles of `tile` x `tile` pixels (a multiple of 16). compression: none,\n"
      "lzw, deflate, zstd (when this libtiff has it) or packbits; `level` for deflate (1-9) and zstd (1-22),\n"
      "0 = the codec's default. predictor: horizontal (integer images) or float (f32/f64) makes lzw/deflate/\n"
      "zstd smaller on smooth data; auto (default) picks the one that fits the item's dtype. bigtiff: auto writes "
      "BigTIFF only when the data approach 4 GiB.\n"
      "deflate and zstd are compressed in `threads` threads of the stage (0 = the run's --threads): each strip\n"
      "or tile goes through the predictor and libdeflate/libzstd in a pool thread and is written in order,\n"
      "pre-compressed, with at most 2 x threads strips in memory; the file is a standard TIFF (libtiff, tifffile\n"
      "and ImageJ read it). lzw and packbits use libtiff's own encoders on the item's thread.\n"
      "Software is \"Lumen <version>\"; description: meta writes {\"shape\": [...], \"lumen_meta\": {...}}\n"
      "into the first page's ImageDescription (tifffile's shaped JSON: tifffile reads the array back with\n"
      "its shape; tiff.read restores the meta) (none: no description). Files appear atomically (temporary\n"
      "name, then rename).\n"
      "\n"
      "Example:\n"
      "  - id: save\n"
      "    use: tiff.write\n"
      "    with: {dir: tiff, name: \"{stem}_{index:04d}.tif\", compression: deflate, predictor: horizontal}\n";
  static constexpr bool concurrent = true; // process() reads the parameters; the pool is thread-safe

  TiffWrite() : FileWriter("{id}.tif") {}

  Param<std::string> compression{this, "compression", std::string("none"), "none, lzw, deflate, zstd or packbits",
                                 OneOf{{"none", "lzw", "deflate", "zstd", "packbits"}}};
  Param<std::string> predictor{this, "predictor", std::string("auto"),
                               "auto (horizontal for integer and float for f32/f64 images when compressing with "
                               "lzw/deflate/zstd, else none), none, horizontal (integers) or float (f32/f64)",
                               OneOf{{"auto", "none", "horizontal", "float"}}};
  Param<int> level{this,   "level", 0, "compression level: deflate 1-9, zstd 1-22; 0 = the codec's default",
                   Min{0}, Max{22}};
  Param<int> tile{this, "tile", 0, "tile edge in pixels, a multiple of 16; 0 writes strips", Min{0}, Max{65536}};
  Param<std::string> bigtiff{this, "bigtiff", std::string("auto"), "auto (BigTIFF only when needed), always or never",
                             OneOf{{"auto", "always", "never"}}};
  Param<std::string> layout{this, "layout", std::string("auto"),
                            "how a 3-D array is written: auto (last axis 2..4 = colour), stack (N, H, W) or color "
                            "(H, W, C)",
                            OneOf{{"auto", "stack", "color"}}};
  Param<int> threads{this, "threads", 0, "deflate/zstd compression threads; 0 = the run's --threads", Min{0}, Max{256}};
  Param<std::string> description{this, "description", std::string("meta"),
                                 "meta: the item's meta as JSON in ImageDescription; none: no description",
                                 OneOf{{"meta", "none"}}};

  Requires in_{this, {.arrays = {"image"}, .meta_keys = {}, .units = ""}};
  Produces out_{this, {.arrays = {}, .meta_keys = {"tiff_path"}, .units = ""}};

  void validate() const override;
  void start() override;
  void process(Item& item, Emit& emit) override;

private:
  [[nodiscard]] WriteOptions options() const;
  std::unique_ptr<ThreadPool> pool_; // deflate/zstd only; shared by concurrent process() calls
};

} // namespace lumen::tiff
