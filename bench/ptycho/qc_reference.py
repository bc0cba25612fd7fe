#!/usr/bin/python3
"""The Python baseline of issue 6: numpy + h5py doing the scoring of ptycho.qc_score (see
plugins/ptycho/qc/qc_score.hpp) on a standardized file (/entry/data (N, ny, nx), /entry/pos (N, 2)):

  frames read in blocks of --block frames (hyperslabs, as Lumen does), bad pixels of /entry/mask set
  to 0, the ROI binned --bin x --bin and clamped at 0; per frame total intensity, centre of mass, ring fractions (--rings), speckle
  contrast; the embedding (--embed x --embed cell means, log1p); similarity = correlation with the
  per-cell median embedding; PCA (--pca-k components) fitted around the median without the frames
  whose distance to it deviates by > 3.5, refitted around the inliers' mean (numpy.linalg.svd);
  robust deviations (median, 1.4826 MAD), raw = w_feat * max feature deviation + (1 - w_feat) * PCA
  deviation, score = raw / (raw + 3.5); reject_thresh; the same npy, CSV and JSON outputs (no
  pictures: compare with Lumen run with maps: false, thumbs: 0).

  qc_reference.py scan_std.h5 OUTDIR [--bin 1] [--embed 32] [--pca-k 8] [--w-feat 0.5] [--thresh 0.5]

Prints the wall time of the whole job (reading, computing, writing) and frames/s.
"""
import argparse, json, os, time
import h5py
import numpy as np

p = argparse.ArgumentParser()
p.add_argument('scan')
p.add_argument('out')
p.add_argument('--data', default='/entry/data')
p.add_argument('--pos', default='/entry/pos')
p.add_argument('--roi', type=int, nargs=4, default=None, help='y0 x0 h w')
p.add_argument('--bin', type=int, default=1)
p.add_argument('--embed', type=int, default=32)
p.add_argument('--pca-k', type=int, default=8)
p.add_argument('--pca-fit', type=int, default=2048)
p.add_argument('--rings', type=int, default=4)
p.add_argument('--w-feat', type=float, default=0.5)
p.add_argument('--thresh', type=float, default=0.5)
p.add_argument('--block', type=int, default=16)
a = p.parse_args()

t0 = time.perf_counter()
f = h5py.File(a.scan, 'r')
data = f[a.data]
n, ny, nx = data.shape
pos = f[a.pos][()]
x, y = pos[:, 0].astype(np.float64), pos[:, 1].astype(np.float64)
y0, x0, h, w = a.roi if a.roi else (0, 0, ny, nx)
# Bad detector pixels (as ptycho.qc_score's default mask_path): /entry/mask, non-zero = bad -> 0.
keep = (f['entry/mask'][()] == 0).astype(np.float32)[y0:y0 + h, x0:x0 + w] if 'entry/mask' in f else None
b, E, R = a.bin, a.embed, a.rings
hb, wb = h // b, w // b
xs = (np.arange(wb) + 0.5) * b - 0.5
ys = (np.arange(hb) + 0.5) * b - 0.5
cy, cx = (h - 1) / 2, (w - 1) / 2
rmax = min(h, w) / 2
r = np.hypot(ys[:, None] - cy, xs[None, :] - cx)
ring = np.where(r < rmax, np.minimum(R - 1, (r / (rmax / R)).astype(int)), -1)
ring_masks = [(ring == k).astype(np.float32) for k in range(R)]
col_edges = (np.arange(E) * wb) // E
row_edges = (np.arange(E) * hb) // E
counts = np.outer(np.diff(np.append(row_edges, hb)), np.diff(np.append(col_edges, wb))).astype(np.float64)

F = 3 + R + 2
feat = np.zeros((n, F))
emb = np.zeros((n, E * E), np.float32)
for s in range(0, n, a.block):
    e = min(n, s + a.block)
    blk = data[s:e, y0:y0 + hb * b, x0:x0 + wb * b].astype(np.float32)
    if keep is not None:
        blk *= keep[:hb * b, :wb * b]
    if b > 1:
        blk = blk.reshape(e - s, hb, b, wb, b).sum(axis=(2, 4))
    np.maximum(blk, 0, out=blk)
    tot = blk.sum(axis=(1, 2), dtype=np.float64)
    safe = np.where(tot > 0, tot, 1)
    feat[s:e, 0] = tot
    feat[s:e, 1] = np.where(tot > 0, (blk.sum(axis=1, dtype=np.float64) @ xs) / safe, cx)
    feat[s:e, 2] = np.where(tot > 0, (blk.sum(axis=2, dtype=np.float64) @ ys) / safe, cy)
    for k in range(R):
        feat[s:e, 3 + k] = np.where(tot > 0, np.einsum('nij,ij->n', blk, ring_masks[k], dtype=np.float64) / safe, 0)
    mean = tot / (hb * wb)
    var = np.maximum((blk.astype(np.float64) ** 2).sum(axis=(1, 2)) / (hb * wb) - mean ** 2, 0)
    feat[s:e, 3 + R] = np.where(mean > 0, np.sqrt(var) / np.where(mean > 0, mean, 1), 0)
    cells = np.add.reduceat(np.add.reduceat(blk, row_edges, axis=1, dtype=np.float64), col_edges, axis=2)
    emb[s:e] = np.log1p(cells / counts).reshape(e - s, E * E)

med = np.median(emb, axis=0)
ec = emb - emb.mean(axis=1, keepdims=True)
mc = med - med.mean()
den = np.sqrt((ec ** 2).sum(axis=1) * (mc ** 2).sum())
feat[:, F - 1] = np.where(den > 0, (ec @ mc) / np.where(den > 0, den, 1), 0)


def robust(v):
    m = np.median(v)
    dev = np.abs(v - m)
    mad = np.median(dev)
    return m, (1.4826 * mad if mad > 0 else 1.2533 * dev.mean())


def z(v, st, side=0):
    m, sc = st
    if sc <= 0:
        return np.zeros_like(v)
    d = (v - m) / sc
    return np.maximum(d, 0) if side > 0 else np.maximum(-d, 0) if side < 0 else np.abs(d)


def fit(rows, centre):
    X = emb[rows].astype(np.float64) - centre
    _, _, vt = np.linalg.svd(X, full_matrices=False)
    return centre, vt[:a.pca_k].T


def errors(model):
    centre, V = model
    d = emb.astype(np.float64) - centre
    return np.sqrt(np.maximum((d ** 2).sum(axis=1) - ((d @ V) ** 2).sum(axis=1), 0) / d.shape[1])


M = min(n, a.pca_fit)
fit_rows = (np.arange(M) * n) // M
dist = np.linalg.norm(emb[fit_rows] - med, axis=1)
kept = fit_rows[z(dist, robust(dist), +1) <= 3.5]
err = errors(fit(kept, med.astype(np.float64)))
inl = kept[z(err[kept], robust(err[kept]), +1) <= 3.5]
err = errors(fit(inl, emb[inl].astype(np.float64).mean(axis=0)))

fdev = np.zeros(n)
for j in range(F):
    fdev = np.maximum(fdev, z(feat[:, j], robust(feat[:, j]), -1 if j == F - 1 else 0))
pdev = z(err, robust(err), +1)
raw = a.w_feat * fdev + (1 - a.w_feat) * pdev
score = raw / (raw + 3.5)
stxm = np.log1p(np.maximum(feat[:, 0], 0))
dpcx = feat[:, 1] - np.median(feat[:, 1])
dpcy = feat[:, 2] - np.median(feat[:, 2])
rejected = score >= a.thresh

os.makedirs(a.out, exist_ok=True)
for name, v in (('outlier_score', score), ('stxm', stxm), ('dpcx', dpcx), ('dpcy', dpcy)):
    np.save(os.path.join(a.out, name + '.npy'), v)
np.save(os.path.join(a.out, 'reject_indices.npy'), np.flatnonzero(rejected).astype(np.int32))
np.save(os.path.join(a.out, 'accept_indices.npy'), np.flatnonzero(~rejected).astype(np.int32))
np.save(os.path.join(a.out, 'mask_indices.npy'), np.zeros(0, np.int32))
names = ['total_intensity', 'com_x', 'com_y'] + [f'ring_{k}' for k in range(R)] + ['speckle_contrast', 'similarity']
table = np.column_stack([np.arange(n), x, y, feat, err, fdev, pdev, score, np.zeros(n), rejected])
np.savetxt(os.path.join(a.out, 'qc_summary.csv'), table, delimiter=',', fmt='%.9g',
           header=','.join(['index', 'x', 'y'] + names + ['pca_error', 'feature_dev', 'pca_dev', 'score', 'masked',
                                                          'rejected']), comments='')
elapsed = time.perf_counter() - t0
with open(os.path.join(a.out, 'qc_meta.json'), 'w') as out:
    json.dump({'input': a.scan, 'frames': n, 'rejected': int(rejected.sum()), 'seconds': elapsed}, out)
print(f'{n} frames of {ny} x {nx}: {elapsed:.3f} s ({n / elapsed:.1f} frames/s)')
