"""Writes tests/fixtures/class_weight_keras.json: what Keras' `fit(..., class_weight=...)` reports and
trains, on a tiny classifier with fixed weights.

Run with a venv holding Keras 3.15.1 and TensorFlow 2.21: `python tools/keras/make_class_weight_fixture.py`.
The model is the classifier's head on 4×4×3 inputs: GlobalAveragePooling2D → Dense(units) from logits,
compiled with the classifier's loss and accuracy (binary from one logit at threshold 0, or sparse
categorical) and Adam(0.01). Each case stores the inputs, labels, class weights, initial Dense weights,
the per-epoch `loss` and `accuracy` of a 2-epoch fit in batches of 8 without shuffling, the first batch's
weighted loss as Keras' loss function computes it, and the Dense weights after training.
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras
import numpy as np

rng = np.random.default_rng(23)


def floats(a):
    return [float(v) for v in np.asarray(a, np.float32).reshape(-1)]


def case(units, class_weight, labels):
    n = len(labels)
    x = rng.uniform(0, 1, (n, 4, 4, 3)).astype(np.float32)
    y = np.array(labels, np.int32)
    kernel = rng.normal(0, 1, (3, units)).astype(np.float32)
    bias = rng.normal(0, 0.1, (units,)).astype(np.float32)
    inputs = keras.Input((4, 4, 3))
    dense = keras.layers.Dense(units)
    model = keras.Model(inputs, dense(keras.layers.GlobalAveragePooling2D()(inputs)))
    dense.set_weights([kernel, bias])
    if units == 1:
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        metric = keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss, metrics=[metric])
    logits = model.predict(x[:8], verbose=0)
    yb = y[:8].reshape(-1, 1).astype(np.float32) if units == 1 else y[:8]
    sample_weight = np.array([class_weight.get(int(c), 1.0) for c in y[:8]], np.float32)
    first_loss = float(loss(yb, logits, sample_weight=sample_weight))
    h = model.fit(x, y.reshape(-1, 1) if units == 1 else y, batch_size=8, epochs=2, shuffle=False,
                  class_weight=class_weight, verbose=0)
    k, b = dense.get_weights()
    return {
        "units": units, "classWeight": {str(c): w for c, w in class_weight.items()},
        "x": floats(x), "shape": list(x.shape), "labels": [int(v) for v in y],
        "kernel": floats(kernel), "bias": floats(bias), "firstBatchLoss": first_loss,
        "loss": [float(v) for v in h.history["loss"]], "accuracy": [float(v) for v in h.history["accuracy"]],
        "kernelAfter": floats(k), "biasAfter": floats(b),
    }


cases = [
    case(1, {0: 0.5, 1: 3.0}, [0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0]),
    # Class 0 left out: it weighs 1, as Keras' `class_weight.get(c, 1.0)`.
    case(3, {1: 0.25, 2: 4.0}, [0, 1, 2, 1, 1, 0, 2, 1, 1, 1, 0, 2, 1, 0, 1, 1]),
]
out = {"keras": keras.__version__, "cases": cases}
path = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "class_weight_keras.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", os.path.normpath(path))
