// The `raw` plugin set: camera raw files (LibRaw) in, CFA DNG files out.
//
//   raw.read       reader  camera raw files (DNG, ARW, RAF, NEF, CR2, RW2, ...) -> the u16 Bayer
//                          mosaic with cfa, black/white levels, exposure and white balance
//   raw.write_dng  writer  u16 Bayer mosaics -> uncompressed CFA DNG files (camera-like test
//                          files; every raw converter reads them)
//
// Example pipeline (re-save raw frames as DNG, full sensor area):
//   stages:
//     - id: in
//       use: raw.read
//       with: {path: "shots/*.ARW", visible_only: false}
//     - id: dng
//       use: raw.write_dng
//       with: {name: "{stem}.dng"}
#pragma once

#include "dng_writer.hpp"
#include "lumen/lumen.hpp"
#include "raw_io.hpp"

namespace lumen::raw {

class RawRead final : public FileReader {
public:
  static constexpr const char* summary =
      "Reads camera raw files (LibRaw) as the undemosaiced u16 Bayer mosaic with cfa, levels and exposure meta";
  static constexpr const char* doc =
      "One item per file: array \"image\" u16 (H, W), the CFA mosaic as the sensor recorded it\n"
      "(no demosaicing, no black subtraction, no orientation applied). visible_only: true returns\n"
      "the visible (active) area, false the full sensor area with its masked margins; `cfa` is\n"
      "always the pattern at the top-left of the returned array (RGGB, BGGR, GRBG, GBRG, or XTRANS\n"
      "for Fujifilm X-Trans sensors), and cfa_pattern its colours row by row (4 or 36 letters).\n"
      "Meta: units adu, domain photography, cfa, black_level (mean when the positions differ) and\n"
      "black_level_per_channel (per CFA position of one repeat, row by row), white_level, make,\n"
      "model, iso, exposure_time (s), aperture (f-number), focal_length (mm), timestamp (camera\n"
      "clock), wb_as_shot (cam_mul R G B G2), wb_daylight (pre_mul), raw_width, raw_height,\n"
      "visible_width, visible_height, left_margin, top_margin, flip, dng_version.\n"
      "Safety: a file too short for the frame it declares is refused before decoding (uncompressed\n"
      "data: data offset + width x height x bits / 8; compressed: at least 1 bit per pixel), so\n"
      "metadata-only stubs fail with the declared frame and the file size in the message; LibRaw\n"
      "data errors and warnings fail the item too. 4-colour, Foveon/linear and SuperCCD files are\n"
      "refused (Bayer and X-Trans only). LibRaw may use OpenMP threads inside some decoders.\n"
      "\n"
      "Example:\n"
      "  - id: in\n"
      "    use: raw.read\n"
      "    with: {path: \"shots/*.ARW\"}\n";
  static constexpr bool concurrent = true; // libraw_r, one LibRaw object per read

  RawRead()
      : FileReader({".dng", ".arw", ".raf", ".nef", ".nrw", ".cr2", ".cr3", ".crw", ".rw2", ".orf",
                    ".pef", ".srw", ".3fr", ".iiq", ".erf", ".mef", ".mos", ".x3f", ".rwl", ".raw"},
                   "camera raw") {}

  Param<bool> visible_only{this, "visible_only", true,
                           "true: the visible (active) sensor area; false: the full sensor area including masked "
                           "margins (cfa and black levels follow the area returned)"};

  Produces out_{this,
                {.arrays = {"image"},
                 .meta_keys = {"units", "cfa", "domain", "black_level", "white_level", "make", "model"},
                 .units = "adu"}};

  void read(const WorkUnit& unit, Emit& emit) override;
};

class RawWriteDng final : public FileWriter {
public:
  static constexpr const char* summary =
      "Writes u16 Bayer or X-Trans mosaics as uncompressed CFA DNG files (atomically)";
  static constexpr const char* doc =
      "Writes the \"image\" array (u16 (H, W), multiples of the CFA repeat) of each item as a\n"
      "DNG 1.4 CFA file\n"
      "that LibRaw, dcraw, RawTherapee and Adobe tools read, and passes the item on with meta\n"
      "dng_path. From meta: cfa (required: RGGB, BGGR, GRBG, GBRG, or XTRANS with cfa_pattern),\n"
      "black_level_per_channel (Bayer) or black_level (default 0), white_level (default 65535), make and model (the "
      "parameters\n"
      "override them; defaults Lumen / Synthetic), wb_as_shot (AsShotNeutral = 1 / cam_mul),\n"
      "iso, exposure_time, aperture, focal_length and timestamp (EXIF). Items without cfa or\n"
      "with another dtype fail with a message saying what to add. Files appear atomically.\n"
      "\n"
      "Example:\n"
      "  - id: dng\n"
      "    use: raw.write_dng\n"
      "    with: {dir: dng, name: \"{stem}_{index:03d}.dng\", make: Sony, model: ILCE-7M3}\n";
  static constexpr bool concurrent = true;

  RawWriteDng() : FileWriter("{id}.dng") {}

  Param<std::string> make{this, "make", std::string(),
                          "camera maker written to the DNG (empty: meta make, else Lumen)"};
  Param<std::string> model{this, "model", std::string(),
                           "camera model written to the DNG (empty: meta model, else Synthetic)"};

  Requires in_{this, {.arrays = {"image"}, .meta_keys = {"cfa"}, .units = ""}};
  Produces out_{this, {.arrays = {}, .meta_keys = {"dng_path"}, .units = ""}};

  void process(Item& item, Emit& emit) override;
};

} // namespace lumen::raw
