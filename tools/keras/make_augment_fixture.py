"""Writes tests/fixtures/rotation_keras.json: Keras 3 RandomRotation outputs for fixed angles.

Run with the reference venv: `.venv-keras/bin/python tools/keras/make_augment_fixture.py`.
A factor (a, a) pins the angle to a·2π, so each case is deterministic.
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras
import numpy as np

H, W = 6, 8
image = (np.arange(H * W * 3, dtype=np.float32).reshape(H, W, 3) * 7) % 101
image[0, 0] = [250, 0, 0]  # an asymmetric marker in the top-left corner

cases = []
for factor, fill_mode, interpolation in [
    (0.1, "reflect", "bilinear"),
    (-0.05, "reflect", "bilinear"),
    (0.25, "constant", "nearest"),
    (0.03, "wrap", "bilinear"),
    (-0.15, "nearest", "nearest"),
    # Fractional angles with a constant fill: points just off the image blend the edge with the fill.
    (0.1, "constant", "bilinear"),
    (-0.07, "constant", "nearest"),
]:
    layer = keras.layers.RandomRotation(
        factor=(factor, factor), fill_mode=fill_mode, interpolation=interpolation, fill_value=0.0
    )
    out = np.asarray(layer(image[None], training=True))[0]
    cases.append(
        {
            "factor": factor,
            "fillMode": fill_mode,
            "interpolation": interpolation,
            "output": np.round(out, 4).flatten().tolist(),
        }
    )

here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "..", "..", "tests", "fixtures", "rotation_keras.json")
with open(path, "w") as f:
    json.dump({"keras": keras.__version__, "shape": [H, W, 3], "image": image.flatten().tolist(), "cases": cases}, f)
print(f"wrote {path}")
