"""``python -m sscl_core.cli``: the ``sscl`` command."""

import sys

from sscl_core.cli import main

sys.exit(main())
