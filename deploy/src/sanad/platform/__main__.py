import sys

from sanad.platform.cli import main

sys.exit(main())
