"""The package as a whole: import cost, public surface, errors."""

from __future__ import annotations

import subprocess
import sys

import lmio
from lmio import errors


def _loaded_after(statement: str, condition: str) -> list[str]:
    """The modules `m` in sys.modules for which `condition` holds, after `statement` in a
    fresh interpreter."""
    code = f"import sys; {statement}; print(','.join(m for m in sys.modules if {condition}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [name for name in out.stdout.strip().split(",") if name]


def test_import_does_not_load_heavy_modules() -> None:
    heavy = "m in ('torch', 'pyspark', 's3fs', 'pyarrow', 'pandas')"
    assert _loaded_after("import lmio, lmio.cli, lmio.errors", heavy) == []


def test_the_c_core_binding_imports_no_tokenizer_code() -> None:
    """Storage and loading hash with the C core; they need none of the tokenizer's modules."""
    tokenizer_code = "m.startswith('lmio.tokenizer._') and m != 'lmio.tokenizer._native'"
    assert _loaded_after("import lmio.tokenizer._native", tokenizer_code) == []
    import lmio.tokenizer

    assert set(lmio.tokenizer.__all__) <= set(dir(lmio.tokenizer))
    for name in lmio.tokenizer.__all__:
        assert getattr(lmio.tokenizer, name) is not None


def test_version_is_exposed() -> None:
    assert lmio.__version__.count(".") == 2


def test_every_error_is_an_lmio_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), lmio.LmioError)


def test_errors_keep_builtin_bases() -> None:
    assert issubclass(errors.InvalidArgumentError, ValueError)
    assert issubclass(errors.NotFoundError, FileNotFoundError)
    assert issubclass(errors.StorageError, OSError)


def test_public_names_resolve() -> None:
    for name in lmio.__all__:
        assert getattr(lmio, name) is not None


def test_native_extension_is_built() -> None:
    from lmio.tokenizer import _native

    assert _native.abi_version() >= 1
