// Bilinear demosaicing by normalised convolution: the pixel math behind `calib.demosaic`.
//
// For every pixel and colour c: where the pixel's own CFA site is c, its value is kept; elsewhere
// c is the weighted mean of the c sites in the 3x3 neighbourhood, with the bilinear (tent)
// weights 4 for the centre, 2 for the 4 edge neighbours and 1 for the 4 corners:
//     c(y, x) = sum_k w_k m_c(k) I(k) / sum_k w_k m_c(k),   m_c = 1 on c sites, 0 elsewhere.
// For the 2x2 Bayer layouts (RGGB, BGGR, GRBG, GBRG) this is exactly classic bilinear
// interpolation: green at a red/blue site is the mean of its 4 edge neighbours, red/blue at a
// green site the mean of its 2 same-colour neighbours, red at a blue site (and the reverse) the
// mean of its 4 diagonal neighbours; a constant and a linear ramp are reproduced exactly away
// from the border. Fujifilm's 6x6 X-Trans uses the same normalised convolution: every 3x3
// neighbourhood of X-Trans holds all three colours, so each missing colour is the tent-weighted
// mean of the 1 to 4 same-colour sites around it (exact for a constant; not edge-directed, so
// expect more colour fringing than Fujifilm's own demosaicing). A custom 36-letter pattern
// whose 3x3 neighbourhood misses a colour uses the 5x5 tent, weights (3 - |dy|)(3 - |dx|).
// Edges are mirrored (... c b | a b c ...), each mirrored sample counting as the colour of the
// site it comes from.
//
// Example pipeline, through the stage that wraps this:
//   - id: rgb
//     use: calib.demosaic
#pragma once

#include "cfa.hpp"
#include "lumen/array.hpp"
#include "lumen/thread_pool.hpp"

namespace lumen::calib {

/// Demosaics an (H, W) CFA mosaic (any dtype) whose top-left site is `cfa`'s first colour
/// into an (H, W, 3) f32 RGB image. Rows are shared out over `pool` (may be null).
/// Throws lumen::InputError for other shapes.
[[nodiscard]] Array demosaic_bilinear(const Array& mosaic, const raw::CfaPattern& cfa, ThreadPool* pool = nullptr);

} // namespace lumen::calib
