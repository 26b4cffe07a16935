"""One exception tree: every exception the product defines descends from CmoError and is in the tree
that `core/errors.py`'s docstring draws."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import cmo_agent
from cmo_agent.core import errors


def _product_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(cmo_agent.__path__, prefix="cmo_agent."):
        if module_info.name.endswith("__main__"):
            continue  # running it is running the CLI
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_exception_the_product_defines_is_a_cmo_error() -> None:
    found = _product_exceptions()
    assert len(found) > 20, "the walk found the product's exceptions"
    strays = sorted(name for name, cls in found.items() if not issubclass(cls, errors.CmoError))
    assert strays == []


def test_the_docstring_draws_every_exception() -> None:
    tree = errors.__doc__ or ""
    missing = sorted(name for name, cls in _product_exceptions().items() if cls.__name__ not in tree)
    assert missing == []
