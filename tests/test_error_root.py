"""Every exception Riskwatch defines derives from one root, ``RiskwatchError`` (pySigma's way:
one ``except`` catches all of ours, and nothing of ours escapes it)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import detections
import service
from detections.errors import RiskwatchError


def our_modules():
    for package in (detections, service):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.endswith("function_app"):
                continue
            yield importlib.import_module(info.name)


def test_every_exception_class_is_a_riskwatch_error():
    found, outside = [], []
    for module in our_modules():
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseException) \
                    and value.__module__ == module.__name__:  # fmt: skip
                found.append(f"{module.__name__}.{name}")
                if not issubclass(value, RiskwatchError):
                    outside.append(f"{module.__name__}.{name}")
    assert len(found) >= 10  # the walk really saw our modules' errors
    assert outside == []
