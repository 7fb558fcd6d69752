"""`python -m fedi.cli ...`: the same as the `fedi` command."""

import sys

from fedi.cli import main

sys.exit(main())
