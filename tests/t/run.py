#!/usr/bin/env python3
"""Integration test runner for mod_ftps (run as root).

    python3 tests/t/run.py --module /abs/path/mod_ftps.so [-k substring] [-v] [--keep]

Collects the test_* functions of tests/t/test_*.py in file order, runs them
sequentially, prints "PASS name" / "FAIL name: reason" per test and ends with
exactly one line "N passed, N failed".  Exit status 0 only if none failed.
A client a test declares with @needs that is missing is a failure, not a skip.
"""

import argparse
import glob
import importlib
import os
import shutil
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True          # keep tests/t free of __pycache__

import ftpslib  # noqa: E402

TEST_TIMEOUT = 120          # watchdog per test, seconds
BASE_TOOLS = (ftpslib.PROFTPD, ftpslib.FTPASSWD, "openssl")


def collect(pattern):
    """Registry: every test_* function of every test_*.py, in source order."""
    tests = []
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        mod = importlib.import_module(os.path.basename(path)[:-3])
        fns = [f for n, f in vars(mod).items()
               if n.startswith("test_") and callable(f) and getattr(f, "__module__", "") == mod.__name__]
        fns.sort(key=lambda f: f.__code__.co_firstlineno)
        for f in fns:
            name = "%s.%s" % (mod.__name__, f.__name__)
            if pattern is None or pattern in name:
                tests.append((name, f))
    return tests


def _timeout(signum, frame):
    raise ftpslib.TestFailure("test exceeded %ss watchdog" % TEST_TIMEOUT)


def one_line(text, limit=700):
    text = " | ".join(l.strip() for l in str(text).splitlines() if l.strip())
    return text if len(text) <= limit else text[:limit] + " ..."


def run_one(name, fn, verbose):
    missing = [c for c in BASE_TOOLS + getattr(fn, "needs", ()) if not shutil.which(c)]
    if missing:
        return "missing client(s): " + ", ".join(missing)
    if not os.path.isfile(ftpslib.CONFIG["module"]):
        return "module not found: " + ftpslib.CONFIG["module"]
    reason = None
    signal.alarm(TEST_TIMEOUT)
    try:
        fn()
    except Exception as e:     # AssertionError/TestFailure and any client error
        reason = "%s: %s" % (type(e).__name__, e) if not isinstance(e, AssertionError) else str(e)
        if verbose:
            traceback.print_exc()
    finally:
        signal.alarm(0)
    try:
        bad = ftpslib.after_test()
    except Exception as e:
        bad = ["cleanup failed: %s" % e]
    if bad and reason is None:
        reason = "unexpected log lines: " + "; ".join(bad[:5])
    return reason


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--module", required=True, help="absolute path of mod_ftps.so")
    ap.add_argument("-k", dest="pattern", help="run only tests whose name contains this")
    ap.add_argument("-v", dest="verbose", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep temp dirs (configs, logs)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("run.py must run as root (proftpd binds, chroots and switches users)")
        print("0 passed, 1 failed")
        return 1
    ftpslib.configure(args.module, verbose=args.verbose, keep=args.keep)
    signal.signal(signal.SIGALRM, _timeout)

    passed = failed = 0
    t_start = time.monotonic()
    try:
        for name, fn in collect(args.pattern):
            t0 = time.monotonic()
            reason = run_one(name, fn, args.verbose)
            dt = " (%.1fs)" % (time.monotonic() - t0) if args.verbose else ""
            if reason is None:
                passed += 1
                print("PASS %s%s" % (name, dt), flush=True)
            else:
                failed += 1
                print("FAIL %s: %s%s" % (name, one_line(reason), dt), flush=True)
    finally:
        bad = ftpslib.shutdown_all()
    if bad:
        failed += 1
        print("FAIL shutdown_log_scan: %s" % one_line("; ".join(bad[:5])))
    if args.verbose:
        print("    total %.1fs" % (time.monotonic() - t_start))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
