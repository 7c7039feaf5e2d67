"""Writes tests/fixtures/mobilenet_v2_keras.json: Keras' MobileNetV2 as reference for lib/model/mobilenet_v2.ts.

- architecture: for several (alpha, size, include_top), every layer's name, class and parameter count, and
  the model's name, output shape and total / trainable / non-trainable parameters;
- features: the shared alpha 0.35 ImageNet weights (../shared/weights/…_0.35_224_no_top.h5, or argv[1])
  loaded into MobileNetV2(alpha=0.35, include_top=False, input_shape=(160, 160, 3), weights=None), run in
  inference mode on 3 generated images (integer formula, see `image`, after preprocess_input): the pooled
  1280-d features, out_relu at the (0, 0) corner, and block_3_expand_relu's per-channel means and values
  at one position.

Run once: .venv-keras/bin/python tools/keras/make_mobilenet_fixture.py
"""
import json
import pathlib
import sys

import numpy as np
import keras

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
WEIGHTS = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else (
    ROOT.parent / "shared" / "weights" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
)
OUT = ROOT / "tests" / "fixtures" / "mobilenet_v2_keras.json"

COMBOS = [
    (1.0, 160, False),
    (0.35, 160, False),
    (1.0, 224, True),
    (0.5, 96, False),
    (0.75, 128, True),
    (1.3, 192, False),
    (1.4, 224, False),
    (0.35, 200, True),
]
SIZE = 160
INTERMEDIATE = "block_3_expand_relu"
POSITION = (7, 11)


def image(k, size=SIZE):
    """Image k as uint8 values: ((i * i * (k + 1) + 3 * j * (c + 1) + i * j * (k + 2) + 37 * c * k) % 256)."""
    i, j, c = np.meshgrid(np.arange(size), np.arange(size), np.arange(3), indexing="ij")
    return ((i * i * (k + 1) + 3 * j * (c + 1) + i * j * (k + 2) + 37 * c * k) % 256).astype("float32")


def rounded(a, digits=7):
    return [float(f"{x:.{digits}g}") for x in np.asarray(a, dtype="float64").ravel()]


def architecture(alpha, size, include_top):
    model = keras.applications.MobileNetV2(
        alpha=alpha, include_top=include_top, input_shape=(size, size, 3), weights=None
    )
    count = lambda ws: int(sum(np.prod(w.shape) for w in ws))
    return {
        "alpha": alpha,
        "size": size,
        "include_top": include_top,
        "name": model.name,
        "output_shape": list(model.output.shape),
        "params": model.count_params(),
        "trainable_params": count(model.trainable_weights),
        "non_trainable_params": count(model.non_trainable_weights),
        "layers": [[l.name, l.__class__.__name__, l.count_params()] for l in model.layers],
    }


def features():
    model = keras.applications.MobileNetV2(
        alpha=0.35, include_top=False, input_shape=(SIZE, SIZE, 3), weights=None
    )
    model.load_weights(str(WEIGHTS))
    probe = keras.Model(model.input, [model.output, model.get_layer(INTERMEDIATE).output])
    images = np.stack([image(k) for k in range(3)])
    x = keras.applications.mobilenet_v2.preprocess_input(images.copy())
    out, mid = (np.asarray(t) for t in probe(x, training=False))
    r, c = POSITION
    return {
        "weights": WEIGHTS.name,
        "size": SIZE,
        "images": 3,
        "pooled": [rounded(out[k].mean(axis=(0, 1))) for k in range(3)],
        "out_relu_corner": [rounded(out[k, 0, 0]) for k in range(3)],
        "intermediate": {
            "layer": INTERMEDIATE,
            "shape": list(mid.shape[1:]),
            "channel_means": [rounded(mid[k].mean(axis=(0, 1))) for k in range(3)],
            "position": list(POSITION),
            "values": [rounded(mid[k, r, c]) for k in range(3)],
        },
    }


def main():
    fixture = {
        "keras_version": keras.__version__,
        "architectures": [architecture(*combo) for combo in COMBOS],
        "features": features(),
    }
    OUT.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    print(f"{OUT}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
