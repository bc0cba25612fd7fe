// A small CFA DNG writer (libtiff): the project's own generator of camera-like raw files, so
// that the raw path (LibRaw) can be tested without multi-megabyte camera files, and so that
// pipelines can save Bayer mosaics in a format every raw converter reads.
//
// The file is a single-IFD, uncompressed, 16-bit CFA DNG (DNG 1.4): PhotometricInterpretation
// CFA, CFARepeatPatternDim 2x2 (Bayer) or 6x6 (X-Trans), CFAPattern from `cfa`, BlackLevel
// (BlackLevelRepeatDim 2x2 in CFA-position order for Bayer, 1x1 for X-Trans), WhiteLevel, Make, Model,
// UniqueCameraModel, AsShotNeutral, an identity- like ColorMatrix1 (D65), and an EXIF IFD with ISOSpeedRatings,
// ExposureTime, FNumber, FocalLength and DateTimeOriginal when given.
//
// Example pipeline (camera-like test files from a real mosaic):
//   - id: in
//     use: raw.read
//     with: {path: "shots/*.dng"}
//   - id: dng
//     use: raw.write_dng
#pragma once

#include "cfa.hpp"
#include "lumen/array.hpp"

#include <array>
#include <filesystem>
#include <string>

namespace lumen::raw {

struct DngInfo {
  CfaPattern cfa = parse_cfa("RGGB");
  std::array<double, 4> black{0, 0, 0, 0}; // Bayer: per CFA position (0,0), (0,1), (1,0), (1,1);
                                           // X-Trans: black[0] for every pixel
  double white = 65535;                    // saturation level
  std::string make = "Lumen", model = "Synthetic";
  std::array<double, 3> as_shot_neutral{1, 1, 1};                    // camera neutral (R, G, B), 1/cam_mul
  double iso = 0, exposure_time = 0, f_number = 0, focal_length = 0; // 0 = not written
  std::string datetime;                                              // "YYYY:MM:DD HH:MM:SS" (EXIF), "" = not written
};

/// Writes the u16 (H, W) mosaic `image` as a DNG file at `file` (created or truncated).
/// Throws lumen::InputError when the image is not u16 (H, W) with even H, W >= 2 or `cfa`
/// is unknown, lumen::Error when libtiff fails.
void write_dng(const std::filesystem::path& file, const Array& image, const DngInfo& info);

/// The CFA letters at (0,0), (0,1), (1,0), (1,1) as LibRaw/DNG colour indices (0 R, 1 G, 2 B).
/// Throws lumen::Error for anything but RGGB, BGGR, GRBG, GBRG.
[[nodiscard]] std::array<int, 4> cfa_indices(const std::string& cfa);

} // namespace lumen::raw
