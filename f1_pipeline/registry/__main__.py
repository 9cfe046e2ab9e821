import sys

from f1_pipeline.registry.cli import main

sys.exit(main())
