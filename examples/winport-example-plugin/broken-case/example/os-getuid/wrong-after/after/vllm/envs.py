import os as _os


def is_root() -> bool:
    return _os.getuid() == 0 if hasattr(_os, "getuid") else False
