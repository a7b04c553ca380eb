"""The layer below every package: atomic writes and fresh output directories, device choice, the processes we
start. It imports nothing else of muxnet, and every package may import it (the layering is in
``docs/architectures.md``, checked by ``tests/test_layering.py``)."""

from .configs import config_from, optional_path
from .devices import resolve_device
from .files import atomic_write, check_writable, refuse_existing_run, write_directory_once
from .processes import available_cpus, dataloader_worker_init, die_with_parent, single_thread_pool

__all__ = ["atomic_write", "available_cpus", "check_writable", "config_from", "dataloader_worker_init",
           "die_with_parent", "optional_path", "refuse_existing_run", "resolve_device", "single_thread_pool",
           "write_directory_once"]
