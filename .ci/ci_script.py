"""Loads one of the `.ci/` scripts (files without a `.py` suffix) as a module, for its tests."""

import importlib.machinery
import importlib.util
from pathlib import Path


def load(script):
    """The module of `.ci/<script>`."""
    name = script.replace("-", "_")
    loader = importlib.machinery.SourceFileLoader(name, str(Path(__file__).resolve().parent / script))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
    loader.exec_module(module)
    return module
