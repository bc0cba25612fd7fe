// areaDetector NDFileHDF5 XML layouts: where the detector frames and the NDAttributes of a file
// written with a layout live (parsed with libxml2).
//
// A layout (ADCore's XML_schema/hdf5_xml_layout_schema.xsd) nests <group name="..."> elements
// under the root (<hdf5_layout>, or <xml> in older files); a group holds <dataset>, <attribute>,
// <hardlink name="..." target="..."/> and further groups:
//   <dataset name="data" source="detector" det_default="true"/>     the image stack
//   <dataset name="x" source="ndattribute" ndattribute="PosX"/>       one value per frame (N,), or one
//                                                                     value when when="OnFileOpen|OnFileClose"
//   <dataset name="v" source="constant" value="1.5" type="float"/>   a constant
//   <group name="NDAttributes" ndattr_default="true"/>               NDAttributes the layout does not place
//                                                                     are written here, named as themselves
// Paths are absolute, built from the group names ("/entry/instrument/detector/data").
//
// Example:
//   const AdLayout layout = parse_ad_layout("layouts/minimal.xml");
//   const std::string frames = layout.detector_path();            // "/entry/data/data"
//   const auto x = layout.ndattribute_path("PosX");               // "/entry/NDAttributes/PosX"
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lumen::ptycho {

struct AdLayoutDataset {
  std::string path;        // absolute: "/entry/instrument/detector/data"
  std::string source;      // detector | ndattribute | constant
  std::string ndattribute; // for source="ndattribute"
  std::string value;       // for source="constant"
  std::string when;        // "" (every frame), OnFileOpen, OnFileClose, OnFileWrite
  bool det_default = false;
  int line = 0; // in the XML file
};

struct AdLayout {
  std::string origin; // the file (or name) it was parsed from, for messages
  std::vector<AdLayoutDataset> datasets;
  std::vector<std::string> ndattr_default_groups;             // absolute group paths
  std::vector<std::pair<std::string, std::string>> hardlinks; // link path -> target

  /// The detector dataset: the one with det_default="true", else the first source="detector" one.
  /// Throws lumen::InputError naming the layout when it has none.
  [[nodiscard]] std::string detector_path() const;
  /// Where NDAttribute `name` is written: its explicit <dataset source="ndattribute">, else
  /// <ndattr_default group>/<name>; nullopt when the layout places it nowhere.
  [[nodiscard]] std::optional<std::string> ndattribute_path(const std::string& name) const;
  /// The NDAttributes the layout places explicitly, in document order.
  [[nodiscard]] std::vector<std::string> ndattributes() const;
};

/// Parses the layout in `file`. A file that is missing or is not well-formed XML, or whose elements
/// lack a required attribute (name, source, target) or carry an unknown source, throws
/// lumen::InputError("<file>:<line>: ...").
[[nodiscard]] AdLayout parse_ad_layout(const std::filesystem::path& file);
/// The same for layout text held in memory; `origin` names it in messages.
[[nodiscard]] AdLayout parse_ad_layout_text(std::string_view xml, const std::string& origin);

} // namespace lumen::ptycho
