// The `png` plugin set: PNG files in and out.
//
//   png.read   reader  PNG files (a file, a directory or a glob) -> u8/u16 "image" arrays
//   png.write  writer  u8/u16 "image" arrays -> PNG files under the run's outputs/
//
// Example pipeline (a quick-look PNG per frame of a synthetic sky):
//   stages:
//     - id: sky
//       use: synth.starfield
//       with: {count: 4}
//     - id: stretch
//       use: image.to8bit
//     - id: save
//       use: png.write
//       with: {dir: quicklook, name: "{stem}_{index:03d}.png"}
#pragma once

#include "lumen/lumen.hpp"
#include "png_io.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace lumen::png {

class PngRead final : public FileReader {
public:
  static constexpr const char* summary =
      "Reads PNG files (gray, gray+alpha, RGB, RGBA, palette; 1-16 bit) into u8 or u16 images";
  static constexpr const char* doc =
      "Reads one item per file. `path` is a file, a directory (every *.png in it, sorted by\n"
      "name, not recursive) or a glob pattern with * and ? in the file-name part\n"
      "(frames/run_??.png). The item id is the file stem; the array \"image\" has shape (H, W)\n"
      "for gray and (H, W, C) otherwise, with channels as stored (gray+alpha keeps 2 channels).\n"
      "8-bit files give u8, 16-bit files u16 (native byte order); palettes become RGB, or RGBA\n"
      "when the palette has transparency; 1/2/4-bit gray is scaled to 0-255. Meta: bit_depth\n"
      "(8 or 16, of the decoded samples) and channels; units are left unset. A corrupt or\n"
      "truncated file fails its item with an error naming the file; the run goes on.\n"
      "\n"
      "Example:\n"
      "  - id: in\n"
      "    use: png.read\n"
      "    with: {path: \"scans/*.png\"}\n";
  static constexpr bool concurrent = true;

  PngRead() : FileReader({".png"}, "PNG") {}

  Produces out_{this, {.arrays = {"image"}, .meta_keys = {"bit_depth", "channels"}, .units = ""}};

  void read(const WorkUnit& unit, Emit& emit) override;
};

class PngWrite final : public FileWriter {
public:
  static constexpr const char* summary = "Writes u8 or u16 images as PNG files (atomically) under the run's outputs";
  static constexpr const char* doc =
      "Writes the \"image\" array of each item as a PNG and passes the item on with meta\n"
      "png_path (the file's path relative to outputs/). Accepts u8 or u16 arrays of shape\n"
      "(H, W) or (H, W, C) with C = 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA); 16-bit data\n"
      "is written big-endian as PNG requires. Other dtypes fail the item: add image.to8bit\n"
      "before png.write. Files appear atomically (written to a temporary name, then renamed),\n"
      "so a killed run never leaves a truncated PNG. `name` is a file-name template: {id},\n"
      "{stem}, {index:04d}, {stage} or any meta key; '/' in the result makes sub-directories.\n"
      "compression 1 with filter none is fast; compression 9 with filter all is smallest.\n"
      "encoder libdeflate (default) filters the rows and compresses the whole image in one call to\n"
      "libdeflate (~2.5x faster than zlib at level 1 on noisy 8-bit images, files ~1% smaller;\n"
      "it holds about twice the image in memory while encoding); encoder libpng streams the rows\n"
      "through libpng and zlib, as png.write did before libdeflate became the default.\n"
      "compression is the same 0-9 deflate level for both (0 stored, 1 fastest, 9 smallest);\n"
      "the files differ only in their compressed bytes and decode to the same pixels.\n"
      "\n"
      "Example:\n"
      "  - id: save\n"
      "    use: png.write\n"
      "    with: {dir: png, name: \"{stem}_{index:04d}.png\", compression: 6, filter: paeth}\n";
  static constexpr bool concurrent = true; // process() only reads the parameters

  PngWrite() : FileWriter("{id}.png") {}

  Param<int> compression{
      this, "compression", 1, "deflate level: 0 (stored) to 9 (smallest files), for either encoder", Min{0}, Max{9}};
  Param<std::string> filter{this, "filter", std::string("none"),
                            "PNG row filter: none (fastest), sub, up, avg, paeth, or all (smallest files, slowest)",
                            OneOf{{"none", "sub", "up", "avg", "paeth", "all"}}};
  Param<std::string> encoder{this, "encoder", std::string("libdeflate"),
                             "libdeflate (default; fastest, whole image compressed at once) or libpng (libpng + "
                             "zlib, rows streamed)",
                             OneOf{{"libdeflate", "libpng"}}};

  Requires in_{this, {.arrays = {"image"}, .meta_keys = {}, .units = ""}};
  Produces out_{this, {.arrays = {}, .meta_keys = {"png_path"}, .units = ""}};

  void process(Item& item, Emit& emit) override;
};

} // namespace lumen::png
