"""The plugin author's API: the component interfaces, the run context, tasks and batches, the hook specs."""
