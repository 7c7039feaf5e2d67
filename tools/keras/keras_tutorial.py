"""The tutorial's workload in Python Keras: the reference curves and the Keras side of `deno task bench`.

TensorFlow's "Transfer learning and fine-tuning" (cats vs dogs, MobileNetV2), cell for cell, configured like
the TypeScript side (TL_DATA_URL, TL_CACHE_DIR, TL_ALPHA, TL_WEIGHTS_URL, TL_EPOCHS; URLs may be https://,
file:// or paths). Prints one JSON line per epoch on stdout and a final JSON line with the histories and the
test accuracy; human-readable progress goes to stderr.

    .venv-keras/bin/python tools/keras/keras_tutorial.py --epochs 10 --phase both
    .venv-keras/bin/python tools/keras/keras_tutorial.py --step-only          # compute-only one-step times
    .venv-keras/bin/python tools/keras/keras_tutorial.py --decode-only        # input pipeline alone, images/s

Run it with the venv made by tools/setup/keras_venv.sh (tensorflow-cpu 2.21, Keras 3.15).
"""

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_DATA_URL = "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip"
KERAS_WEIGHTS_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
BATCH_SIZE = 32
IMG_SIZE = (160, 160)
BASE_LEARNING_RATE = 0.0001
FINE_TUNE_AT = 100


def emit(record):
    print(json.dumps(record), flush=True)


def log(message):
    print(message, file=sys.stderr, flush=True)


def env_number(name, fallback, kind, ok, expected):
    raw = os.environ.get(name, "")
    if raw == "":
        return fallback
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not ok(value):
        sys.exit(f"{name}={raw!r}: expected {expected}")
    return value


def local_path(url):
    """The file a path or file:// URL names, or None for a remote URL."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return urllib.parse.unquote(parsed.path)
    if parsed.scheme in ("http", "https"):
        return None
    return os.path.abspath(url)


def fetch(url, cache_dir):
    """A local copy of `url`: the file itself for paths, else Keras' get_file download into the cache."""
    path = local_path(url)
    if path is not None:
        if not os.path.isfile(path):
            sys.exit(f"{url}: no such file")
        return path
    name = os.path.basename(urllib.parse.urlparse(url).path)
    return keras.utils.get_file(name, origin=url, cache_dir=cache_dir, cache_subdir="keras-ref")


def extracted_dataset(zip_path, cache_dir):
    """The zip's `cats_and_dogs_filtered` folder, extracted once (atomically) under the cache folder."""
    target = os.path.join(cache_dir, "keras-ref", "cats_and_dogs_filtered")
    stamp = os.path.join(target, ".source")
    source = f"{os.path.abspath(zip_path)} {os.path.getsize(zip_path)} {int(os.path.getmtime(zip_path))}"
    if os.path.isfile(stamp) and open(stamp).read() == source:
        return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = tempfile.mkdtemp(dir=os.path.dirname(target), prefix=".extract-")
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for member in archive.namelist():
                resolved = os.path.realpath(os.path.join(tmp, member))
                if not resolved.startswith(os.path.realpath(tmp) + os.sep):
                    sys.exit(f"{zip_path}: entry {member!r} escapes the extraction folder")
            archive.extractall(tmp)
        inner = os.path.join(tmp, "cats_and_dogs_filtered")
        for split in ("train", "validation"):
            if not os.path.isdir(os.path.join(inner, split)):
                sys.exit(f"{zip_path}: expected cats_and_dogs_filtered/{split}/ inside the zip")
        with open(os.path.join(inner, ".source"), "w") as f:
            f.write(source)
        shutil.rmtree(target, ignore_errors=True)
        os.rename(inner, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def rss_mb():
    """(current, peak) resident set size in MB, from /proc/self/status."""
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return round(fields.get("VmRSS", 0), 1), round(fields.get("VmHWM", 0), 1)


def datasets(data_dir, seed):
    train_dir = os.path.join(data_dir, "train")
    validation_dir = os.path.join(data_dir, "validation")
    train_dataset = keras.utils.image_dataset_from_directory(
        train_dir, shuffle=True, batch_size=BATCH_SIZE, image_size=IMG_SIZE, seed=seed, verbose=False
    )
    validation_dataset = keras.utils.image_dataset_from_directory(
        validation_dir, shuffle=True, batch_size=BATCH_SIZE, image_size=IMG_SIZE, seed=seed, verbose=False
    )
    val_batches = tf.data.experimental.cardinality(validation_dataset)
    test_dataset = validation_dataset.take(val_batches // 5)
    validation_dataset = validation_dataset.skip(val_batches // 5)
    autotune = tf.data.AUTOTUNE
    train_dataset = train_dataset.prefetch(buffer_size=autotune)
    validation_dataset = validation_dataset.prefetch(buffer_size=autotune)
    test_dataset = test_dataset.prefetch(buffer_size=autotune)
    return train_dataset, validation_dataset, test_dataset


def build_model(alpha, weights_path):
    data_augmentation = keras.Sequential(
        [keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.2)]
    )
    preprocess_input = keras.applications.mobilenet_v2.preprocess_input
    base_model = keras.applications.MobileNetV2(
        input_shape=IMG_SIZE + (3,), alpha=alpha, include_top=False, weights=None
    )
    base_model.load_weights(weights_path)
    base_model.trainable = False
    inputs = keras.Input(shape=IMG_SIZE + (3,))
    x = data_augmentation(inputs)
    x = preprocess_input(x)
    x = base_model(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(1)(x)
    return keras.Model(inputs, outputs), base_model


def compile_frozen(model):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=BASE_LEARNING_RATE),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0, name="accuracy")],
    )


def unfreeze_and_compile(model, base_model):
    base_model.trainable = True
    for layer in base_model.layers[:FINE_TUNE_AT]:
        layer.trainable = False
    model.compile(
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        optimizer=keras.optimizers.RMSprop(learning_rate=BASE_LEARNING_RATE / 10),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0, name="accuracy")],
    )


class EpochTimer(keras.callbacks.Callback):
    """One JSON line per epoch: whole-epoch, CPU, training-only and validation seconds, metrics, RSS."""

    def __init__(self, phase, train_images):
        super().__init__()
        self.phase = phase
        self.train_images = train_images
        self.records = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
        self.cpu_start = time.process_time()
        self.val_start = None

    def on_test_begin(self, logs=None):
        self.val_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        end = time.perf_counter()
        val_start = self.val_start or end
        rss, peak = rss_mb()
        record = {
            "kind": "epoch",
            "side": "keras",
            "phase": self.phase,
            "epoch": epoch + 1,
            "seconds": round(end - self.start, 3),
            "cpu_seconds": round(time.process_time() - self.cpu_start, 2),
            "train_seconds": round(val_start - self.start, 3),
            "val_seconds": round(end - val_start, 3),
            "train_images_per_second": round(self.train_images / (val_start - self.start), 2),
            **{k: round(float(v), 6) for k, v in (logs or {}).items()},
            "rss_mb": rss,
            "peak_rss_mb": peak,
        }
        self.records.append(record)
        emit(record)
        log(
            f"[keras {self.phase}] epoch {epoch + 1}: {record['seconds']:.1f}s "
            f"(train {record['train_seconds']:.1f}s) loss {record.get('loss', 0):.4f} "
            f"accuracy {record.get('accuracy', 0):.4f} val_loss {record.get('val_loss', 0):.4f} "
            f"val_accuracy {record.get('val_accuracy', 0):.4f}"
        )


def fit_phase(model, phase, train_dataset, validation_dataset, epochs, initial_epoch, train_images):
    timer = EpochTimer(phase, train_images)
    history = model.fit(
        train_dataset,
        epochs=initial_epoch + epochs,
        initial_epoch=initial_epoch,
        validation_data=validation_dataset,
        callbacks=[timer],
        verbose=0,
    )
    return history, timer.records


def step_times(model, images, labels, repeats, warmup):
    """Median/min/max seconds of `model.train_on_batch` on one fixed batch (no input pipeline)."""
    for _ in range(warmup):
        model.train_on_batch(images, labels)
    times = []
    cpu_start = time.process_time()
    for _ in range(repeats):
        start = time.perf_counter()
        model.train_on_batch(images, labels)
        times.append(time.perf_counter() - start)
    cpu = time.process_time() - cpu_start
    return {
        "cpu_seconds_per_step": round(cpu / repeats, 4),
        "median_seconds": round(statistics.median(times), 4),
        "min_seconds": round(min(times), 4),
        "max_seconds": round(max(times), 4),
        "repeats": repeats,
        "warmup": warmup,
    }


def environment():
    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "env": {
            k: os.environ[k]
            for k in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")
            if k in os.environ
        },
    }


def write_summary(result, file):
    """The run's curves and timings in a small JSON file (bench/results/), written atomically."""
    curves = {}
    for phase, history in result.get("history", {}).items():
        curves[phase] = {k: [round(v, 4) if isinstance(v, float) else v for v in vs] for k, vs in history.items()}
    summary = {
        "description": "Python Keras run of the tutorial (tools/keras/keras_tutorial.py): per-epoch curves and seconds",
        "config": result["config"],
        "environment": {**result["environment"], "load_average_end": result.get("load_average_end")},
        "initial": result.get("initial"),
        "history": curves,
        "epoch_seconds": {
            phase: [r["seconds"] for r in result["epochs"] if r["phase"] == phase] for phase in curves
        },
        "train_seconds": {
            phase: [r["train_seconds"] for r in result["epochs"] if r["phase"] == phase] for phase in curves
        },
        "test": result.get("test"),
        "total_seconds": result.get("total_seconds"),
        "peak_rss_mb": result.get("peak_rss_mb"),
    }
    os.makedirs(os.path.dirname(os.path.abspath(file)), exist_ok=True)
    tmp = f"{file}.tmp"
    with open(tmp, "w") as f:
        text = json.dumps(summary, indent=2)
        # Lists of numbers on one line, as `deno fmt` leaves them.
        compact = re.sub(
            r"\[[-\d\s.,eE+]*\]", lambda m: re.sub(r"\s*\n\s*", "", m.group(0)).replace(",", ", "), text
        )
        f.write(compact + "\n")
    os.replace(tmp, file)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=None, help="epochs per phase (default TL_EPOCHS or 10)")
    parser.add_argument("--phase", choices=("frozen", "finetune", "both"), default="both")
    parser.add_argument("--step-only", action="store_true", help="time one training step on a fixed batch")
    parser.add_argument("--decode-only", action="store_true", help="time one pass of the training pipeline")
    parser.add_argument("--steps", type=int, default=10, help="timed steps for --step-only")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before --step-only timing")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--data-dir", help="a folder with train/ and validation/ to use instead of TL_DATA_URL's zip (bench --large)"
    )
    parser.add_argument("--no-test", action="store_true", help="skip the initial and final evaluations")
    parser.add_argument("--summary", metavar="FILE", help="also write the curves (compact JSON) to FILE")
    args = parser.parse_args()

    epochs = args.epochs if args.epochs is not None else env_number(
        "TL_EPOCHS", 10, int, lambda n: n >= 0, "a whole number of epochs >= 0"
    )
    if epochs < 0:
        sys.exit(f"--epochs {epochs}: expected a whole number of epochs >= 0")
    alpha = env_number("TL_ALPHA", 1.0, float, lambda n: n > 0, "a positive width multiplier such as 0.35")
    cache_dir = os.path.abspath(os.environ.get("TL_CACHE_DIR") or os.path.join(PROJECT_ROOT, "data"))
    data_url = os.environ.get("TL_DATA_URL") or DEFAULT_DATA_URL
    alpha_name = {1.0: "1.0", 0.35: "0.35", 0.5: "0.5", 0.75: "0.75", 1.3: "1.3", 1.4: "1.4"}.get(alpha)
    weights_url = os.environ.get("TL_WEIGHTS_URL") or (
        alpha_name and f"{KERAS_WEIGHTS_BASE}mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha_name}_160_no_top.h5"
    )
    if not weights_url:
        sys.exit(f"TL_ALPHA={alpha}: Keras publishes no weights for it; set TL_WEIGHTS_URL")
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)

    started = time.perf_counter()
    data_dir = args.data_dir or extracted_dataset(fetch(data_url, cache_dir), cache_dir)
    weights_path = fetch(weights_url, cache_dir)
    train_dataset, validation_dataset, test_dataset = datasets(data_dir, args.seed)
    train_images = sum(
        1 for root, _, files in os.walk(os.path.join(data_dir, "train")) for f in files if f.endswith(".jpg")
    )
    config = {
        "alpha": alpha,
        "epochs": epochs,
        "phase": args.phase,
        "seed": args.seed,
        "batch_size": BATCH_SIZE,
        "image_size": list(IMG_SIZE),
        "data": data_url,
        "weights": weights_url,
        "train_images": train_images,
    }

    if args.decode_only:
        start = time.perf_counter()
        cpu_start = time.process_time()
        images = 0
        for batch, _ in train_dataset:
            images += int(batch.shape[0])
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        emit({
            "kind": "decode", "side": "keras", "images": images, "seconds": round(seconds, 3),
            "images_per_second": round(images / seconds, 2), "cpu_seconds": round(cpu, 2),
            "images_per_cpu_second": round(images / cpu, 1), "environment": environment(), "config": config,
        })
        return

    model, base_model = build_model(alpha, weights_path)
    compile_frozen(model)
    log(f"[keras] trainable variables while frozen: {len(model.trainable_variables)}")

    if args.step_only:
        images, labels = next(iter(train_dataset))
        images = tf.constant(images)
        labels = tf.constant(labels)
        frozen = step_times(model, images, labels, args.steps, args.warmup)
        unfreeze_and_compile(model, base_model)
        finetune = step_times(model, images, labels, args.steps, args.warmup)
        for phase, timing in (("frozen", frozen), ("finetune", finetune)):
            emit({
                "kind": "step", "side": "keras", "phase": phase, "batch_size": int(images.shape[0]), **timing,
                "environment": environment(),
            })
        return

    result = {"kind": "final", "side": "keras", "config": config, "environment": environment()}
    if not args.no_test:
        loss0, accuracy0 = model.evaluate(validation_dataset, verbose=0)
        result["initial"] = {"loss": loss0, "accuracy": accuracy0}
        log(f"[keras] initial loss {loss0:.4f} accuracy {accuracy0:.4f}")

    records = []
    histories = {}
    if args.phase in ("frozen", "both"):
        history, recs = fit_phase(model, "frozen", train_dataset, validation_dataset, epochs, 0, train_images)
        histories["frozen"] = {"epoch": [e + 1 for e in history.epoch], **history.history}
        records += recs
    if args.phase in ("finetune", "both"):
        unfreeze_and_compile(model, base_model)
        log(f"[keras] trainable variables while fine-tuning: {len(model.trainable_variables)}")
        history, recs = fit_phase(
            model, "finetune", train_dataset, validation_dataset, epochs, epochs, train_images
        )
        histories["finetune"] = {"epoch": [e + 1 for e in history.epoch], **history.history}
        records += recs
    result["history"] = histories
    result["epochs"] = records
    if not args.no_test:
        loss, accuracy = model.evaluate(test_dataset, verbose=0)
        result["test"] = {"loss": loss, "accuracy": accuracy}
        log(f"[keras] test loss {loss:.4f} accuracy {accuracy:.4f}")
    result["total_seconds"] = round(time.perf_counter() - started, 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    emit(result)
    if args.summary:
        write_summary(result, args.summary)


if __name__ == "__main__":
    main()
