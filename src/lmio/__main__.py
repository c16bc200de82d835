import sys

from lmio.cli import main

sys.exit(main())
