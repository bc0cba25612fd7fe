// ptycho.write_ad: a scan written the way EPICS areaDetector's NDFileHDF5 plugin writes it with an
// XML layout, so that ptycho.read_ad reads it back (synthetic input for tests and benchmarks, or a
// re-export of any scan in the ptycho item layout). The HDF5 work is in ad_writer.cpp.
//
// Example pipeline (pipelines/ptycho-make-scan.yaml):
//   stages:
//     - {id: scan, use: synth.ptycho_scan, with: {positions: 200, frames_per_pos: 2, size: 512}}
//     - {id: write, use: ptycho.write_ad}                 # outputs/ptycho_scan.h5
// and read back with
//     - id: scan
//       use: ptycho.read_ad
//       with: {path: ptycho_scan.h5, layout: plugins/ptycho/layouts/minimal.xml, pos_x_path: PosX,
//              pos_y_path: PosY, pos_unit: um, energy_path: Energy, det_dist_path: DetDistance,
//              dist_unit: mm, pixel_path: PixelSize, pixel_unit: um, exposure_path: AcquireTime,
//              dark_path: /entry/calib/dark, flat_path: /entry/calib/flat, mask_path: /entry/calib/mask}
#pragma once

#include "ad_writer.hpp"
#include "lumen/lumen.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lumen::ptycho {

class WriteAd final : public FileAggregator {
public:
  static constexpr const char* summary =
      "Writes each scan as an areaDetector NDFileHDF5-like file (XML layout, NDAttributes) that ptycho.read_ad reads";
  static constexpr const char* doc =
      "One file per scan (meta file_index), name expanded with the scan's first item (default {stem}.h5),\n"
      "written as NDFileHDF5 writes it with the XML `layout` (default: the built-in copy of\n"
      "plugins/ptycho/layouts/minimal.xml). The frames go to the layout's detector dataset (minimal:\n"
      "/entry/data/data) AS STORED (u16 stays u16), (N, ny, nx), one frame per chunk, as the blocks arrive\n"
      "(in order: this stage asks for ordered input). One (N,) dataset per NDAttribute, where the layout\n"
      "places it, else in its ndattr_default group under the NDAttribute's name (minimal: /entry/scan/pos_x,\n"
      "/entry/scan/pos_y, /entry/NDAttributes/<name>); with when=\"OnFileOpen\"/\"OnFileClose\" in the\n"
      "layout, one value (1,). Each has NDFileHDF5's NDAttrName, NDAttrDescription, NDAttrSourceType,\n"
      "NDAttrSource attributes and a units attribute. The NDAttributes and their units (parameters):\n"
      "  PosX, PosY        \"pos\" columns x, y            pos_unit (default um: motor readbacks)\n"
      "  Energy            array or meta energy_eV        energy_unit (default eV)\n"
      "  DetDistance       meta det_dist_m                dist_unit (default mm)\n"
      "  PixelSize         meta pixel_m                   pixel_unit (default um)\n"
      "  AcquireTime       array or meta exposure_s       exposure_unit (default s)\n"
      "  NDArrayUniqueId   frame number + 1 (int32)\n"
      "Energy, DetDistance, PixelSize and AcquireTime are written when the scan's first block has them;\n"
      "PosX and PosY always (\"pos\" is required). Calibration arrays (\"dark\", \"flat\", \"mask\", (ny, nx),\n"
      "dtype kept, the first block's) go to dark_path, flat_path, mask_path (\"\" = not written), which\n"
      "ptycho.read_ad's parameters of the same names read. The root group's attributes: lumen_version,\n"
      "run_id, created, writer, layout, units (meta units). The file appears atomically once meta\n"
      "scan_frames frames are written (or at the end of the run when scan_frames is unknown).\n"
      "Read it back with ptycho.read_ad: layout: plugins/ptycho/layouts/minimal.xml, pos_x_path: PosX,\n"
      "pos_y_path: PosY, pos_unit: um, energy_path: Energy, det_dist_path: DetDistance, dist_unit: mm,\n"
      "pixel_path: PixelSize, pixel_unit: um, exposure_path: AcquireTime, dark_path: /entry/calib/dark,\n"
      "flat_path: /entry/calib/flat, mask_path: /entry/calib/mask (pipelines/ptycho-ingest.yaml's defaults).\n"
      "Checks (each fails the item and the scan, whose file is then never written): no \"pos\" or pos rows !=\n"
      "frames; a frame shape or dtype other than the first block's; a block out of order; a block lacking a\n"
      "value the first block had; more frames than scan_frames; a truncated scan (at the end of the run).\n"
      "\n"
      "Example:\n"
      "  - id: write\n"
      "    use: ptycho.write_ad\n"
      "    with: {name: \"scan_{file_index:04d}.h5\", pos_unit: nm}\n";
  static constexpr bool concurrent = false; // open files
  static constexpr bool ordered_input = true;

  WriteAd();
  ~WriteAd() override; // Scan is complete only in the .cpp

  Param<std::string> layout{this, "layout", std::string(),
                            "NDFileHDF5 XML layout file; empty = the built-in minimal layout (layouts/minimal.xml)"};
  Param<std::string> pos_unit{this, "pos_unit", std::string("um"), "unit of PosX and PosY in the file",
                              OneOf{{"m", "mm", "um", "nm"}}};
  Param<std::string> energy_unit{this, "energy_unit", std::string("eV"), "unit of Energy in the file",
                                 OneOf{{"eV", "keV"}}};
  Param<std::string> dist_unit{this, "dist_unit", std::string("mm"), "unit of DetDistance in the file",
                               OneOf{{"m", "mm"}}};
  Param<std::string> pixel_unit{this, "pixel_unit", std::string("um"), "unit of PixelSize in the file",
                                OneOf{{"m", "mm", "um"}}};
  Param<std::string> exposure_unit{this, "exposure_unit", std::string("s"), "unit of AcquireTime in the file",
                                   OneOf{{"s", "ms"}}};
  Param<std::string> dark_path{this, "dark_path", std::string("/entry/calib/dark"),
                               "where the scan's \"dark\" goes; empty = not written"};
  Param<std::string> flat_path{this, "flat_path", std::string("/entry/calib/flat"),
                               "where the scan's \"flat\" goes; empty = not written"};
  Param<std::string> mask_path{this, "mask_path", std::string("/entry/calib/mask"),
                               "where the scan's \"mask\" goes; empty = not written"};
  Param<std::string> compression{this, "compression", std::string("none"),
                                 "frame chunks: none or shuffle+deflate (HDF5's standard filters)",
                                 OneOf{{"none", "shuffle+deflate"}}};
  Param<int> level{this, "level", 1, "deflate level, 1 (fastest) to 9 (smallest)", Min{1}, Max{9}};

  Requires in_{this, {.arrays = {"image", "pos"}}};

  void validate() const override;
  void start() override;
  void process(Item& item, Emit& emit) override;
  void finish(Emit& emit) override;

private:
  struct Scan; // one open file
  [[nodiscard]] AdLayout load_layout() const;
  void commit(Scan& scan);
  std::optional<AdLayout> layout_;
  std::unique_ptr<ThreadPool> pool_;
  std::map<std::int64_t, std::unique_ptr<Scan>> scans_;
  std::map<std::int64_t, std::string> failed_; // file_index -> why the scan was abandoned
  std::map<std::filesystem::path, std::int64_t> targets_;
};

} // namespace lumen::ptycho
