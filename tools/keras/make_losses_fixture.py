"""Writes tests/fixtures/losses_keras.json: Keras' classifier losses and accuracies on fixed logits.

Run with the reference venv: `.venv-keras/bin/python tools/keras/make_losses_fixture.py`.
Binary: BinaryCrossentropy(from_logits=True) and BinaryAccuracy(threshold=0) on one logit per example;
categorical: SparseCategoricalCrossentropy(from_logits=True) and SparseCategoricalAccuracy. Both the
per-example losses (reduction=None) and the batch means are stored.
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras
import numpy as np

rng = np.random.default_rng(13)


def floats(a):
    return [float(v) for v in np.asarray(a).reshape(-1)]


binary_logits = np.array([[-3.0], [-0.5], [0.0], [0.7], [2.5], [40.0], [-40.0], [0.01]], np.float32)
binary_labels = np.array([0, 1, 1, 0, 1, 0, 0, 1], np.int32)
bce = keras.losses.BinaryCrossentropy(from_logits=True, reduction=None)
bin_acc = keras.metrics.BinaryAccuracy(threshold=0.0)
bin_acc.update_state(binary_labels.reshape(-1, 1).astype(np.float32), binary_logits)

cases = []
for n in (3, 5):
    logits = (rng.standard_normal((7, n)) * 3).astype(np.float32)
    logits[0, 1] = 60.0  # a large logit: the loss must stay finite
    labels = rng.integers(0, n, 7).astype(np.int32)
    labels[0] = 2
    scce = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
    acc = keras.metrics.SparseCategoricalAccuracy()
    acc.update_state(labels, logits)
    per_example = scce(labels, logits)
    cases.append({
        "numClasses": n,
        "logits": floats(logits),
        "labels": labels.tolist(),
        "losses": floats(per_example),
        "loss": float(np.mean(per_example)),
        "accuracy": float(acc.result()),
    })

per_example = bce(binary_labels.reshape(-1, 1).astype(np.float32), binary_logits)
fixture = {
    "keras": keras.__version__,
    "binary": {
        "logits": floats(binary_logits),
        "labels": binary_labels.tolist(),
        "losses": floats(per_example),
        "loss": float(np.mean(per_example)),
        "accuracy": float(bin_acc.result()),
    },
    "categorical": cases,
}
out = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "losses_keras.json")
with open(out, "w") as f:
    json.dump(fixture, f, indent=1)
print(f"wrote {os.path.normpath(out)}")
