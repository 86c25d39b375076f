"""`python -m seccomp_gen` runs the command-line tool."""

import sys

from seccomp_gen.cli import main

sys.exit(main())
