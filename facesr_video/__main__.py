import sys

from facesr_video.cli import main

sys.exit(main())
