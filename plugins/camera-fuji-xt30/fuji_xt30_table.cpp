// The Fujifilm X-T30 calibration table; see fuji_xt30_table.hpp for values, units and source.
#include "fuji_xt30_table.hpp"

namespace lumen::fuji_xt30 {

facility::Calibration calibration(double iso) {
  return facility::interpolate_log_iso(kTable, iso);
}

} // namespace lumen::fuji_xt30
