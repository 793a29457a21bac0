# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""This repository's own tooling, which works in a checkout only and is not
part of the installed package: the committed results files and the commit
they name (results.py), the README and docs figures rendered from them
(render_docs.py), the benchmarks' tables (benchmark_tables.py).

The scripts in tools/ import it as ``repo_tools`` (their folder is on the
path when run); tests and benchmarks have ``tools/`` on their declared path
(pyproject's pytest ``pythonpath``, the Makefile's ``bench``)."""
