// The `mrc` plugin set: MRC2014 files (cryo-EM, cryo-ET, light microscopy) in and out, with a
// hand-written parser (mrc_io.hpp).
//
//   mrc.read   reader  MRC files -> "image" (H, W) or (N, H, W): i16/u8, i16, f32, u16, f32
//   mrc.write  writer  u8/i16/u16/f32 (f64 on request) "image" arrays -> MRC2014 files
//
// Example pipeline (a tilt series in chunks of 8 sections, re-written as volumes):
//   stages:
//     - id: in
//       use: mrc.read
//       with: {path: "tilts/*.st", frames_per_item: 8}
//     - id: out
//       use: mrc.write
//       with: {name: "{stem}_{index:04d}.mrc", kind: volume}
#pragma once

#include "lumen/lumen.hpp"
#include "mrc_io.hpp"

#include <string>
#include <vector>

namespace lumen::mrc {

class MrcRead final : public FileReader {
public:
  static constexpr const char* summary =
      "Reads MRC2014 images, stacks and volumes (modes 0, 1, 2, 6, 12; either byte order; any extended header)";
  static constexpr const char* doc =
      "Reads MRC/CCP4 files with a hand-written parser. `path` is a file, a directory (every\n"
      "*.mrc, *.mrcs, *.map, *.st, *.rec in it) or a glob. The array \"image\" is (ny, nx) for\n"
      "a single section and (n, ny, nx) for stacks and volumes, in file order (columns fastest;\n"
      "MAPC/MAPR/MAPS are recorded, not applied). Modes: 0 int8 -> i16 (lossless widening; the\n"
      "Array has no i8), or u8 when the file carries the IMOD stamp with the 'signed bytes' flag\n"
      "clear; 1 int16 -> i16; 2 float32 -> f32; 6 uint16 -> u16; 12 float16 -> f32 (exact).\n"
      "Modes 3/4 (complex) and 101 (4-bit) fail the item with the mode named. The byte order\n"
      "comes from MACHST (0x44 0x44 / 0x44 0x41 little-endian, 0x11 0x11 big-endian); when\n"
      "MACHST is unknown the byte order under which the header is plausible is used. Extended\n"
      "headers (FEI1, FEI2, CCP4, MRCO, SERI, AGAR, ...) are skipped by NSYMBT.\n"
      "Every header size is checked against the file size before anything is allocated; a\n"
      "corrupt or truncated file fails its item with a message naming the file and the field.\n"
      "Meta: mrc_nx/ny/nz, mrc_mode, mrc_nxstart/nystart/nzstart, mrc_mx/my/mz, mrc_cella,\n"
      "mrc_cellb, mrc_mapc/mapr/maps, mrc_dmin/dmax/dmean/rms (header values), mrc_ispg,\n"
      "mrc_kind (image | image_stack | volume | volume_stack), mrc_nsymbt, mrc_exttyp,\n"
      "mrc_nversion, mrc_byte_order, mrc_machst, mrc_nlabl, mrc_label_0.., voxel_size_x/y/z\n"
      "(Å, CELLA / MX etc., 0 when unknown), origin_x/y/z (Å), domain: microscopy, and\n"
      "units: counts for the integer modes 0, 1, 6 (float maps have arbitrary density units:\n"
      "units stays unset).\n"
      "frames_per_item: 0 reads each file as one item; N > 0 plans one work unit per range of\n"
      "N sections and reads only those bytes (big stacks stream in bounded memory); such an\n"
      "item has id \"<stem>/<first section:04d>\", index = its first section, meta\n"
      "mrc_section_begin/end, and shape (n, ny, nx), or (ny, nx) when n is 1; a range of a volume\n"
      "gets origin_z + first section x voxel_size_z (a sub-volume where it was), image stacks keep\n"
      "the file's origin. Bytes after the last section are ignored, as mrcfile does.\n"
      "\n"
      "Example:\n"
      "  - id: in\n"
      "    use: mrc.read\n"
      "    with: {path: \"movies/*.mrcs\", frames_per_item: 16}\n";
  static constexpr bool concurrent = true;

  MrcRead() : FileReader({".mrc", ".mrcs", ".map", ".st", ".rec"}, "MRC") {}

  Param<std::int64_t> frames_per_item{
      this, "frames_per_item", std::int64_t{0},
      "sections per item: 0 = the whole file as one item; N > 0 = one item per range of N sections", Min{0}};

  Produces out_{this, {.arrays = {"image"}, .meta_keys = {"mrc_mode", "mrc_kind", "voxel_size_x"}, .units = ""}};

  [[nodiscard]] std::vector<WorkUnit> plan() override;
  void read(const WorkUnit& unit, Emit& emit) override;
};

class MrcWrite final : public FileWriter {
public:
  static constexpr const char* summary = "Writes images, stacks and volumes as MRC2014 files (atomically)";
  static constexpr const char* doc =
      "Writes the \"image\" array of each item as an MRC2014 file and passes the item on with\n"
      "meta mrc_path. Shapes: (H, W) is one image (ISPG 0), (N, H, W) an image stack (ISPG 0,\n"
      "MZ 1) or a volume (ISPG 1, MZ N) as `kind` says (auto: a volume when the item's meta\n"
      "mrc_kind is volume, else a stack). Modes: i16 -> 1, u16 -> 6, f32 -> 2; u8 -> 6 (widened\n"
      "to uint16, readable everywhere) or, with u8_mode: mode0_unsigned, mode 0 with the IMOD\n"
      "stamp for unsigned bytes (IMOD and mrc.read read it back as u8; strict MRC2014 readers\n"
      "such as mrcfile see int8); f64 -> 2 only with f64_to_f32: true (lossy), else the item\n"
      "fails. u32/i32 fail the item. The header has \"MAP \", MACHST 0x44 0x44 (little-endian),\n"
      "NVERSION 20140, DMIN/DMAX/DMEAN/RMS computed from the data, CELLA = voxel size x\n"
      "sampling from meta voxel_size_x/y/z (Å; 1 Å when absent), ORIGIN from origin_x/y/z, and\n"
      "labels: the item's mrc_label_* (up to 9) plus \"Lumen <version> <UTC time>\". Files appear\n"
      "atomically. Default name: {id}.mrc ('/' in an id makes a sub-directory).\n"
      "\n"
      "Example:\n"
      "  - id: save\n"
      "    use: mrc.write\n"
      "    with: {dir: maps, name: \"{stem}.mrc\", kind: volume}\n";
  static constexpr bool concurrent = true;

  MrcWrite() : FileWriter("{id}.mrc") {}

  Param<std::string> kind{this, "kind", std::string("auto"),
                          "for (N, H, W) arrays: image_stack (ISPG 0), volume (ISPG 1) or auto (meta mrc_kind)",
                          OneOf{{"auto", "image_stack", "volume"}}};
  Param<std::string> u8_mode{this, "u8_mode", std::string("mode6"),
                             "u8 images: mode6 (widen to uint16) or mode0_unsigned (IMOD unsigned bytes)",
                             OneOf{{"mode6", "mode0_unsigned"}}};
  Param<bool> f64_to_f32{this, "f64_to_f32", false, "allow writing f64 images as float32 (mode 2), losing precision"};

  Requires in_{this, {.arrays = {"image"}, .meta_keys = {}, .units = ""}};
  Produces out_{this, {.arrays = {}, .meta_keys = {"mrc_path"}, .units = ""}};

  void process(Item& item, Emit& emit) override;

  /// The header fields taken from the item and the parameters (public for tests).
  [[nodiscard]] WriteSpec spec_for(const Item& item) const;
};

} // namespace lumen::mrc
