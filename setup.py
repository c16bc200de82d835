"""Build of lmio's native core: plain C under csrc/ plus one binding file that includes Python.h."""

from glob import glob

from setuptools import Extension, setup

COMPILE_ARGS = ["-std=c11", "-O3", "-Wall", "-Wextra", "-Werror", "-pthread", "-fvisibility=hidden"]

native = Extension(
    "lmio.tokenizer._native",
    sources=[*sorted(glob("csrc/*.c")), "src/lmio/tokenizer/_native.c"],
    include_dirs=["csrc"],
    depends=sorted(glob("csrc/*.h")),
    extra_compile_args=COMPILE_ARGS,
    extra_link_args=["-pthread"],
)

setup(ext_modules=[native])
