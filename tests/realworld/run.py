#!/usr/bin/env python3
"""sluice in front of real gunicorn and uWSGI.

    tests/realworld/run.py SLUICE_BINARY [--no-xfail] [TEST ...]

Runs every test_*.py here (or the named tests, e.g. test_kills.KillTest) with unittest, then
prints one line "N passed, N failed[, N skipped]"; exits 0 only when nothing failed. An expected
failure (a point of issue 13 not fixed yet) counts as passed; an unexpected success counts as
failed, so the marker is removed when the fix lands.
"""

import os
import sys
import time
import unittest


def main(argv):
    if "--no-xfail" in argv:
        # To see why a pending point fails today: every expectedFailure marker is ignored.
        argv = [a for a in argv if a != "--no-xfail"]
        unittest.expectedFailure = lambda test: test
    if len(argv) < 2:
        sys.exit("usage: run.py SLUICE_BINARY [--no-xfail] [TEST ...]")
    binary = os.path.abspath(argv[1])
    if not os.access(binary, os.X_OK):
        sys.exit("run.py: %s is not an executable" % binary)
    os.environ["SLUICE_BINARY"] = binary
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import harness
    harness.SLUICE = binary
    harness.require_tools()

    loader = unittest.TestLoader()
    if len(argv) > 2:
        suite = loader.loadTestsFromNames(argv[2:])
    else:
        suite = loader.discover(here, pattern="test_*.py", top_level_dir=here)
    start = time.monotonic()
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print("realworld: %.0f s, %d expected failures (points of issue 13 not fixed yet)"
          % (time.monotonic() - start, len(result.expectedFailures)))
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line, flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
