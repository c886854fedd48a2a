"""Compile KFP v1 pipeline files with the real KFP SDK (run inside the oracle's venv).

Reads ``[{"id", "file", "function"}, ...]`` as JSON on stdin and writes
``{id: {"workflow": <Argo Workflow>} | {"error": "<type>: <message>"}}`` as JSON on
stdout. Each file is imported from its own folder (relative component files resolve
there, as mlplane resolves them) and compiled with ``kfp.compiler.Compiler().compile``.
Nothing of mlplane is imported here: this runs against kfp only.
"""

import importlib.util
import json
import os
import sys
import tempfile

import yaml


def compile_one(file, function, out_dir):
    import kfp

    folder = os.path.dirname(os.path.abspath(file))
    previous = os.getcwd()
    os.chdir(folder)
    try:
        name = "oracle_" + os.path.basename(file).replace(".", "_")
        spec = importlib.util.spec_from_file_location(name, file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        target = os.path.join(out_dir, name + ".yaml")
        kfp.compiler.Compiler().compile(getattr(module, function), target)
        with open(target) as stream:
            return {"workflow": yaml.safe_load(stream)}
    except Exception as exc:  # noqa: BLE001 - reported to the test
        return {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        os.chdir(previous)


def main():
    jobs = json.load(sys.stdin)
    results = {}
    with tempfile.TemporaryDirectory() as out_dir:
        for job in jobs:
            results[job["id"]] = compile_one(job["file"], job["function"], out_dir)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
