#!/usr/bin/python3
"""Tile seams: MSE of pixels on either side of a tile border against MSE
elsewhere, for msic files coded with 128-px tiles at low qualities.

  bench/seams.py MSIC_BINARY IMAGE...     (e.g. build/tools/msic/msic ../shared/datasets/kodak/kodim0*.png)

A ratio of 1.0 means borders are as good as the rest of the image.
"""
import subprocess, numpy as np, sys, os, tempfile
msic = sys.argv[1]; imgs = sys.argv[2:]
def load(p):
    t = tempfile.mktemp(suffix='.raw'); v = tempfile.mktemp(suffix='.v')
    subprocess.run(['vips','copy',p,v],check=True); subprocess.run(['vips','rawsave',v,t],check=True)
    w=int(subprocess.check_output(['vipsheader','-f','width',v])); h=int(subprocess.check_output(['vipsheader','-f','height',v]))
    a=np.fromfile(t,dtype=np.uint8).reshape(h,w,3).astype(np.float64); os.remove(t); os.remove(v); return a
for q in [0, 20, 50]:
    band=[];inner=[]
    for p in imgs:
        subprocess.run([msic,'encode',p,'/tmp/s.msic','--quality',str(q),'--tile-size','128'],check=True)
        subprocess.run([msic,'decode','/tmp/s.msic','/tmp/s.png'],check=True)
        a=load(p); b=load('/tmp/s.png'); e=((a-b)**2).mean(axis=2)
        h,w=e.shape; ys,xs=np.mgrid[0:h,0:w]
        near=((xs%128==0)|(xs%128==127))&(xs>0)&(xs<w-1) | ((ys%128==0)|(ys%128==127))&(ys>0)&(ys<h-1)
        band.append(e[near].mean()); inner.append(e[~near].mean())
    print('q%d: MSE at tile borders %.2f, elsewhere %.2f, ratio %.3f' % (q, np.mean(band), np.mean(inner), np.mean(band)/np.mean(inner)))
