"""`python -m bot` is the `dutydesk` command."""
import sys

from bot.cli import main

sys.exit(main())
