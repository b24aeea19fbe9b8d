#!/usr/bin/python3
"""The similarity os-autoinst gives a needle on a screen, computed with
OpenCV the way os-autoinst's tinycv does it (ppmclibs/tinycv_impl.cc and
tinycv.pm): exclude areas painted green on the screen and the needle,
BGR2GRAY, GaussianBlur 3x3 (sigma from the size), matchTemplate with
TM_SQDIFF within the area's margin, the positions within 10 of the least
sum, the one nearest the recorded spot, its MSE mapped to
0.9 + (40 - MSE) / 380. An independent reference for redir-capture's
--until-match on os-autoinst needles: same inputs, OpenCV's arithmetic.

usage: needle_openqa.py NEEDLE.json SCREEN.png
prints one JSON line: {"ok": bool, "areas": [{"x","y","similarity","ok"}]}
"""
import json
import os
import sys

import cv2


def prepare(img, excludes):
    img = img.copy()
    for a in excludes:
        x, y, w, h = a["xpos"], a["ypos"], a["width"], a["height"]
        if x + w <= img.shape[1] and y + h <= img.shape[0]:
            cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), (0, 255, 0), cv2.FILLED)
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return cv2.GaussianBlur(grey, (3, 3), 0, 0)


def main():
    needle_path, screen_path = sys.argv[1], sys.argv[2]
    needle = json.load(open(needle_path))
    png = os.path.splitext(needle_path)[0] + ".png"
    scene = cv2.imread(screen_path, cv2.IMREAD_COLOR)
    obj = cv2.imread(png, cv2.IMREAD_COLOR)
    areas = needle["area"]
    excludes = [a for a in areas if a.get("type") == "exclude"]
    scene_g = prepare(scene, excludes)
    obj_g = prepare(obj, excludes)
    out = {"ok": True, "areas": []}
    for a in areas:
        if a.get("type", "match") != "match":
            continue
        x, y, w, h = a["xpos"], a["ypos"], a["width"], a["height"]
        margin = a.get("margin") or 50
        sx = x * scene.shape[1] // obj.shape[1]
        sy = y * scene.shape[0] // obj.shape[0]
        x0, y0 = max(0, sx - margin), max(0, sy - margin)
        x1, y1 = min(scene.shape[1], sx + w + margin), min(scene.shape[0], sy + h + margin)
        roi = scene_g[y0:y1, x0:x1]
        tmpl = obj_g[y:y + h, x:x + w]
        res = cv2.matchTemplate(roi, tmpl, cv2.TM_SQDIFF)
        cx, cy = sx - x0, sy - y0
        sse = float(res[cy, cx])
        if sse == 0:
            bx, by = sx, sy
        else:
            bound = sse + 10
            mins = []
            for yy in range(res.shape[0]):
                for xx in range(res.shape[1]):
                    v = float(res[yy, xx])
                    if v > bound:
                        continue
                    if v + 10 < bound:
                        bound = v + 10
                        mins = [(xx, yy)]
                    else:
                        mins.append((xx, yy))
            # os-autoinst measures the distance from the window's corner.
            best = min(mins, key=lambda p: (p[0] - sx) ** 2 + (p[1] - sy) ** 2)
            bx, by = best[0] + x0, best[1] + y0
        diff = scene_g[by:by + h, bx:bx + w].astype(float) - tmpl.astype(float)
        mse = float((diff * diff).sum()) / (w * h)
        sim = min(1.0, max(0.0, 0.9 + (40 - mse) / 380))
        ok = sim >= (a.get("match") or 96) / 100
        out["ok"] = out["ok"] and ok
        out["areas"].append({"x": bx, "y": by, "similarity": sim, "ok": ok})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
