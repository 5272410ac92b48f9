"""`python -m taojin_ray JOB`: see the package docstring."""

import sys

from .driver import main

sys.exit(main())
