"""Importing the environment leaves OpenEnv's gradio web interface out until it is used."""

from __future__ import annotations

import json
import subprocess
import sys


def run_python(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_environment_and_server_import_without_gradio_and_the_web_interface_still_imports():
    # Before, OpenEnv's server package imported its web interface, and so gradio, at once:
    # 4.5 of the 7 s that `import reasoning_economics.env` took.
    found = run_python(
        "import json, sys\n"
        "import reasoning_economics.env, reasoning_economics.server.app, reasoning_economics.client\n"
        "env = reasoning_economics.env.ReasonBudgetEnvironment(num_questions=1)\n"
        "observation = env.reset(seed=1)\n"
        "loaded = 'gradio' in sys.modules\n"
        "from openenv.core.env_server.web_interface import create_web_interface_app\n"
        "print(json.dumps({'gradio_at_import': loaded, 'question': bool(observation.question),\n"
        "                  'web_interface': callable(create_web_interface_app), 'gradio_after': 'gradio' in sys.modules}))"
    )
    assert found == {"gradio_at_import": False, "question": True, "web_interface": True, "gradio_after": True}


def test_openenv_imported_first_is_left_as_it_is():
    found = run_python(
        "import json, sys\n"
        "import openenv.core.env_server as server\n"
        "import reasoning_economics.env\n"
        "print(json.dumps({'web_interface': server.create_web_interface_app is not None,\n"
        "                  'finders': [type(f).__name__ for f in sys.meta_path if 'WebInterface' in type(f).__name__]}))"
    )
    assert found == {"web_interface": True, "finders": []}
