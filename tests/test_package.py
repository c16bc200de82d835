"""The package as a whole: import cost, public surface, errors."""

from __future__ import annotations

import subprocess
import sys

import lmio
from lmio import errors


def test_import_does_not_load_heavy_modules() -> None:
    code = (
        "import sys, lmio, lmio.cli, lmio.errors; "
        "heavy = [m for m in ('torch', 'pyspark', 's3fs', 'pyarrow', 'pandas') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_c_core_binding_imports_no_tokenizer_code() -> None:
    """Storage and loading hash with the C core; they need none of the tokenizer's modules."""
    code = (
        "import sys, lmio.tokenizer._native; "
        "print(','.join(m for m in sys.modules if m.startswith('lmio.tokenizer._') "
        "and m != 'lmio.tokenizer._native'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
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
