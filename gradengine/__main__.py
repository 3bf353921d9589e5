"""``python -m gradengine``: the same as the ``gradengine`` command."""

import sys

from gradengine.cli import main

sys.exit(main())
