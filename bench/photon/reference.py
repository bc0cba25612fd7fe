#!/usr/bin/python3
"""The Python baseline of issue 7: numpy + zarr-python + numcodecs doing the same quantised
Anscombe scheme as photon-compress.yaml (known gain and zero level), and the error check of a
Lumen round trip.

  reference.py encode movie.npy store.zarr --gain 2.5 --zero 100 --beta 1.0
  reference.py error movie.npy restored.npy --gain 2.5 --zero 100
"""
import argparse, os, sys, time
import numpy as np


def store_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files if not f.startswith('.z'))
    return total


def encode(a):
    import zarr
    from numcodecs import Blosc
    x = np.load(a.movie, mmap_mode='r')
    t0 = time.perf_counter()
    z = zarr.open(a.store, mode='w', shape=x.shape, chunks=(100,) + x.shape[1:], dtype='u1',
                  compressor=Blosc(cname='zstd', clevel=5, shuffle=Blosc.BITSHUFFLE))
    for b in range(0, x.shape[0], 100):
        block = np.asarray(x[b:b + 100], dtype=np.float32)
        y = 2.0 * np.sqrt(np.maximum((block - a.zero) / a.gain + 0.375, 0))
        z[b:b + 100] = np.round(y / a.beta).astype(np.uint8)
    dt = time.perf_counter() - t0
    print(f"python encode: {x.nbytes / dt / 1e6:.0f} MB/s of uint16 input ({dt:.2f} s), "
          f"ratio {x.nbytes / store_bytes(a.store):.2f}")


def error(a):
    x = np.load(a.movie, mmap_mode='r')
    r = np.load(a.restored, mmap_mode='r')
    if r.shape != x.shape:
        sys.exit(f"shape {r.shape} != {x.shape}")
    worst_sigma, worst_adu = 0.0, 0.0
    for b in range(0, x.shape[0], 100):
        xb = np.asarray(x[b:b + 100], dtype=np.float64)
        rb = np.asarray(r[b:b + 100], dtype=np.float64)
        z = np.maximum((xb - a.zero) / a.gain, 1.0)  # photons (at least 1: the bound's domain)
        err = np.abs(rb - xb)
        worst_adu = max(worst_adu, float(err.max()))
        worst_sigma = max(worst_sigma, float((err / a.gain / np.sqrt(z)).max()))
    print(f"max error: {worst_sigma:.3f} Poisson sigma ({worst_adu:.2f} ADU)")


p = argparse.ArgumentParser()
sub = p.add_subparsers(dest='cmd', required=True)
e = sub.add_parser('encode'); e.add_argument('movie'); e.add_argument('store')
r = sub.add_parser('error'); r.add_argument('movie'); r.add_argument('restored')
for s in (e, r):
    s.add_argument('--gain', type=float, default=2.5)
    s.add_argument('--zero', type=float, default=100.0)
    s.add_argument('--beta', type=float, default=1.0)
a = p.parse_args()
encode(a) if a.cmd == 'encode' else error(a)
