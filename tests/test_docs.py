"""The hook reference documents every hook with its exact signature."""

import inspect
from pathlib import Path

from sscl_core.api import hookspecs

DOCS = Path(__file__).resolve().parents[1] / "docs"


def signature_text(cls, name):
    sig = inspect.signature(getattr(cls, name))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values() if p.name != "self")
    return f"{name}({params}) -> {sig.return_annotation}"


def test_every_hook_is_documented_with_its_signature():
    text = (DOCS / "hooks.md").read_text()
    for cls, names in (
        (hookspecs.RegistrationSpecs, hookspecs.REGISTRATION_HOOKS),
        (hookspecs.LifecycleSpecs, hookspecs.LIFECYCLE_HOOKS),
    ):
        for name in names:
            assert f"`{signature_text(cls, name)}`" in text, name
            assert getattr(cls, name).__doc__, f"hookspec {name} has no docstring"
