"""Writes tests/fixtures/callbacks_keras.json: Keras' EarlyStopping, ReduceLROnPlateau and ModelCheckpoint
decisions and log lines for given sequences of epoch logs.

Run with a venv holding Keras 3.15.1 and TensorFlow 2.21 (see tools/keras/README or docs/training.md):
`python tools/keras/make_callbacks_fixture.py`. Each case feeds the callback `on_epoch_end(epoch, logs)`
for the listed logs (after `on_train_begin`, with a one-Dense-layer model) and records what Keras did:
EarlyStopping's stopped/best epoch and wait, ReduceLROnPlateau's learning rate after each epoch, the epochs
ModelCheckpoint saved at, and every line printed (Keras' leading line breaks dropped).
"""
import contextlib
import io
import json
import os
import tempfile
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras
import numpy as np

warnings.simplefilter("ignore")


def tiny_model(lr=1e-3):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss="mse")
    return model


def run(callback, logs_list, model, per_epoch=None, stop_check=True):
    callback.set_model(model)
    out = io.StringIO()
    epochs_run = 0
    after = []
    with contextlib.redirect_stdout(out):
        callback.on_train_begin()
        for epoch, logs in enumerate(logs_list):
            callback.on_epoch_begin(epoch)
            callback.on_epoch_end(epoch, dict(logs))
            epochs_run += 1
            if per_epoch:
                after.append(per_epoch())
            if stop_check and model.stop_training:
                break
        callback.on_train_end()
    lines = [l for l in out.getvalue().split("\n") if l.strip()]
    return epochs_run, after, lines


SEQ_DOWN_UP = [0.9, 0.7, 0.6, 0.62, 0.61, 0.65, 0.7, 0.72, 0.8]
SEQ_NOISY = [1.0, 0.8, 0.8, 0.79995, 0.7, 0.71, 0.69999, 0.72, 0.73, 0.74, 0.6]
SEQ_ACC = [0.5, 0.6, 0.6, 0.65, 0.64, 0.66, 0.66, 0.66]

early = []
for opts, monitor, seq in [
    ({"patience": 0}, "val_loss", SEQ_DOWN_UP),
    ({"patience": 2}, "val_loss", SEQ_DOWN_UP),
    ({"patience": 2, "restore_best_weights": True}, "val_loss", SEQ_DOWN_UP),
    ({"patience": 3, "min_delta": 0.01}, "val_loss", SEQ_NOISY),
    ({"patience": 1, "baseline": 0.75}, "val_loss", SEQ_NOISY),
    ({"patience": 1, "start_from_epoch": 4}, "val_loss", SEQ_DOWN_UP),
    ({"patience": 2, "mode": "max"}, "val_accuracy", SEQ_ACC),
    ({"patience": 1, "mode": "min"}, "val_accuracy", SEQ_ACC),
    ({"patience": 1}, "loss", [0.5, 0.5, 0.4]),
]:
    cb = keras.callbacks.EarlyStopping(monitor=monitor, verbose=1, **opts)
    model = tiny_model()
    epochs_run, _, lines = run(cb, [{monitor: v, "loss": 1.0} if monitor != "loss" else {"loss": v} for v in seq], model)
    early.append({
        "options": opts, "monitor": monitor, "values": seq, "epochsRun": epochs_run,
        "stoppedEpoch": cb.stopped_epoch, "bestEpoch": cb.best_epoch, "best": float(cb.best), "wait": cb.wait,
        "lines": lines,
    })

plateau = []
for opts, monitor, seq in [
    ({"patience": 2}, "val_loss", SEQ_DOWN_UP),
    ({"patience": 1, "factor": 0.5, "cooldown": 2}, "val_loss", SEQ_DOWN_UP + [0.9, 0.95, 1.0]),
    ({"patience": 1, "factor": 0.2, "min_lr": 1e-4}, "val_loss", [1.0] * 8),
    ({"patience": 2, "min_delta": 0.05}, "val_loss", SEQ_NOISY),
    ({"patience": 1, "mode": "max"}, "val_accuracy", SEQ_ACC),
]:
    cb = keras.callbacks.ReduceLROnPlateau(monitor=monitor, verbose=1, **opts)
    model = tiny_model(1e-3)
    _, lrs, lines = run(
        cb, [{monitor: v} for v in seq], model,
        per_epoch=lambda: float(np.asarray(model.optimizer.learning_rate)), stop_check=False,
    )
    plateau.append({"options": opts, "monitor": monitor, "values": seq, "initialLR": 1e-3, "learningRates": lrs,
                    "lines": lines})

checkpoint = []
with tempfile.TemporaryDirectory() as tmp:
    for opts, monitor, seq, threshold in [
        ({"save_best_only": True}, "val_loss", SEQ_DOWN_UP, None),
        ({"save_best_only": True, "mode": "max"}, "val_accuracy", SEQ_ACC, None),
        ({"save_best_only": True}, "val_loss", SEQ_DOWN_UP, 0.65),
        ({"save_best_only": False}, "val_loss", SEQ_DOWN_UP[:3], None),
    ]:
        pattern = os.path.join(tmp, "ckpt-{epoch:02d}-{%s:.2f}.weights.h5" % monitor)
        cb = keras.callbacks.ModelCheckpoint(pattern, monitor=monitor, verbose=1, save_weights_only=True,
                                             initial_value_threshold=threshold, **opts)
        model = tiny_model()
        _, _, lines = run(cb, [{monitor: v} for v in seq], model, stop_check=False)
        saved = sorted(f for f in os.listdir(tmp) if f.endswith(".weights.h5"))
        for f in saved:
            os.remove(os.path.join(tmp, f))
        checkpoint.append({
            "options": opts, "monitor": monitor, "values": seq, "initialValueThreshold": threshold,
            "saved": saved, "lines": [l.replace(tmp, "<dir>") for l in lines],
        })

out = {"keras": keras.__version__, "earlyStopping": early, "reduceLROnPlateau": plateau, "modelCheckpoint": checkpoint}
path = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "callbacks_keras.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print("wrote", os.path.normpath(path))
