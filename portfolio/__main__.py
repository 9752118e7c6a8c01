"""Allow ``python -m portfolio``, the same as the ``portfolio-lens`` script."""

import sys

from portfolio.cli import main

sys.exit(main())
