"""Every dataset the commands read, from local files only (nothing is downloaded), behind one record
(:class:`DataSplits`) and one set of transforms and bad-image rules.

Modules: ``splits`` (the record, errors, seeded hold-out), ``images`` (image datasets, bad-image list),
``transforms``, one module per reader (``cluttered``, ``digits``, ``folders``, ``cifar``, ``chestxray``),
``datasets`` (the readers by name, layout detection, ``build_data``), ``loaders`` (training/evaluation DataLoaders) and
``tensors`` (in-memory tensors for the search's proxy training).
"""

from .chestxray import CHESTXRAY_LABELS
from .cluttered import load_cluttered
from .datasets import DATASETS, DEFAULT_DATASET, EMBEDDED, build_data, detect_dataset
from .digits import load_digits
from .folders import folder_layout
from .images import BAD_IMAGES_FILE, ImageFiles, collate_skipping_bad
from .splits import BadImageError, DataError, DataSplits, ReadOptions
from .tensors import load_tensors
from .transforms import TRAIN_TRANSFORMS, build_transforms

__all__ = ["BAD_IMAGES_FILE", "BadImageError", "CHESTXRAY_LABELS", "DATASETS", "DEFAULT_DATASET", "EMBEDDED",
           "DataError", "DataSplits", "ImageFiles", "ReadOptions", "TRAIN_TRANSFORMS", "build_data", "build_transforms",
           "collate_skipping_bad", "detect_dataset", "folder_layout", "load_cluttered", "load_digits", "load_tensors"]
