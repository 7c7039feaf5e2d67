"""Reference pixels from Python Keras' image_dataset_from_directory for tests/data/image_dataset_test.ts.

Writes tiny images of every format and colour layout Keras reads (JPEG RGB/grayscale/CMYK, PNG RGBA/grayscale/
palette, an animated GIF, BMP RGB/RGBA) under tests/fixtures/decode/, then records, for a few option sets, the
file order, labels and float32 pixels that Keras yields, in tests/fixtures/decode_keras.json.

Run: .venv-keras/bin/python tools/keras/make_decode_fixture.py
"""

import json
import os
import shutil

import numpy as np
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures")
IMAGES = os.path.join(ROOT, "decode")


def pattern(height, width, seed):
    """Smooth gradients plus a little noise: resizing then produces non-integer values."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 / max(width - 1, 1), y * 255 / max(height - 1, 1), (x + y) * 7 % 256], axis=-1)
    return np.clip(rgb + rng.randint(-20, 21, rgb.shape), 0, 255).astype("uint8")


def write_images():
    shutil.rmtree(IMAGES, ignore_errors=True)
    for cls in ("birds", "cats", "dogs", "dogs/nested"):
        os.makedirs(os.path.join(IMAGES, cls))
    Image.fromarray(pattern(23, 37, 1)).save(os.path.join(IMAGES, "cats", "rgb.jpg"), quality=90)
    Image.fromarray(pattern(30, 20, 2)).convert("L").save(os.path.join(IMAGES, "dogs", "gray.JPEG"), quality=90)
    Image.fromarray(pattern(16, 24, 3)).convert("CMYK").save(os.path.join(IMAGES, "cats", "cmyk.jpg"), quality=90)
    rgba = np.concatenate([pattern(19, 17, 4), pattern(19, 17, 5)[..., :1]], axis=-1)
    Image.fromarray(rgba, "RGBA").save(os.path.join(IMAGES, "birds", "alpha.png"))
    Image.fromarray(pattern(5, 4, 6)).save(os.path.join(IMAGES, "dogs", "tiny.png"))
    Image.fromarray(pattern(12, 14, 7)).convert("L").save(os.path.join(IMAGES, "dogs", "gray.png"))
    Image.fromarray(pattern(13, 11, 8)).convert("P", palette=Image.ADAPTIVE, colors=16).save(
        os.path.join(IMAGES, "dogs", "nested", "palette.png"))
    frames = [Image.fromarray(pattern(14, 18, s)).convert("P", palette=Image.ADAPTIVE, colors=32) for s in (9, 10)]
    frames[0].save(os.path.join(IMAGES, "cats", "anim.gif"), save_all=True, append_images=frames[1:], duration=100)
    Image.fromarray(pattern(9, 15, 11)).save(os.path.join(IMAGES, "birds", "rgb.bmp"))
    rgba = np.concatenate([pattern(10, 6, 12), pattern(10, 6, 13)[..., :1]], axis=-1)
    Image.fromarray(rgba, "RGBA").save(os.path.join(IMAGES, "birds", "alpha.bmp"))
    with open(os.path.join(IMAGES, "dogs", "notes.txt"), "w") as f:
        f.write("not an image: ignored\n")


CONFIGS = [
    {"imageSize": [6, 8]},
    # TensorFlow (hence Keras) refuses grayscale for CMYK JPEGs, GIFs and BMPs, and RGBA for JPEGs and GIFs:
    # those runs read the classes whose files allow it.
    {"imageSize": [7, 5], "colorMode": "grayscale", "classNames": ["dogs"]},
    {"imageSize": [6, 6], "colorMode": "rgba", "cropToAspectRatio": True, "classNames": ["birds"]},
    {"imageSize": [4, 7], "cropToAspectRatio": True, "classNames": ["dogs", "cats"]},
    {"imageSize": [5, 9], "interpolation": "nearest"},
]


def run(config):
    ds = keras.utils.image_dataset_from_directory(
        IMAGES,
        label_mode="int",
        batch_size=None,
        shuffle=False,
        image_size=tuple(config["imageSize"]),
        color_mode=config.get("colorMode", "rgb"),
        interpolation=config.get("interpolation", "bilinear"),
        crop_to_aspect_ratio=config.get("cropToAspectRatio", False),
        class_names=config.get("classNames"),
    )
    images = []
    for path, (x, y) in zip(ds.file_paths, ds):
        x = tf.cast(x, tf.float32).numpy()
        images.append({
            "file": os.path.relpath(path, IMAGES).replace(os.sep, "/"),
            "label": int(y.numpy()),
            "shape": list(x.shape),
            "pixels": [float(v) for v in x.reshape(-1)],
        })
    return {"options": config, "classNames": ds.class_names, "images": images}


def main():
    write_images()
    out = {
        "generator": "tools/keras/make_decode_fixture.py",
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "runs": [run(c) for c in CONFIGS],
    }
    with open(os.path.join(ROOT, "decode_keras.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
