"""Writes tests/fixtures/keras_h5_tiny.{h5,json}: a tiny Keras model saved in the Keras-2 `save_weights`
HDF5 layout (by Keras' own legacy writer), plus one input and Keras' output for it.

Run once: .venv-keras/bin/python tools/keras/make_keras_h5_fixture.py
"""
import json
import pathlib

import h5py
import numpy as np
import keras
from keras.src.legacy.saving import legacy_h5_format

OUT = pathlib.Path(__file__).resolve().parent.parent.parent / "tests" / "fixtures"


def deterministic(shape, k):
    n = int(np.prod(shape))
    return (((np.arange(n) * 37 + 11 * k) % 101) / 100.0 - 0.5).astype("float32").reshape(shape)


def main():
    inputs = keras.Input((6, 6, 2), name="image")
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(epsilon=1e-3, name="bn")(x)
    x = keras.layers.DepthwiseConv2D(3, name="dw")(x)
    x = keras.layers.ReLU(6.0, name="relu")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(3, name="dense")(x)
    model = keras.Model(inputs, outputs, name="tiny")

    k = 0
    for layer in model.layers:
        values = []
        for w in layer.weights:
            v = deterministic(w.shape, k)
            if w.name == "moving_variance":
                v = np.abs(v) + 0.5
            values.append(v)
            k += 1
        if values:
            layer.set_weights(values)

    OUT.mkdir(parents=True, exist_ok=True)
    with h5py.File(OUT / "keras_h5_tiny.h5", "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)

    image = deterministic((1, 6, 6, 2), 99) * 4
    output = model(image, training=False).numpy()
    fixture = {
        "keras_version": keras.__version__,
        "input": image.tolist(),
        "output": output.tolist(),
        "weights": {layer.name: [[w.path, list(w.shape)] for w in layer.weights] for layer in model.layers},
    }
    (OUT / "keras_h5_tiny.json").write_text(json.dumps(fixture) + "\n")


if __name__ == "__main__":
    main()
