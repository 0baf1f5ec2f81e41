"""``python -m tts.serve`` = ``tts-serve``."""

import sys

from tts.serve.cli import main

sys.exit(main())
