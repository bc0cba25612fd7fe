// areaDetector-like scan files: the HDF5 code behind ptycho.write_ad, as a plain class over arrays
// (no items, no parameters). It writes what EPICS areaDetector's NDFileHDF5 plugin writes for a
// scan when it is given an XML layout (ad_layout.hpp), so ptycho.read_ad reads the file back with
// that layout:
//   - the frames at the layout's detector dataset (det_default="true", else the first
//     source="detector"), as stored (u16 stays u16), (N, ny, nx), one frame per chunk;
//   - each NDAttribute as a dataset of its values, (N,) one per frame, where the layout places it
//     (<dataset source="ndattribute" ndattribute="PosX">), else in the ndattr_default group under
//     its own name; a dataset with when="OnFileOpen" holds the first frame's value, "OnFileClose"
//     the last one's, as (1,); an NDAttribute the layout places nowhere is not written (as
//     NDFileHDF5 drops it). Each carries NDFileHDF5's attributes NDAttrName, NDAttrDescription,
//     NDAttrSourceType, NDAttrSource, and a units attribute;
//   - the layout's numeric source="constant" datasets as scalars and its <hardlink>s as links
//     (soft links: the same for every reader);
//   - extra (ny, nx) datasets (dark, flat, mask) at paths the caller chooses.
// The layout's <attribute> elements (NX_class, ...) are not parsed by ad_layout.cpp and not written.
//
// Example:
//   AdScanWriter w("scan.h5", parse_ad_layout("layouts/minimal.xml"),
//                  {{"PosX", "um", "sample x"}, {"PosY", "um", "sample y"}}, DType::u16, 512, 512, {});
//   w.append(frames, {{x0, x1, ...}, {y0, y1, ...}});   // (n, 512, 512) u16 and n values each
//   w.add_array("/entry/calib/dark", dark);
//   w.close(root_attributes);
#pragma once

#include "ad_layout.hpp"
#include "hdf5_io.hpp"
#include "lumen/array.hpp"
#include "lumen/meta.hpp"
#include "lumen/thread_pool.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lumen::ptycho {

/// One NDAttribute: its name, the unit its values are in, and a description.
struct AdAttribute {
  std::string name;        // "PosX"
  std::string unit;        // "um" (the units attribute; also in NDAttrDescription)
  std::string description; // "sample x position"
  bool integer = false;    // stored as int32 (NDArrayUniqueId), else float64
};

struct AdWriterOptions {
  hdf5::Codec codec = hdf5::Codec::none; // frame chunks
  int level = 1;
  ThreadPool* pool = nullptr;             // compresses (may be null)
  std::string what = "areaDetector file"; // names the file in messages
};

class AdScanWriter {
public:
  /// Creates `file` (truncating it) with the layout's detector dataset for frames of `dtype`,
  /// ny x nx. Throws lumen::InputError when the layout has no detector dataset.
  AdScanWriter(const std::filesystem::path& file, AdLayout layout, std::vector<AdAttribute> attributes, DType dtype,
               std::int64_t ny, std::int64_t nx, AdWriterOptions options);
  ~AdScanWriter();
  AdScanWriter(const AdScanWriter&) = delete;
  AdScanWriter& operator=(const AdScanWriter&) = delete;

  /// Appends frames (n, ny, nx) (or one (ny, nx) frame) of the writer's dtype, with values[a] the
  /// n values of attributes[a]. A wrong dtype, shape or value count throws lumen::InputError.
  void append(const Array& frames, const std::vector<std::vector<double>>& values);
  /// A (ny, nx) array (any dtype, kept) written at `path` on close(); the first one per path is kept.
  void add_array(const std::string& path, const Array& array);

  [[nodiscard]] std::int64_t frames() const noexcept { return frames_; }
  [[nodiscard]] std::int64_t ny() const noexcept { return ny_; }
  [[nodiscard]] std::int64_t nx() const noexcept { return nx_; }
  [[nodiscard]] DType dtype() const noexcept { return dtype_; }
  /// The path `attribute` is written to, or "" when the layout places it nowhere.
  [[nodiscard]] std::string path_of(const std::string& attribute) const;

  /// Writes the NDAttributes, constants, links and arrays, `root_attributes` on "/", and closes
  /// the file. Throws lumen::Error on HDF5 failures.
  void close(const Meta& root_attributes);

private:
  std::filesystem::path file_;
  AdLayout layout_;
  std::vector<AdAttribute> attributes_;
  DType dtype_;
  std::int64_t ny_, nx_;
  std::string what_;
  std::unique_ptr<hdf5::H5ChunkWriter> data_;
  std::int64_t frames_ = 0;
  std::vector<std::vector<double>> values_; // per attribute, one per frame
  std::map<std::string, Array> arrays_;
};

/// The built-in layout: the text of plugins/ptycho/layouts/minimal.xml (ptycho.write_ad's default).
[[nodiscard]] AdLayout minimal_ad_layout();

} // namespace lumen::ptycho
