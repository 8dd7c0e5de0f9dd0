"""Settings for every test, doctests in redact/ included."""
import os
import tempfile

# Device keys and the share log go to a throw-away folder, never the user's own (subprocesses
# started by the tests inherit it).
os.environ["REDACT_CONFIG_DIR"] = tempfile.mkdtemp(prefix="redact-test-config-")
