"""`python -m bot` runs the awsquiz command line."""

import sys

from bot.cli import main

sys.exit(main())
