#!/usr/bin/python3
"""The Python baseline of the tiles benchmark (bench/tiles/tiles_bench.sh): numpy + astropy + Pillow
doing what bench/tiles/astro-bench.yaml does, written the way a careful Python programmer would
(float32 throughout, in-place numpy operations, no per-pixel Python):

  read the primary HDU (astropy.io.fits), electrons = (ADU - 0) * gain, asinh stretch
  x' = asinh((x - p_lo) / s) / asinh((p_hi - p_lo) / s), p = 0.5 / 99.9 percentiles
  (np.percentile, linear), s = 0.1 (p_hi - p_lo), clipped to [0, 1], 8 bits (x * 255 + 0.5),
  256 x 256 tiles in stride mode (remainder dropped), each saved with Pillow (compress_level=1),
  and a tiles_metadata.jsonl line per tile.

  reference.py IN.fits OUT_DIR [--threads N] [--tile 256]

--threads N saves the PNGs from N threads (Pillow's encoder releases the GIL); numpy's element-wise
work is single-threaded either way. Prints the time of the work (after the imports) and the
number of tiles.
"""
import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

t_start = time.perf_counter()
import numpy as np  # noqa: E402
from astropy.io import fits  # noqa: E402
from PIL import Image  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--gain", type=float, default=1.0)
    ap.add_argument("--low", type=float, default=0.5)
    ap.add_argument("--high", type=float, default=99.9)
    ap.add_argument("--softening", type=float, default=0.1)
    ap.add_argument("--sample-like-lumen", action="store_true",
                    help="percentiles from Lumen's fixed-stride sample of about 2^20 values (image/to8bit.hpp) "
                         "instead of every value, to compare pixels with Lumen's tiles")
    a = ap.parse_args()
    t0 = time.perf_counter()

    with fits.open(a.input, memmap=False) as hdul:
        x = np.asarray(hdul[0].data, dtype=np.float32)
    x = x * np.float32(a.gain)  # (ADU - black level 0) * gain; a new array, the FITS data stays intact
    values = x.ravel()
    if a.sample_like_lumen and values.size > (1 << 20):
        stride = -(-values.size // (1 << 20))
        while stride % 2 == 0 or stride % 3 == 0:  # one channel: no factor shared with 2 or 3
            stride += 1
        values = values[::stride]
    lo, hi = np.percentile(values, [a.low, a.high])
    del values
    s = a.softening * (hi - lo)
    np.subtract(x, np.float32(lo), out=x)
    np.multiply(x, np.float32(1.0 / s), out=x)
    np.arcsinh(x, out=x)
    np.multiply(x, np.float32(1.0 / np.arcsinh((hi - lo) / s)), out=x)
    np.clip(x, 0.0, 1.0, out=x)
    np.multiply(x, np.float32(255.0), out=x)
    np.add(x, np.float32(0.5), out=x)
    u8 = x.astype(np.uint8)
    del x

    t = a.tile
    h, w = u8.shape
    out_dir = os.path.join(a.out, "png_tiles", "astronomy", "noisy")
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.splitext(os.path.basename(a.input))[0]

    def save(pos):
        gy, gx = pos
        tile = np.ascontiguousarray(u8[gy * t:(gy + 1) * t, gx * t:(gx + 1) * t])
        name = f"astro_{stem}_noisy_{stem}_t{gy}_{gx}.png"
        Image.fromarray(tile).save(os.path.join(out_dir, name), compress_level=1)
        return {"tile_id": name[:-4], "png_path": f"png_tiles/astronomy/noisy/{name}", "grid_x": gx, "grid_y": gy,
                "image_x": gx * t, "image_y": gy * t, "tile_size": t, "gain": a.gain,
                "mean_intensity": float(tile.mean()) / 255.0, "source_file": a.input}

    positions = [(gy, gx) for gy in range(h // t) for gx in range(w // t)]
    with open(os.path.join(a.out, "tiles_metadata.jsonl"), "w") as meta:
        if a.threads > 1:
            with ThreadPoolExecutor(a.threads) as pool:
                records = list(pool.map(save, positions))
        else:
            records = [save(p) for p in positions]
        for r in records:
            meta.write(json.dumps(r) + "\n")
    t1 = time.perf_counter()
    print(f"reference: {len(positions)} tiles in {t1 - t0:.3f} s (work), {t1 - t_start:.3f} s with imports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
