// Facility set camera-sony-a7s2: the plugin entry point (the stage is sony_a7s2_stages.hpp, the
// shared camera logic facility-common/camera_identify.cpp, the table sony_a7s2_table.cpp).
#include "sony_a7s2_stages.hpp"

LUMEN_PLUGIN("camera-sony-a7s2", "1.0.0", "MIT", lumen::stage<lumen::sony_a7s2::Identify>("camera-sony-a7s2.identify"));
