"""Benchmarks and reports: ``sscl bench`` runs a protocol's methods over its seeds and grid axes, locally or on
Ray, and ``sscl report`` turns run directories into the table, raw numbers and plots. Both commands reach the
``sscl`` command line through the ``register_commands`` hook (:mod:`~sscl_plugin_bench.plugin`).

- :mod:`~sscl_plugin_bench.commands`: the two commands, their arguments and what they run.

- :mod:`~sscl_plugin_bench.protocol`: protocols, i.e. presets with a ``bench`` section.
- :mod:`~sscl_plugin_bench.grid`: grid axes, their points and the run-directory names that carry them.
- :mod:`~sscl_plugin_bench.plan`: the planned runs, reused or resumed in an earlier output folder.
- :mod:`~sscl_plugin_bench.runner`: the planned runs through an executor, then the report.
- :mod:`~sscl_plugin_bench.local`: the local executor (a process per run).
- :mod:`~sscl_plugin_bench.ray_executor`: the Ray executor (optional extra ``sscl-plugin-bench[ray]``).
- :mod:`~sscl_plugin_bench.table`: run directories into rows, Markdown and JSON.
- :mod:`~sscl_plugin_bench.plots`: heatmaps and curves (optional extra ``sscl-plugin-bench[plots]``).
- :mod:`~sscl_plugin_bench.report`: the files a report writes.
- :mod:`~sscl_plugin_bench.handwritten`: the plain PyTorch finetune loop that measures the framework's overhead.
"""
