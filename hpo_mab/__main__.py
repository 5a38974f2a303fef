"""`python -m hpo_mab` is `hpo-runner`."""

import sys

from hpo_mab.cli import main

sys.exit(main())
