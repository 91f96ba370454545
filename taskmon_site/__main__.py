import sys

from taskmon_site.cli import main

sys.exit(main())
