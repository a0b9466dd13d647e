"""Registers this distribution's callbacks with sscl."""

from sscl_core import hookimpl
from sscl_plugin_loggers.csv_logger import CsvLogger
from sscl_plugin_loggers.tensorboard_logger import TensorBoardLogger


@hookimpl
def register_callbacks(register):
    """csv, tensorboard."""
    for cls in (CsvLogger, TensorBoardLogger):
        register(cls)
