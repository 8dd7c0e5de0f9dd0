import sys

# Only the light launcher here: the command's imports run with its stop handlers in place.
from .app.launch import main

sys.exit(main())
