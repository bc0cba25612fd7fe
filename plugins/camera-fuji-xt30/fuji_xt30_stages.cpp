// Facility set camera-fuji-xt30: the plugin entry point (the stage is fuji_xt30_stages.hpp, the
// shared camera logic facility-common/camera_identify.cpp, the table fuji_xt30_table.cpp).
#include "fuji_xt30_stages.hpp"

LUMEN_PLUGIN("camera-fuji-xt30", "1.0.0", "MIT", lumen::stage<lumen::fuji_xt30::Identify>("camera-fuji-xt30.identify"));
