"""Benchmarks and reports: ``sscl bench`` runs a protocol's methods over its seeds and ``sscl report`` turns run
directories into the table, raw numbers and plots.

- :mod:`~sscl_core.bench.protocol`: protocols, i.e. presets with a ``bench`` section.
- :mod:`~sscl_core.bench.runner`: the interleaved runs, reused or resumed in an earlier output folder.
- :mod:`~sscl_core.bench.table`: run directories into rows, Markdown and JSON.
- :mod:`~sscl_core.bench.plots`: heatmaps and curves (optional extra ``sscl-core[plots]``).
- :mod:`~sscl_core.bench.report`: the files a report writes.
- :mod:`~sscl_core.bench.handwritten`: the plain PyTorch finetune loop that measures the framework's overhead.
"""
